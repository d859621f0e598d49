/**
 * A promotion request and its state machine.
 *
 *   pending ──approve (enough)──> promoting ──> succeeded | failed | dry_run
 *      │ reject / cancel / expiry      │ ▲
 *      └──> rejected | cancelled       │ └─ try again (an approver)
 *           | expired                  └──> unknown ──record (an approver)──> succeeded | failed
 *
 * `unknown`: the bot acted (or may have) but could not establish the outcome (the provider could not be
 * read, or the change did not end within the follow limit). It is never reported as failed and never
 * retried blindly: approvers record what happened or try again, which looks for the earlier attempt's
 * trace before acting. It holds the pipeline like an active request until then.
 *
 * Every transition is a compare-and-set in the store, so it happens once whatever the concurrency.
 */
import type { DriftReport } from "./drift.js";

export const ACTIVE_STATES = ["pending", "promoting", "unknown"] as const;
export const FINAL_STATES = ["succeeded", "failed", "dry_run", "rejected", "cancelled", "expired"] as const;
export type RequestState = (typeof ACTIVE_STATES)[number] | (typeof FINAL_STATES)[number];

export interface AppRef {
  id: string;
  name: string;
}

export interface TargetResult {
  app: AppRef;
  status: "succeeded" | "failed" | "pending";
  releaseId: string | null;
  releaseVersion: number | null;
  errorMessage: string | null;
  /** Last lines of the release-phase output, when the target failed and Heroku kept it. */
  outputTail: string | null;
}

export interface PromotionOutcome {
  targets: TargetResult[];
  /** For strategy gitlab-job: the played job. */
  job?: JobOutcome;
  /** DRY_RUN: what would have been done (nothing was). */
  dryRun?: string;
  /** Set when the promotion could not be run at all (Heroku refused or stayed unavailable). */
  error: string | null;
  /** State unknown: why the outcome could not be established, and where a person can check it. */
  unknown?: { why: string; link: string | null };
  /** An approver recorded the outcome of an unknown request: who, what, and what the bot knew then. */
  recorded?: { by: string; as: "succeeded" | "failed"; at: string; unknown: { why: string; link: string | null } };
}

/** The manual production job of a GitLab pipeline (strategy gitlab-job). */
export interface GitLabJobRef {
  id: number;
  name: string;
  pipelineId: number;
}

/** What a played job ended as. */
export interface JobOutcome {
  id: number;
  name: string;
  status: string;
  webUrl: string;
  durationS: number | null;
  failureReason: string | null;
}

/** Where a rollback takes one target app: back to an earlier release (its build still kept by Heroku). */
export interface RollbackTarget {
  app: AppRef;
  releaseId: string;
  version: number;
  slugId: string | null;
  /** The version running when the rollback was requested. */
  fromVersion: number;
}

/** What every kind of request has: what it changes, who asked, its approvals' deadline, and where it stands. */
interface RequestCommon {
  id: string;
  pipeline: string;
  herokuPipelineId: string;
  sourceApp: AppRef;
  sourceReleaseId: string;
  sourceReleaseVersion: number;
  slugId: string | null;
  commitTitle: string | null;
  commitsBehind: number | null;
  targetApps: AppRef[];
  requester: string;
  requiredApprovals: number;
  createdAt: Date;
  expiresAt: Date;
  state: RequestState;
  channel: string;
  /** The approval message (may be the staging-ready message turned into it). */
  messageTs: string | null;
  candidateId: string | null;
  promotionId: string | null;
  promotionStartedAt: Date | null;
  finishedAt: Date | null;
  /** Who rejected, cancelled, or (for the automatic transitions) "system". */
  decidedBy: string | null;
  reason: string | null;
  outcome: PromotionOutcome | null;
  /** Set when an approver overrode a lock or freeze window for this request. */
  overrideReason: string | null;
  /** The lock or freeze window (`gateKey`) the override was given for. */
  overrideGate: string | null;
  /** Each target's newest release version before the POST (crash recovery only accepts newer releases). */
  baseline: Record<string, number> | null;
  /** The last drift check between the source and the targets (null: not checked, e.g. a rollback). */
  drift: DriftReport | null;
}

/** A Heroku pipeline promotion of a source-stage release (`POST /pipeline-promotions`). */
export interface HerokuPromotionRequest extends RequestCommon {
  kind: "promotion";
  commitSha: string;
}

/** Strategy gitlab-job: the manual production job of the release's GitLab pipeline is played instead. */
export interface GitLabJobRequest extends RequestCommon {
  kind: "gitlab-job";
  commitSha: string;
  gitlabJob: GitLabJobRef;
}

/** A rollback of the target apps to the releases they ran before (`POST /apps/:app/releases`). */
export interface RollbackRequest extends RequestCommon {
  kind: "rollback";
  /** The commit of the release it goes back to, when Heroku knows it. */
  commitSha: string | null;
  /** The release each target goes back to. */
  rollbackTo: RollbackTarget[];
}

/**
 * A request to change what the target stage runs, one type per kind: the executor, the message and the
 * store switch on `kind`. All three go through the same approval check.
 */
export type PromotionRequest = HerokuPromotionRequest | GitLabJobRequest | RollbackRequest;
export type RequestKind = PromotionRequest["kind"];

export interface Approval {
  requestId: string;
  approver: string;
  at: Date;
}

export function isActive(state: RequestState): boolean {
  return (ACTIVE_STATES as readonly string[]).includes(state);
}

export function isExpired(request: Pick<PromotionRequest, "expiresAt" | "state">, now: Date): boolean {
  return request.state === "pending" && request.expiresAt.getTime() <= now.getTime();
}

/** The final state a finished promotion lands in: any failed target fails the whole promotion. */
export function outcomeState(outcome: PromotionOutcome): "succeeded" | "failed" | "dry_run" {
  if (outcome.dryRun) return "dry_run";
  if (outcome.error) return "failed";
  if (outcome.job && outcome.job.status !== "success") return "failed";
  // A job that succeeded counts only where production got its release (each target says).
  if (outcome.targets.length === 0) return outcome.job ? "succeeded" : "failed";
  return outcome.targets.every((t) => t.status === "succeeded") ? "succeeded" : "failed";
}

export function shortSha(sha: string): string {
  return sha.slice(0, 8);
}
