/** Row mapping in one place: stored rows to domain records and back (timestamps are ISO text in UTC). */
import type { Selectable } from "kysely";
import type { RequestPatch } from "../../domain/ports.js";
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
