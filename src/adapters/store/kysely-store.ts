/**
 * The one Store, over Kysely, for SQLite (embedded default, WAL) and PostgreSQL (Heroku, several dynos).
 * Every state change is a conditional UPDATE … RETURNING so it happens exactly once across processes.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import {
  type ExpressionBuilder,
  Kysely,
  PostgresDialect,
  type Selectable,
  type SqliteDatabase,
  SqliteDialect,
  sql,
} from "kysely";
import pg from "pg";
import type { DatabaseConfig } from "../../config.js";
import type { Lock } from "../../domain/gate.js";
import type { AuditEntry, AuditNote, NewRequest, RequestPatch, Store } from "../../domain/ports.js";
import type { Candidate, Delivery } from "../../domain/records.js";
import {
  ACTIVE_STATES,
  type Approval,
  type GitLabJobRef,
  type PromotionOutcome,
  type PromotionRequest,
  type RequestState,
  type RollbackTarget,
} from "../../domain/request.js";
import { type Dialect, migrateToLatest } from "./migrations.js";
import type { CandidatesTable, Database, RequestsTable } from "./schema.js";

const iso = (d: Date): string => d.toISOString();
/** Marks a request whose missing message one process is posting (see claimMessagePosting). */
const POSTING = "posting";
const date = (s: string): Date => new Date(s);
const dateOrNull = (s: string | null): Date | null => (s ? new Date(s) : null);

function toRequest(row: Selectable<RequestsTable>): PromotionRequest {
  return {
    id: row.id,
    kind: row.kind === "rollback" ? "rollback" : "promotion",
    rollbackTo: row.rollback_to ? (JSON.parse(row.rollback_to) as RollbackTarget[]) : null,
    pipeline: row.pipeline,
    herokuPipelineId: row.heroku_pipeline_id,
    sourceApp: { id: row.source_app_id, name: row.source_app_name },
    sourceReleaseId: row.source_release_id,
    sourceReleaseVersion: Number(row.source_release_version),
    slugId: row.slug_id,
    commitSha: row.commit_sha,
    commitTitle: row.commit_title,
    commitsBehind: row.commits_behind === null ? null : Number(row.commits_behind),
    targetApps: JSON.parse(row.target_apps) as PromotionRequest["targetApps"],
    requester: row.requester,
    requiredApprovals: Number(row.required_approvals),
    createdAt: date(row.created_at),
    expiresAt: date(row.expires_at),
    state: row.state as RequestState,
    channel: row.channel,
    messageTs: row.message_ts === POSTING ? null : row.message_ts,
    candidateId: row.candidate_id,
    promotionId: row.promotion_id,
    promotionStartedAt: dateOrNull(row.promotion_started_at),
    finishedAt: dateOrNull(row.finished_at),
    decidedBy: row.decided_by,
    reason: row.reason,
    outcome: row.outcome ? (JSON.parse(row.outcome) as PromotionOutcome) : null,
    overrideReason: row.override_reason,
    overrideGate: row.override_gate,
    baseline: row.baseline ? (JSON.parse(row.baseline) as Record<string, number>) : null,
    gitlabJob: row.gitlab_job ? (JSON.parse(row.gitlab_job) as GitLabJobRef) : null,
  };
}

function patchColumns(patch: RequestPatch): Partial<RequestsTable> {
  const out: Partial<RequestsTable> = {};
  if (patch.messageTs !== undefined) out.message_ts = patch.messageTs;
  if (patch.promotionId !== undefined) out.promotion_id = patch.promotionId;
  if (patch.promotionStartedAt !== undefined)
    out.promotion_started_at = patch.promotionStartedAt ? iso(patch.promotionStartedAt) : null;
  if (patch.finishedAt !== undefined) out.finished_at = patch.finishedAt ? iso(patch.finishedAt) : null;
  if (patch.decidedBy !== undefined) out.decided_by = patch.decidedBy;
  if (patch.reason !== undefined) out.reason = patch.reason;
  if (patch.outcome !== undefined) out.outcome = patch.outcome ? JSON.stringify(patch.outcome) : null;
  return out;
}

