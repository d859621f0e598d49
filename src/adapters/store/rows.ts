/** Row mapping in one place: stored rows to domain records and back (timestamps are ISO text in UTC). */
import type { Selectable } from "kysely";
import type { DriftReport } from "../../domain/drift.js";
import type { NewRequest, RequestPatch } from "../../domain/ports.js";
import type { Candidate } from "../../domain/records.js";
import type {
  GitLabJobRef,
  PromotionOutcome,
  PromotionRequest,
  RequestState,
  RollbackTarget,
} from "../../domain/request.js";
import type { CandidatesTable, RequestsTable } from "./schema.js";

export const iso = (d: Date): string => d.toISOString();
/** Marks a request whose missing message one process is posting (see claimMessagePosting). */
export const POSTING = "posting";
export const date = (s: string): Date => new Date(s);
export const dateOrNull = (s: string | null): Date | null => (s ? new Date(s) : null);

export function toRequest(row: Selectable<RequestsTable>): PromotionRequest {
  const common = {
    id: row.id,
    pipeline: row.pipeline,
    herokuPipelineId: row.heroku_pipeline_id,
    sourceApp: { id: row.source_app_id, name: row.source_app_name },
    sourceReleaseId: row.source_release_id,
    sourceReleaseVersion: Number(row.source_release_version),
    slugId: row.slug_id,
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
    drift: row.drift ? (JSON.parse(row.drift) as DriftReport) : null,
  };
  // The stored kind is "promotion" or "rollback"; a promotion that plays a GitLab job has its job.
  if (row.kind === "rollback") {
    const rollbackTo = row.rollback_to ? (JSON.parse(row.rollback_to) as RollbackTarget[]) : [];
    return { ...common, kind: "rollback", commitSha: row.commit_sha || null, rollbackTo };
  }
  if (row.gitlab_job) {
    return {
      ...common,
      kind: "gitlab-job",
      commitSha: row.commit_sha,
      gitlabJob: JSON.parse(row.gitlab_job) as GitLabJobRef,
    };
  }
  return { ...common, kind: "promotion", commitSha: row.commit_sha };
}

/** The columns that say which kind a request is (see toRequest). */
export function kindColumns(
  request: NewRequest,
): Pick<RequestsTable, "kind" | "commit_sha" | "gitlab_job" | "rollback_to"> {
  switch (request.kind) {
    case "rollback":
      return {
        kind: "rollback",
        commit_sha: request.commitSha ?? "",
        gitlab_job: null,
        rollback_to: JSON.stringify(request.rollbackTo),
      };
    case "gitlab-job":
      return {
        kind: "promotion",
        commit_sha: request.commitSha,
        gitlab_job: JSON.stringify(request.gitlabJob),
        rollback_to: null,
      };
    case "promotion":
      return { kind: "promotion", commit_sha: request.commitSha, gitlab_job: null, rollback_to: null };
  }
}

export function patchColumns(patch: RequestPatch): Partial<RequestsTable> {
  const out: Partial<RequestsTable> = {};
  if (patch.messageTs !== undefined) out.message_ts = patch.messageTs;
  if (patch.promotionId !== undefined) out.promotion_id = patch.promotionId;
  if (patch.promotionStartedAt !== undefined)
    out.promotion_started_at = patch.promotionStartedAt ? iso(patch.promotionStartedAt) : null;
  if (patch.finishedAt !== undefined) out.finished_at = patch.finishedAt ? iso(patch.finishedAt) : null;
  if (patch.decidedBy !== undefined) out.decided_by = patch.decidedBy;
  if (patch.reason !== undefined) out.reason = patch.reason;
  if (patch.outcome !== undefined) out.outcome = patch.outcome ? JSON.stringify(patch.outcome) : null;
  if (patch.drift !== undefined) out.drift = patch.drift ? JSON.stringify(patch.drift) : null;
  return out;
}

export function toCandidate(row: Selectable<CandidatesTable>): Candidate {
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

export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === "23505" || e?.code === "SQLITE_CONSTRAINT_UNIQUE" || e?.code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/** Heroku Postgres requires TLS with a certificate its clients cannot verify; local servers usually have none. */
