/** Requests and their approvals: one active request a pipeline, every change a compare-and-set. */
import type { AuditNote, NewRequest, RequestPatch } from "../../domain/ports.js";
import { ACTIVE_STATES, type Approval, type PromotionRequest, type RequestState } from "../../domain/request.js";
import type { StoreDatabase } from "./database.js";
import { date, iso, isUniqueViolation, kindColumns, patchColumns, toRequest } from "./rows.js";

/** The read of one request by id, compiled (its id parameter replaced at each read). */
const compileGetRequest = (database: StoreDatabase) =>
  database.db.selectFrom("requests").selectAll().where("id", "=", "").compile();

export class RequestRepository {
  /**
   * getRequest's SQL, compiled once: it is on every click's path (a denied click reads the request and
   * nothing else), and Kysely building and compiling the query each time cost as much as the read.
   */
  private readonly getRequestQuery: ReturnType<typeof compileGetRequest>;

  constructor(private readonly database: StoreDatabase) {
    this.getRequestQuery = compileGetRequest(database);
  }

  async createRequest(
    r: NewRequest,
    note?: AuditNote,
  ): Promise<{ created: true; request: PromotionRequest } | { created: false; existing: PromotionRequest }> {
    const now = iso(r.createdAt);
    try {
      const row = await this.database.atomically(note, async (db) =>
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
            ...kindColumns(r),
            baseline: r.baseline ? JSON.stringify(r.baseline) : null,
            drift: r.drift ? JSON.stringify(r.drift) : null,
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
    const query: ReturnType<typeof compileGetRequest> = { ...this.getRequestQuery, parameters: [id] };
    const { rows } = await this.database.db.executeQuery(query);
    const row = rows[0];
    return row ? toRequest(row) : undefined;
  }

  async activeRequest(pipeline: string): Promise<PromotionRequest | undefined> {
    const row = await this.database.db
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
    const row = await this.database.atomically(note, (db) => {
      let update = db
        .updateTable("requests")
        .set({
          ...patchColumns(patch),
          state: to,
          updated_at: iso(new Date()),
          // The message must show the new state: the sweep settles it again after this change.
          state_changed_at: this.database.dbTime(),
          message_settled_at: null,
        })
        .where("id", "=", id)
        .where("state", "in", from);
      // Expiry by the database's clock, in the same statement: no process's clock decides it.
      if (options.unexpired) update = update.where("expires_at", ">", this.database.dbTime());
      return update.returningAll().executeTakeFirst();
    });
    return row ? toRequest(row) : undefined;
  }

  async updateRequest(id: string, patch: RequestPatch): Promise<PromotionRequest | undefined> {
    const row = await this.database.db
      .updateTable("requests")
      .set({ ...patchColumns(patch), updated_at: iso(new Date()) })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async addApproval(a: Approval, note?: AuditNote): Promise<boolean> {
    const added = await this.database.atomically(note, async (db) => {
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
    const rows = await this.database.db
      .selectFrom("approvals")
      .selectAll()
      .where("request_id", "=", requestId)
      .orderBy("at")
      .execute();
    return rows.map((r) => ({ requestId: r.request_id, approver: r.approver, at: date(r.at) }));
  }

  async fullyApprovedPending(): Promise<PromotionRequest[]> {
    const rows = await this.database.db
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
    const rows = await this.database.db
      .selectFrom("requests")
      .selectAll()
      .where("state", "=", "pending")
      .where("expires_at", "<=", iso(now))
      .execute();
    return rows.map(toRequest);
  }

  async recentRequests(pipeline: string, limit: number): Promise<PromotionRequest[]> {
    const rows = await this.database.db
      .selectFrom("requests")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .orderBy("created_at", "desc")
      .limit(limit)
      .execute();
    return rows.map(toRequest);
  }

  async lastFinishedPromotion(pipeline: string): Promise<PromotionRequest | undefined> {
    const row = await this.database.db
      .selectFrom("requests")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .where("state", "in", ["succeeded", "failed"])
      .orderBy("finished_at", "desc")
      .limit(1)
      .executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }
}