function toCandidate(row: Selectable<CandidatesTable>): Candidate {
  return {
    id: row.id,
    pipeline: row.pipeline,
    herokuPipelineId: row.heroku_pipeline_id,
    sourceAppId: row.source_app_id,
    sourceAppName: row.source_app_name,
    releaseId: row.release_id,
    releaseVersion: Number(row.release_version),
    slugId: row.slug_id,
    commitSha: row.commit_sha,
    commitTitle: row.commit_title,
    commitAuthor: row.commit_author,
    ciPipelineId: Number(row.ci_pipeline_id),
    ciPipelineUrl: row.ci_pipeline_url,
    channel: row.channel,
    messageTs: row.message_ts,
    state: row.state as Candidate["state"],
    supersededBy: row.superseded_by === null ? null : Number(row.superseded_by),
    createdAt: date(row.created_at),
    gitlabJob: row.gitlab_job ? (JSON.parse(row.gitlab_job) as GitLabJobRef) : null,
  };
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === "23505" || e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Heroku Postgres requires TLS with a certificate its clients cannot verify; local servers usually have none. */
function postgresSsl(url: string): pg.PoolConfig["ssl"] {
  const parsed = new URL(url);
  const mode = parsed.searchParams.get("sslmode");
  if (mode === "disable") return false;
  if (mode === "verify-full" || mode === "verify-ca") return { rejectUnauthorized: true };
  if (["localhost", "127.0.0.1", "::1", "[::1]"].includes(parsed.hostname) || parsed.hostname.startsWith("/")) {
    return mode === "require" ? { rejectUnauthorized: false } : false;
  }
  return { rejectUnauthorized: false };
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing is a tenth of the CPU of a webhook
 * delivery (bench/RESULTS.md). Statements are reusable, so keep the most recent ones.
 */
function cachingStatements(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare: (sql: string) => {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        statements.set(sql, statement);
        if (statements.size > 500) statements.delete(statements.keys().next().value as string);
      }
      return statement as unknown as ReturnType<SqliteDatabase["prepare"]>;
    },
  };
}

export class KyselyStore implements Store {
  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {}

  /** Opens the database and brings its schema up to date. */
  static async open(config: DatabaseConfig, options: { migrate?: boolean } = {}): Promise<KyselyStore> {
    const store = KyselyStore.connect(config);
    if (options.migrate !== false) {
      try {
        await store.migrate();
      } catch (error) {
        await store.close();
        throw error;
      }
    }
    return store;
  }

