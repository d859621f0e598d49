/** Staging candidates: one per release, announced once, superseded by a newer one. */
import type { Candidate } from "../../domain/records.js";
import type { StoreDatabase } from "./database.js";
import { iso, toCandidate } from "./rows.js";

export class CandidateRepository {
  constructor(private readonly database: StoreDatabase) {}

  async insertCandidate(c: Candidate): Promise<boolean> {
    const result = await this.database.db
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
    const row = await this.database.db.selectFrom("candidates").selectAll().where("id", "=", id).executeTakeFirst();
    return row ? toCandidate(row) : undefined;
  }

  async liveCandidates(pipeline: string): Promise<Candidate[]> {
    const rows = await this.database.db
      .selectFrom("candidates")
      .selectAll()
      .where("pipeline", "=", pipeline)
      .where("state", "=", "live")
      .orderBy("created_at")
      .execute();
    return rows.map(toCandidate);
  }

  async setCandidateMessage(id: string, ts: string): Promise<void> {
    await this.database.db.updateTable("candidates").set({ message_ts: ts }).where("id", "=", id).execute();
  }

  async transitionCandidate(
    id: string,
    from: Candidate["state"][],
    to: Candidate["state"],
    patch: Partial<Pick<Candidate, "supersededBy">> = {},
  ): Promise<Candidate | undefined> {
    const row = await this.database.db
      .updateTable("candidates")
      .set({ state: to, ...(patch.supersededBy !== undefined ? { superseded_by: patch.supersededBy } : {}) })
      .where("id", "=", id)
      .where("state", "in", from)
      .returningAll()
      .executeTakeFirst();
    return row ? toCandidate(row) : undefined;
  }
}
