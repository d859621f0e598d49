/** Pipeline locks: at most one a pipeline. */
import type { Lock } from "../../domain/gate.js";
import type { StoreDatabase } from "./database.js";
import { date, iso } from "./rows.js";

export class LockRepository {
  constructor(private readonly database: StoreDatabase) {}

  async getLock(pipeline: string): Promise<Lock | undefined> {
    const row = await this.database.db
      .selectFrom("locks")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .executeTakeFirst();
    return row
      ? { pipeline: row.pipeline, reason: row.reason, lockedBy: row.locked_by, lockedAt: date(row.locked_at) }
      : undefined;
  }

  async lock(lock: Lock): Promise<{ created: boolean; lock: Lock }> {
    const result = await this.database.db
      .insertInto("locks")
      .values({ pipeline: lock.pipeline, reason: lock.reason, locked_by: lock.lockedBy, locked_at: iso(lock.lockedAt) })
      .onConflict((oc) => oc.column("pipeline").doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) return { created: true, lock };
    return { created: false, lock: (await this.getLock(lock.pipeline)) ?? lock };
  }

  async unlock(pipeline: string): Promise<Lock | undefined> {
    const row = await this.database.db
      .deleteFrom("locks")
      .where("pipeline", "=", pipeline)
      .returningAll()
      .executeTakeFirst();
    return row
      ? { pipeline: row.pipeline, reason: row.reason, lockedBy: row.locked_by, lockedAt: date(row.locked_at) }
      : undefined;
  }
}