  static connect(config: DatabaseConfig): KyselyStore {
    if (config.kind === "sqlite") {
      if (config.path !== ":memory:") mkdirSync(dirname(config.path), { recursive: true });
      const database = new BetterSqlite3(config.path);
      database.pragma("journal_mode = WAL");
      database.pragma("busy_timeout = 5000");
      database.pragma("foreign_keys = ON");
      database.pragma("synchronous = NORMAL");
      return new KyselyStore(
        new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) }),
        "sqlite",
      );
    }
    const url = new URL(config.url);
    url.searchParams.delete("sslmode");
    const pool = new pg.Pool({
      connectionString: url.toString(),
      ssl: postgresSsl(config.url),
      max: 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    // A dropped connection must not crash the process: pg emits 'error' on the pool for idle clients
    // and on the client itself while it is checked out; the failing query rejects, the next reconnects.
    pool.on("error", () => {});
    pool.on("connect", (client) => {
      client.on("error", () => {});
    });
    return new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), "postgres");
  }

  async migrate(): Promise<string[]> {
    return migrateToLatest(this.db as unknown as Kysely<unknown>, this.dialect);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  // ------------------------------------------------------------ deliveries

  async recordDelivery(d: {
    id: string;
    event: string;
    body: string;
    receivedAt: Date;
    state?: "received" | "done";
  }): Promise<boolean> {
    const result = await this.db
      .insertInto("deliveries")
      .values({
        id: d.id,
        event: d.event,
        body: d.body,
        received_at: iso(d.receivedAt),
        state: d.state ?? "received",
        attempts: 0,
        lease_owner: null,
        lease_until: null,
        last_error: null,
        finished_at: d.state === "done" ? iso(d.receivedAt) : null,
      })
      // A delivery that failed for good and is sent again (an operator's "Resend request" in GitLab) gets
      // a fresh series of attempts; any other redelivery is a duplicate.
      .onConflict((oc) =>
        oc
          .column("id")
          .doUpdateSet({
            state: "received",
            attempts: 0,
            body: (eb) => eb.ref("excluded.body"),
            lease_owner: null,
            lease_until: null,
            finished_at: null,
          })
          .where("deliveries.state", "=", "failed"),
      )
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async claimDelivery(id: string, owner: string, now: Date, leaseMs: number): Promise<Delivery | undefined> {
    const row = await this.db
      .updateTable("deliveries")
      .set((eb) => ({
        state: "processing",
        lease_owner: owner,
        lease_until: iso(new Date(now.getTime() + leaseMs)),
        attempts: eb("attempts", "+", 1),
      }))
      .where("id", "=", id)
      .where((eb) =>
        eb.or([
          eb("state", "=", "received"),
          eb.and([eb("state", "=", "processing"), eb("lease_until", "<", iso(now))]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      event: row.event,
      body: row.body,
      receivedAt: date(row.received_at),
      state: row.state as Delivery["state"],
      attempts: Number(row.attempts),
      lastError: row.last_error,
    };
  }

  async finishDelivery(id: string, state: "done" | "failed", error?: string): Promise<void> {
    await this.db
      .updateTable("deliveries")
      .set({
        state,
        lease_owner: null,
        lease_until: null,
        last_error: error ?? null,
        finished_at: iso(new Date()),
        // The body is only needed until the delivery is processed.
        body: state === "done" ? "" : sql<string>`body`,
      })
      .where("id", "=", id)
      .execute();
  }

  async retryDeliveryLater(id: string, owner: string, at: Date, error: string): Promise<void> {
    // A lease nobody holds that runs out at `at`: the sweep and claimDelivery take it up from then.
    await this.db
      .updateTable("deliveries")
      .set({ state: "processing", lease_owner: null, lease_until: iso(at), last_error: error.slice(0, 500) })
      .where("id", "=", id)
      .where("state", "=", "processing")
      .where("lease_owner", "=", owner)
      .execute();
  }

  async releaseDelivery(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable("deliveries")
      .set({ state: "received", lease_owner: null, lease_until: null })
      .where("id", "=", id)
      .where("state", "=", "processing")
      .where("lease_owner", "=", owner)
      .execute();
  }

  async unfinishedDeliveries(now: Date, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("deliveries")
      .select("id")
      .where((eb) =>
        eb.or([
          eb("state", "=", "received"),
          eb.and([eb("state", "=", "processing"), eb("lease_until", "<", iso(now))]),
        ]),
      )
      .orderBy("received_at")
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  // ------------------------------------------------------------ candidates

  async insertCandidate(c: Candidate): Promise<boolean> {
    const result = await this.db
      .insertInto("candidates")
      .values({
        id: c.id,
        pipeline: c.pipeline,
        heroku_pipeline_id: c.herokuPipelineId,
        source_app_id: c.sourceAppId,
        source_app_name: c.sourceAppName,
        release_id: c.releaseId,
        release_version: c.releaseVersion,
        slug_id: c.slugId,
        commit_sha: c.commitSha,
        commit_title: c.commitTitle,
        commit_author: c.commitAuthor,
        ci_pipeline_id: c.ciPipelineId,
        ci_pipeline_url: c.ciPipelineUrl,
        channel: c.channel,
        message_ts: c.messageTs,
        state: c.state,
        superseded_by: c.supersededBy,
        created_at: iso(c.createdAt),
        gitlab_job: c.gitlabJob ? JSON.stringify(c.gitlabJob) : null,
      })
      .onConflict((oc) => oc.columns(["pipeline", "release_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async getCandidate(id: string): Promise<Candidate | undefined> {
    const row = await this.db.selectFrom("candidates").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toCandidate(row) : undefined;
  }

  async liveCandidates(pipeline: string): Promise<Candidate[]> {
    const rows = await this.db
      .selectFrom("candidates")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .where("state", "=", "live")
      .orderBy("created_at")
      .execute();
    return rows.map(toCandidate);
  }

  async setCandidateMessage(id: string, ts: string): Promise<void> {
    await this.db.updateTable("candidates").set({ message_ts: ts }).where("id", "=", id).execute();
  }

  async transitionCandidate(
    id: string,
    from: Candidate["state"][],
    to: Candidate["state"],
    patch: Partial<Pick<Candidate, "supersededBy">> = {},
  ): Promise<Candidate | undefined> {
    const row = await this.db
      .updateTable("candidates")
      .set({ state: to, ...(patch.supersededBy !== undefined ? { superseded_by: patch.supersededBy } : {}) })
      .where("id", "=", id)
      .where("state", "in", from)
      .returningAll()
      .executeTakeFirst();
    return row ? toCandidate(row) : undefined;
  }

  // ------------------------------------------------------------ requests

  async createRequest(
    r: NewRequest,
    note?: AuditNote,
  ): Promise<{ created: true; request: PromotionRequest } | { created: false; existing: PromotionRequest }> {
    const now = iso(r.createdAt);
    try {
      const row = await this.atomically(note, async (db) =>
        db
          .insertInto("requests")
          .values({
            id: r.id,
            pipeline: r.pipeline,
            heroku_pipeline_id: r.herokuPipelineId,
            source_app_id: r.sourceApp.id,
            source_app_name: r.sourceApp.name,
            source_release_id: r.sourceReleaseId,
            source_release_version: r.sourceReleaseVersion,
            slug_id: r.slugId,
            commit_sha: r.commitSha,
            commit_title: r.commitTitle,
            commits_behind: r.commitsBehind,
            target_apps: JSON.stringify(r.targetApps),
            requester: r.requester,
            required_approvals: r.requiredApprovals,
            created_at: now,
            expires_at: iso(r.expiresAt),
            state: "pending",
            channel: r.channel,
            message_ts: r.messageTs,
            candidate_id: r.candidateId,
            promotion_id: null,
            promotion_started_at: null,
            finished_at: null,
            decided_by: null,
            reason: null,
            outcome: null,
            lease_owner: null,
            lease_until: null,
            updated_at: now,
            override_reason: r.overrideReason,
            override_gate: r.overrideGate,
            message_settled_at: null,
            kind: r.kind,
            baseline: r.baseline ? JSON.stringify(r.baseline) : null,
            gitlab_job: r.gitlabJob ? JSON.stringify(r.gitlabJob) : null,
            rollback_to: r.rollbackTo ? JSON.stringify(r.rollbackTo) : null,
          })
          .returningAll()
          .executeTakeFirstOrThrow(),
      );
      if (!row) throw new Error("the new request was not returned");
      return { created: true, request: toRequest(row) };
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      const existing = await this.activeRequest(r.pipeline);
      if (!existing) throw error;
      return { created: false, existing };
    }
  }

  async getRequest(id: string): Promise<PromotionRequest | undefined> {
    const row = await this.db.selectFrom("requests").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async activeRequest(pipeline: string): Promise<PromotionRequest | undefined> {
    const row = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .where("state", "in", [...ACTIVE_STATES])
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async transitionRequest(
    id: string,
    from: RequestState[],
    to: RequestState,
    patch: RequestPatch = {},
    note?: AuditNote,
    options: { unexpired?: boolean } = {},
  ): Promise<PromotionRequest | undefined> {
    const row = await this.atomically(note, (db) => {
      let update = db
        .updateTable("requests")
        .set({ ...patchColumns(patch), state: to, updated_at: iso(new Date()) })
        .where("id", "=", id)
        .where("state", "in", from);
      // Expiry by the database's clock, in the same statement: no process's clock decides it.
      if (options.unexpired) update = update.where("expires_at", ">", this.dbTime());
      return update.returningAll().executeTakeFirst();
    });
    return row ? toRequest(row) : undefined;
  }

  async updateRequest(id: string, patch: RequestPatch): Promise<PromotionRequest | undefined> {
    const row = await this.db
      .updateTable("requests")
      .set({ ...patchColumns(patch), updated_at: iso(new Date()) })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async addApproval(a: Approval, note?: AuditNote): Promise<boolean> {
    const added = await this.atomically(note, async (db) => {
      const row = await db
        .insertInto("approvals")
        .values({ request_id: a.requestId, approver: a.approver, at: iso(a.at) })
        .onConflict((oc) => oc.columns(["request_id", "approver"]).doNothing())
        .returning("request_id")
        .executeTakeFirst();
      return row ? { request_id: a.requestId } : undefined;
    });
    return added !== undefined;
  }

  async approvals(requestId: string): Promise<Approval[]> {
    const rows = await this.db
      .selectFrom("approvals")
      .selectAll()
      .where("request_id", "=", requestId)
      .orderBy("at")
      .execute();
    return rows.map((r) => ({ requestId: r.request_id, approver: r.approver, at: date(r.at) }));
  }

  async requestsWithoutMessage(graceMs: number): Promise<PromotionRequest[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      // Whatever its state: a request that ended before its message could be posted (Slack failed the
      // first post, then it was cancelled or promoted) still gets one showing how it ended. Only the
      // last day's, so that a deploy does not post old history. created_at is the creating process's
      // clock, so it only decides for a request nobody claimed (the creator claims at once, so one left
      // unclaimed past the grace was lost in a crash); a claim goes stale by the database's clock alone.
      .where("created_at", ">", this.dbTime(-24 * 3_600_000))
      .where((eb) =>
        eb.or([
          eb.and([eb("message_ts", "is", null), eb("created_at", "<", this.dbTime(-graceMs))]),
          this.staleClaim(eb, graceMs),
        ]),
      )
      .execute();
    return rows.map(toRequest);
  }

  /** A claim on posting a message that is older than `graceMs` by the database's clock (or predates the clock column). */
  private staleClaim(eb: ExpressionBuilder<Database, "requests">, graceMs: number) {
    return eb.and([
      eb("message_ts", "=", POSTING),
      eb.or([eb("message_claimed_at", "is", null), eb("message_claimed_at", "<", this.dbTime(-graceMs))]),
    ]);
  }

  async unsettledMessages(finishedBefore: Date, limit: number): Promise<PromotionRequest[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("finished_at", "is not", null)
      .where("finished_at", "<", iso(finishedBefore))
      .where("message_settled_at", "is", null)
      .where("message_ts", "is not", null)
      .where("message_ts", "!=", POSTING)
      .orderBy("finished_at")
      .limit(limit)
      .execute();
    return rows.map(toRequest);
  }

  async markMessageSettled(id: string, at: Date): Promise<void> {
    await this.db
      .updateTable("requests")
      .set({ message_settled_at: iso(at) })
      .where("id", "=", id)
      .execute();
  }

  async claimMessagePosting(id: string, graceMs: number): Promise<PromotionRequest | undefined> {
    const row = await this.db
      .updateTable("requests")
      .set({ message_ts: POSTING, message_claimed_at: this.dbTime(), updated_at: iso(new Date()) })
      .where("id", "=", id)
      .where((eb) => eb.or([eb("message_ts", "is", null), this.staleClaim(eb, graceMs)]))
      .returningAll()
      .executeTakeFirst();
    return row ? { ...toRequest(row), messageTs: null } : undefined;
  }

  async fullyApprovedPending(): Promise<PromotionRequest[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("state", "=", "pending")
      .where(
        (eb) =>
          eb
            .selectFrom("approvals")
            .select((e) => e.fn.countAll<number>().as("n"))
            .whereRef("approvals.request_id", "=", "requests.id"),
        ">=",
        (eb) => eb.ref("requests.required_approvals"),
      )
      .execute();
    return rows.map(toRequest);
  }

  async expiredRequests(now: Date): Promise<PromotionRequest[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("state", "=", "pending")
      .where("expires_at", "<=", iso(now))
      .execute();
    return rows.map(toRequest);
  }

  /**
   * The database's clock, `offsetMs` ahead, as the ISO text timestamps are stored in (so that they
   * compare as text). Leases and the POST window are timed by it, not by any process's clock: two
   * processes whose clocks disagree still agree on when a lease ran out.
   */
  private dbTime(offsetMs = 0) {
    if (this.dialect === "sqlite") {
      return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${offsetMs >= 0 ? "+" : ""}${offsetMs / 1000} seconds`})`;
    }
    return sql<string>`to_char((clock_timestamp() + ${offsetMs} * interval '1 millisecond') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  }

  async databaseNow(): Promise<Date> {
    const { rows } = await sql<{ now: string }>`select ${this.dbTime()} as now`.execute(this.db);
    return new Date(rows[0]?.now as string);
  }

  async claimPromotion(owner: string, leaseMs: number, requestId?: string): Promise<PromotionRequest | undefined> {
    // Pick a candidate, then take it with a conditional update; losing the race to another
    // process simply means this one claims nothing this round. Without a request id, only
    // requests nobody holds are picked (this process's own are already being followed).
    let query = this.db
      .selectFrom("requests")
      .select("id")
      .where("state", "=", "promoting")
      .where((eb) =>
        eb.or([
          eb("lease_until", "is", null),
          eb("lease_until", "<", this.dbTime()),
          ...(requestId ? [eb("lease_owner", "=", owner)] : []),
        ]),
      )
      .orderBy("updated_at")
      .limit(1);
    if (requestId) query = query.where("id", "=", requestId);
    const candidate = await query.executeTakeFirst();
    if (!candidate) return undefined;
    const row = await this.db
      .updateTable("requests")
      .set({ lease_owner: owner, lease_until: this.dbTime(leaseMs) })
      .where("id", "=", candidate.id)
      .where("state", "=", "promoting")
      .where((eb) =>
        eb.or([eb("lease_until", "is", null), eb("lease_until", "<", this.dbTime()), eb("lease_owner", "=", owner)]),
      )
      .returningAll()
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async renewPromotionLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    // Only a lease still held: one that ran out may have been taken over (or may be about to be).
    const result = await this.db
      .updateTable("requests")
      .set({ lease_until: this.dbTime(leaseMs) })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .where("state", "=", "promoting")
      .where("lease_until", ">=", this.dbTime())
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async markPromotionStarted(
    id: string,
    owner: string,
    baseline: Record<string, number>,
  ): Promise<PromotionRequest | undefined> {
    const row = await this.db
      .updateTable("requests")
      .set({ promotion_started_at: this.dbTime(), baseline: JSON.stringify(baseline), updated_at: iso(new Date()) })
      .where("id", "=", id)
      .where("state", "=", "promoting")
      .where("lease_owner", "=", owner)
      .where("lease_until", ">=", this.dbTime())
      .returningAll()
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async releasePromotionLease(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable("requests")
      .set({ lease_owner: null, lease_until: null })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .execute();
  }

  async recentRequests(pipeline: string, limit: number): Promise<PromotionRequest[]> {
    const rows = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .orderBy("created_at", "desc")
      .limit(limit)
      .execute();
    return rows.map(toRequest);
  }

  async lastFinishedPromotion(pipeline: string): Promise<PromotionRequest | undefined> {
    const row = await this.db
      .selectFrom("requests")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .where("state", "in", ["succeeded", "failed"])
      .orderBy("finished_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  // ------------------------------------------------------------ locks

  async getLock(pipeline: string): Promise<Lock | undefined> {
    const row = await this.db.selectFrom("locks").selectAll().where("pipeline", "=", pipeline).executeTakeFirst();
    return row
      ? { pipeline: row.pipeline, reason: row.reason, lockedBy: row.locked_by, lockedAt: date(row.locked_at) }
      : undefined;
  }

  async lock(lock: Lock): Promise<{ created: boolean; lock: Lock }> {
    const result = await this.db
      .insertInto("locks")
      .values({ pipeline: lock.pipeline, reason: lock.reason, locked_by: lock.lockedBy, locked_at: iso(lock.lockedAt) })
      .onConflict((oc) => oc.column("pipeline").doNothing())
      .executeTakeFirst();
    if (Number(result.numInsertedOrUpdatedRows ?? 0) > 0) return { created: true, lock };
    return { created: false, lock: (await this.getLock(lock.pipeline)) ?? lock };
  }

  async unlock(pipeline: string): Promise<Lock | undefined> {
    const row = await this.db.deleteFrom("locks").where("pipeline", "=", pipeline).returningAll().executeTakeFirst();
    return row
      ? { pipeline: row.pipeline, reason: row.reason, lockedBy: row.locked_by, lockedAt: date(row.locked_at) }
      : undefined;
  }

  // ------------------------------------------------------------ audit

  /**
   * Runs `write` and, when it changed a request (returned its row), writes the audit row of that
   * change in the same transaction: a crash keeps both or neither.
   */
  private async atomically<T>(
    note: AuditNote | undefined,
    write: (db: Kysely<Database>) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    if (!note) return write(this.db);
    return this.db.transaction().execute(async (trx) => {
      const row = await write(trx);
      if (row) {
        await insertAudit(trx, {
          requestId: note.requestId,
          pipeline: note.pipeline,
          event: note.event,
          actor: note.actor,
          at: note.at,
          detail: note.detail ?? {},
        });
      }
      return row;
    });
  }

  async audit(entry: AuditEntry): Promise<void> {
    await insertAudit(this.db, entry);
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
      )`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async auditFor(requestId: string): Promise<AuditEntry[]> {
    const rows = await this.db
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

async function insertAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto("audit")
    .values({
      request_id: entry.requestId,
      pipeline: entry.pipeline,
      event: entry.event,
      actor: entry.actor,
      at: iso(entry.at),
      detail: JSON.stringify(entry.detail),
    })
    .execute();
}
