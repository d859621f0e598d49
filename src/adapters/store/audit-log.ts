/** The audit trail: who did what to which request, when. */
import { sql } from "kysely";
import type { AuditEntry } from "../../domain/ports.js";
import { insertAudit, type StoreDatabase } from "./database.js";
import { date, iso } from "./rows.js";

export class AuditLog {
  constructor(private readonly database: StoreDatabase) {}

  async audit(entry: AuditEntry): Promise<void> {
    await insertAudit(this.database.db, entry);
  }

  async auditUnlessRecent(entry: AuditEntry, withinMs: number): Promise<boolean> {
    // One statement (insert … select … where not exists): a burst of the same row from one process
    // writes it once. Two processes racing may each write one; the audit stays truthful either way.
    const since = iso(new Date(entry.at.getTime() - withinMs));
    const result = await sql`INSERT INTO audit (request_id, pipeline, event, actor, at, detail)
      SELECT ${entry.requestId}, ${entry.pipeline}, ${entry.event}, ${entry.actor}, ${iso(entry.at)}, ${JSON.stringify(entry.detail)}
      WHERE NOT EXISTS (
        SELECT 1 FROM audit
        WHERE request_id = ${entry.requestId} AND event = ${entry.event} AND actor = ${entry.actor} AND at >= ${since}
      )`.execute(this.database.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async auditFor(requestId: string): Promise<AuditEntry[]> {
    const rows = await this.database.db
      .selectFrom("audit")
      .selectAll()
      .where("request_id", "=", requestId)
      .orderBy("id")
      .execute();
    return rows.map((r) => ({
      requestId: r.request_id,
      pipeline: r.pipeline,
      event: r.event,
      actor: r.actor,
      at: date(r.at),
      detail: JSON.parse(r.detail) as Record<string, unknown>,
    }));
  }
}
