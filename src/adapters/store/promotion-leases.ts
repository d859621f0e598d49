/** The lease of the process acting on a promoting request, timed by the database's clock. */
import { sql } from "kysely";
import type { PromotionRequest } from "../../domain/request.js";
import type { StoreDatabase } from "./database.js";
import { iso, toRequest } from "./rows.js";

export class PromotionLeases {
  constructor(private readonly database: StoreDatabase) {}

  async databaseNow(): Promise<Date> {
    const { rows } = await sql<{ now: string }>`select ${this.database.dbTime()} as now`.execute(this.database.db);
    return new Date(rows[0]?.now as string);
  }

  async claimPromotion(owner: string, leaseMs: number, requestId?: string): Promise<PromotionRequest | undefined> {
    // Pick a candidate, then take it with a conditional update; losing the race to another
    // process simply means this one claims nothing this round. Without a request id, only
    // requests nobody holds are picked (this process's own are already being followed).
    let query = this.database.db
      .selectFrom("requests")
      .select("id")
      .where("state", "=", "promoting")
      .where((eb) =>
        eb.or([
          eb("lease_until", "is", null),
          eb("lease_until", "<", this.database.dbTime()),
          ...(requestId ? [eb("lease_owner", "=", owner)] : []),
        ]),
      )
      .orderBy("updated_at")
      .limit(1);
    if (requestId) query = query.where("id", "=", requestId);
    const candidate = await query.executeTakeFirst();
    if (!candidate) return undefined;
    const row = await this.database.db
      .updateTable("requests")
      .set({ lease_owner: owner, lease_until: this.database.dbTime(leaseMs) })
      .where("id", "=", candidate.id)
      .where("state", "=", "promoting")
      .where((eb) =>
        eb.or([
          eb("lease_until", "is", null),
          eb("lease_until", "<", this.database.dbTime()),
          eb("lease_owner", "=", owner),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async renewPromotionLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    // Only a lease still held: one that ran out may have been taken over (or may be about to be).
    const result = await this.database.db
      .updateTable("requests")
      .set({ lease_until: this.database.dbTime(leaseMs) })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .where("state", "=", "promoting")
      .where("lease_until", ">=", this.database.dbTime())
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async markPromotionStarted(
    id: string,
    owner: string,
    baseline: Record<string, number>,
  ): Promise<PromotionRequest | undefined> {
    const row = await this.database.db
      .updateTable("requests")
      .set({
        promotion_started_at: this.database.dbTime(),
        baseline: JSON.stringify(baseline),
        updated_at: iso(new Date()),
      })
      .where("id", "=", id)
      .where("state", "=", "promoting")
      .where("lease_owner", "=", owner)
      .where("lease_until", ">=", this.database.dbTime())
      .returningAll()
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async releasePromotionLease(id: string, owner: string): Promise<void> {
    await this.database.db
      .updateTable("requests")
      .set({ lease_owner: null, lease_until: null })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .execute();
  }
}
