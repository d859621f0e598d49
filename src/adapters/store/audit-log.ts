/** The audit trail: who did what to which request, when. */
import { sql } from "kysely";
import type { AuditEntry } from "../../domain/ports.js";
import { insertAudit, type StoreDatabase } from "./database.js";
import { date, iso } from "./rows.js";

/** Rows of one statement: 7 parameters each, far below SQLite's and PostgreSQL's limits. */
export const MAX_AUDIT_BATCH = 100;
/** People, requests and events whose last row this process remembers (the oldest are forgotten first). */
export const MAX_REMEMBERED_AUDITS = 10_000;

interface Waiting {
  entry: AuditEntry;
  key: string;
  /** Rows at or after this instant (ms) count as recent. */
  since: number;
  resolve(written: boolean): void;
  reject(error: unknown): void;
}

/** Who did what to which request: the rows `auditUnlessRecent` counts as the same. */
function keyOf(row: Pick<AuditEntry, "requestId" | "event" | "actor">): string {
  return JSON.stringify([row.requestId, row.event, row.actor]);
}

/** One row of a key: a key's rows in one batch differ in `at`. */
const rowOf = (key: string, at: string) => `${key}@${at}`;

export class AuditLog {
  /** The newest `at` (ms) of each key's rows written by this process. */
  private readonly written = new Map<string, number>();
  private queue: Waiting[] = [];
  private writing: Promise<void> | undefined;
  private scheduled: NodeJS.Immediate | undefined;

  constructor(private readonly database: StoreDatabase) {}

  async audit(entry: AuditEntry): Promise<void> {
    await insertAudit(this.database.db, entry);
  }

  /**
   * Denied clicks are the hot path of a burst (bench/RESULTS.md), so their rows are coalesced: a row
   * this process wrote within the window answers a repeat from memory, without the database; the
   * others wait for one multi-row statement a tick (at most MAX_AUDIT_BATCH rows). The promise settles
   * once the row is written or known to be redundant, so a caller that answers after it never tells
   * anyone about a denial the audit could still lose; `flush` (on close) writes what is queued.
   */
  auditUnlessRecent(entry: AuditEntry, withinMs: number): Promise<boolean> {
    const key = keyOf(entry);
    const since = entry.at.getTime() - withinMs;
    const last = this.written.get(key);
    if (last !== undefined && last >= since) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({ entry, key, since, resolve, reject });
      this.scheduled ??= setImmediate(() => {
        this.scheduled = undefined;
        void this.drain();
      });
    });
  }

  /** Writes every queued row (shutdown: the store closes after this). */
  async flush(): Promise<void> {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    await this.drain();
  }

  /** One statement at a time, so that each batch sees the rows of the one before. */
  private drain(): Promise<void> {
    if (this.writing) return this.writing;
    // Nothing to write: no writer is started. (A writer started on an empty queue finished before it
    // was stored, so it stayed "in progress" for good and every later row waited on it.)
    if (this.queue.length === 0) return Promise.resolve();
    let writing: Promise<void> | undefined;
    writing = (async () => {
      try {
        while (this.queue.length > 0) {
          const batch = this.queue.splice(0, MAX_AUDIT_BATCH);
          try {
            this.queue.unshift(...(await this.writeBatch(batch)));
          } catch (error) {
            for (const waiting of batch) waiting.reject(error);
          }
        }
      } finally {
        if (this.writing === writing) this.writing = undefined;
      }
    })();
    this.writing = writing;
    return writing;
  }

  /**
   * Writes the batch's rows that have no recent row, in one statement (insert … select … where not
   * exists, as one row would be: another process's recent row counts too; two processes racing may
   * each write one, and the audit stays truthful either way). Of several rows of one key in the batch
   * only the first is a candidate; the others wait for it and come back (returned) if it was not
   * written, since a row the database refused may be older than their window.
   */
  private async writeBatch(batch: Waiting[]): Promise<Waiting[]> {
    const candidates: Waiting[] = [];
    const behind = new Map<Waiting, Waiting>();
    const firstOf = new Map<string, Waiting>();
    for (const waiting of batch) {
      const last = this.written.get(waiting.key);
      if (last !== undefined && last >= waiting.since) {
        waiting.resolve(false);
        continue;
      }
      const first = firstOf.get(waiting.key);
      if (first && first.entry.at.getTime() >= waiting.since) {
        behind.set(waiting, first);
        continue;
      }
      firstOf.set(waiting.key, waiting);
      candidates.push(waiting);
    }
    const inserted = await this.insertUnlessRecent(candidates);
    const again: Waiting[] = [];
    for (const waiting of candidates) {
      const wrote = inserted.has(rowOf(waiting.key, iso(waiting.entry.at)));
      if (wrote) this.remember(waiting.key, waiting.entry.at.getTime());
      waiting.resolve(wrote);
    }
    for (const [waiting, first] of behind) {
      if (inserted.has(rowOf(first.key, iso(first.entry.at)))) waiting.resolve(false);
      else again.push(waiting);
    }
    return again;
  }

  /** The keys and `at` of the rows written. */
  private async insertUnlessRecent(rows: Waiting[]): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const values = sql.join(
      rows.map(
        ({ entry, since }) =>
          sql`(${entry.requestId}, ${entry.pipeline}, ${entry.event}, ${entry.actor}, ${iso(entry.at)}, ${JSON.stringify(entry.detail)}, ${iso(new Date(since))})`,
      ),
    );
    // VALUES names its columns column1 … column7 in SQLite and PostgreSQL alike.
    const result = await sql<{ request_id: string | null; event: string; actor: string | null; at: string }>`
      INSERT INTO audit (request_id, pipeline, event, actor, at, detail)
      SELECT v.column1, v.column2, v.column3, v.column4, v.column5, v.column6
      FROM (VALUES ${values}) AS v
      WHERE NOT EXISTS (
        SELECT 1 FROM audit
        WHERE request_id = v.column1 AND event = v.column3 AND actor = v.column4 AND at >= v.column7
      )
      RETURNING request_id, event, actor, at`.execute(this.database.db);
    return new Set(
      result.rows.map((row) => rowOf(keyOf({ requestId: row.request_id, event: row.event, actor: row.actor }), row.at)),
    );
  }

  private remember(key: string, at: number): void {
    const last = this.written.get(key);
    this.written.delete(key);
    this.written.set(key, Math.max(at, last ?? at));
    if (this.written.size > MAX_REMEMBERED_AUDITS) {
      // Forgetting costs only a query: the database still has the row.
      this.written.delete(this.written.keys().next().value as string);
    }
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
