/**
 * The outside world as the use cases see it. Adapters implement these with heroku-client,
 * @gitbeaker/rest, Slack's WebClient and Kysely; tests point the real adapters at loopback stand-ins.
 */
import type { AppSettings } from "./drift.js";
import type { Lock } from "./gate.js";
import type { Candidate, Delivery } from "./records.js";
import type { AppRef, Approval, PromotionOutcome, PromotionRequest, RequestState } from "./request.js";

export interface Clock {
  now(): Date;
}

// ---------------------------------------------------------------- Heroku

export type ReleaseStatus = "pending" | "succeeded" | "failed" | "expired";

export interface Release {
  id: string;
  version: number;
  status: ReleaseStatus;
  slugId: string | null;
  current: boolean;
  createdAt: string;
  description: string;
  outputStreamUrl: string | null;
  /** Heroku's `eligible_for_rollback`: false when Heroku refuses a rollback to this release. */
  eligibleForRollback: boolean;
  /** When Heroku last changed it (its status): orders two reports of the same release. */
  updatedAt?: string;
  /** Who made it, when Heroku says (the user's email). */
  madeBy?: string | null;
}

/** A release with the app it belongs to (latest-releases and webhook events carry it). */
export interface AppRelease extends Release {
  app: AppRef;
}

export interface Coupling {
  app: AppRef;
  stage: string;
}

export interface PromotionTarget {
  appId: string;
  status: "pending" | "succeeded" | "failed";
  errorMessage: string | null;
  releaseId: string | null;
}

export interface HerokuPort {
  pipeline(idOrName: string): Promise<{ id: string; name: string }>;
  couplings(pipelineId: string): Promise<Coupling[]>;
  /** The app's current release (the newest with `current: true`), undefined for an app never released. */
  currentRelease(appId: string): Promise<Release | undefined>;
  /** The app's newest releases, newest first (pending and failed ones included). */
  recentReleases(appId: string, max: number): Promise<Release[]>;
  release(appId: string, releaseIdOrVersion: string | number): Promise<Release>;
  /**
   * `GET /pipelines/{id}/latest-releases`: the newest release of every app of the pipeline, in one
   * call (it may be pending or failed: the caller reads an app whose newest is not current on its own).
   */
  latestReleases(pipelineId: string): Promise<AppRelease[]>;
  /** The settings the drift check compares (config var names, buildpacks, stack, add-ons, generation). */
  appSettings(appId: string): Promise<AppSettings>;
  /** The last RateLimit-Remaining Heroku sent, if any (the adapter paces itself by it too). */
  rateLimitRemaining?(): number | undefined;
  slugCommit(appId: string, slugId: string): Promise<string | null>;
  createPromotion(args: {
    pipelineId: string;
    sourceAppId: string;
    sourceReleaseId: string;
    targetAppIds: string[];
  }): Promise<{ id: string; status: string }>;
  promotionTargets(promotionId: string): Promise<PromotionTarget[]>;
  /** Rolls an app back to an earlier release (a new release with that release's build). */
  rollback(appId: string, releaseId: string): Promise<Release>;
  /** The last lines of a release-phase output stream. */
  releaseOutputTail(url: string, lines: number): Promise<string | null>;
}

// ---------------------------------------------------------------- GitLab

export interface GitLabProjectInfo {
  id: number;
  pathWithNamespace: string;
  defaultBranch: string;
  webUrl: string;
}

export interface CiPipeline {
  id: number;
  status: string;
  ref: string;
  sha: string;
  webUrl: string;
}

export interface CommitInfo {
  sha: string;
  title: string;
  authorName: string;
  webUrl: string | null;
}

export interface CiJob {
  id: number;
  name: string;
  status: string;
  pipelineId: number;
  webUrl: string;
  durationS: number | null;
  failureReason: string | null;
}

export interface GitLabPort {
  /** Successful pipelines on a ref, newest first. */
  successfulPipelines(project: string | number, ref: string, max: number): Promise<CiPipeline[]>;
  pipelineJobs(project: string | number, pipelineId: number): Promise<CiJob[]>;
  job(project: string | number, jobId: number): Promise<CiJob>;
  /** Plays a manual job (once: the caller re-reads the job before ever playing again). */
  playJob(project: string | number, jobId: number): Promise<CiJob>;
  project(ref: string | number): Promise<GitLabProjectInfo>;
  /** Pipelines for a commit on a ref, newest first. */
  pipelinesForCommit(project: string | number, sha: string, ref: string): Promise<CiPipeline[]>;
  /** Commits in `to` that are not in `from`, oldest first. */
  compare(project: string | number, from: string, to: string): Promise<{ commits: CommitInfo[]; webUrl: string }>;
  commit(project: string | number, sha: string): Promise<CommitInfo>;
}

// ---------------------------------------------------------------- Slack

export interface ChatMessage {
  text: string;
  blocks: unknown[];
  /**
   * The request this message shows. It travels with the message (Slack message metadata), so that a
   * message whose post was accepted but whose answer was lost can be found again (`findRequestMessage`).
   */
  requestId?: string;
}

/** What looking for a request's message in its channel found. */
export type MessageSearch =
  | { kind: "found"; ts: string }
  | { kind: "absent" }
  /** The channel cannot be searched (a scope or membership missing): a reason an operator can act on. */
  | { kind: "unsearchable"; reason: string };

export interface ChatPort {
  post(channel: string, message: ChatMessage, threadTs?: string): Promise<{ ts: string }>;
  update(channel: string, ts: string, message: ChatMessage): Promise<void>;
  /**
   * The message showing `requestId` posted in `channel` since `since`, if any. Throws when the chat is
   * unavailable (try again later); a lasting refusal is `unsearchable`.
   */
  findRequestMessage(channel: string, requestId: string, since: Date): Promise<MessageSearch>;
  userGroupMembers(groupId: string): Promise<string[]>;
  /** Publishes a user's App Home tab. */
  publishHome(user: string, blocks: unknown[]): Promise<void>;
}

// ---------------------------------------------------------------- Store

export interface AuditEntry {
  requestId: string | null;
  pipeline: string;
  event: string;
  actor: string | null;
  at: Date;
  detail: Record<string, unknown>;
}

/** The audit row of a change, written in the same transaction as the change itself. */
export interface AuditNote {
  requestId: string;
  pipeline: string;
  event: string;
  actor: string | null;
  at: Date;
  detail?: Record<string, unknown>;
}

/** Omit over each member of a union (TypeScript's Omit keeps only the keys all members share). */
type OmitEach<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type NewRequest = OmitEach<
  PromotionRequest,
  | "state"
  | "promotionId"
  | "promotionStartedAt"
  | "finishedAt"
  | "decidedBy"
  | "reason"
  | "outcome"
  | "baseline"
  | "drift"
> & {
  /** Each target's newest release version when the request was made (see PromotionRequest.baseline). */
  baseline?: Record<string, number> | null;
  /** The drift check made with the request (see PromotionRequest.drift). */
  drift?: PromotionRequest["drift"];
};

export type RequestPatch = Partial<
  Pick<
    PromotionRequest,
    "messageTs" | "promotionId" | "promotionStartedAt" | "finishedAt" | "decidedBy" | "reason" | "outcome" | "drift"
  >
>;

/** Webhook deliveries: recorded once, processed under a lease, retried a bounded number of times. */
export interface DeliveryStore {
  /** Records a webhook delivery; false when one with the same id exists (a redelivery). */
  recordDelivery(delivery: {
    id: string;
    event: string;
    body: string;
    receivedAt: Date;
    /** "done" for a delivery that needs no processing. Default "received". */
    state?: "received" | "done";
  }): Promise<boolean>;
  /** Takes a delivery for processing when it is new or its previous lease ran out. */
  claimDelivery(id: string, owner: string, now: Date, leaseMs: number): Promise<Delivery | undefined>;
  finishDelivery(id: string, state: "done" | "failed", error?: string): Promise<void>;
  /** Hands a claimed delivery back to be processed again from `at` (its attempts counted), with why. */
  retryDeliveryLater(id: string, owner: string, at: Date, error: string): Promise<void>;
  /** Hands a delivery back unprocessed (shutting down), so the next process takes it at once. */
  releaseDelivery(id: string, owner: string): Promise<void>;
  /** Ids of deliveries not yet processed (new, or with an expired lease). */
  unfinishedDeliveries(now: Date, limit: number): Promise<string[]>;
}

/** Staging candidates (a staging release announced with a Promote button). */
export interface CandidateStore {
  /** Stores a candidate; false when the pipeline already has one for that release. */
  insertCandidate(candidate: Candidate): Promise<boolean>;
  getCandidate(id: string): Promise<Candidate | undefined>;
  /** Candidates of a pipeline whose message still offers a live button. */
  liveCandidates(pipeline: string): Promise<Candidate[]>;
  /** Records the ts of a candidate's message once it is posted. */
  setCandidateMessage(id: string, ts: string): Promise<void>;
  /** Compare-and-set of a candidate's state; returns the updated candidate or undefined. */
  transitionCandidate(
    id: string,
    from: Candidate["state"][],
    to: Candidate["state"],
    patch?: Partial<Pick<Candidate, "supersededBy">>,
  ): Promise<Candidate | undefined>;
}

/** Requests and their approvals. */
export interface RequestStore {
  /** Creates the request unless one for the pipeline is active; then returns that one instead. With `note`, audited atomically. */
  createRequest(
    request: NewRequest,
    note?: AuditNote,
  ): Promise<{ created: true; request: PromotionRequest } | { created: false; existing: PromotionRequest }>;
  getRequest(id: string): Promise<PromotionRequest | undefined>;
  activeRequest(pipeline: string): Promise<PromotionRequest | undefined>;
  /**
   * Compare-and-set: moves the request to `to` only if its state is one of `from`. With `note`, the
   * audit row of the move is written in the same transaction (only when the move happened).
   */
  transitionRequest(
    id: string,
    from: RequestState[],
    to: RequestState,
    patch?: RequestPatch,
    note?: AuditNote,
    /** `unexpired`: only while the request's expiry has not passed by the database's clock. */
    options?: { unexpired?: boolean },
  ): Promise<PromotionRequest | undefined>;
  updateRequest(id: string, patch: RequestPatch): Promise<PromotionRequest | undefined>;
  /** Records one approval per person; false when that person had approved already. */
  addApproval(approval: Approval, note?: AuditNote): Promise<boolean>;
  approvals(requestId: string): Promise<Approval[]>;
  /** Pending requests that have as many approvals as they need (a crash between approving and promoting). */
  fullyApprovedPending(): Promise<PromotionRequest[]>;
  /** Pending requests whose expiry has passed. */
  expiredRequests(now: Date): Promise<PromotionRequest[]>;
  /** The newest requests of a pipeline, newest first. */
  recentRequests(pipeline: string, limit: number): Promise<PromotionRequest[]>;
  /** The pipeline's last request that reached Heroku and finished (succeeded or failed). */
  lastFinishedPromotion(pipeline: string): Promise<PromotionRequest | undefined>;
}

/** Which request messages are posted and brought up to date (the claim on posting one, and the sweep's lists). */
export interface MessageLedgerStore {
  /**
   * Requests of the last day older than `graceMs` whose message was never posted (a crash), or whose
   * post was claimed more than `graceMs` ago (by the database's clock) and not recorded.
   */
  requestsWithoutMessage(graceMs: number): Promise<PromotionRequest[]>;
  /** Finished requests (before `finishedBefore`) whose message the sweep has not brought up to date yet. */
  /**
   * Requests that finished, or whose outcome became unknown, more than `settleMs` ago (by the
   * database's clock) and whose message the sweep has not brought up to date since.
   */
  unsettledMessages(settleMs: number, limit: number): Promise<PromotionRequest[]>;
  /** Records that a finished request's message was brought up to date after it finished. */
  markMessageSettled(id: string, state: RequestState, at: Date): Promise<void>;
  /**
   * Takes the job of posting a request's message (one process does it): granted when nobody holds it,
   * or when the last claim is older than `graceMs` by the database's clock.
   */
  claimMessagePosting(id: string, graceMs: number): Promise<PromotionRequest | undefined>;
}

/** The lease of the process acting on a promoting request, and the database's clock that times it. */
export interface PromotionLeaseStore {
  /**
   * The database's clock. Leases and the POST window are timed by it (every lease method below reads
   * it in the statement itself), so processes whose clocks disagree still agree on them.
   */
  databaseNow(): Promise<Date>;
  /** Takes the lease of one promoting request whose lease is free or ran out (or that `owner` holds). */
  claimPromotion(owner: string, leaseMs: number, requestId?: string): Promise<PromotionRequest | undefined>;
  /** Extends a lease `owner` still holds (not one that ran out); false when it does not hold it. */
  renewPromotionLease(id: string, owner: string, leaseMs: number): Promise<boolean>;
  /**
   * Records that `owner` is about to act (the database's time, and the targets' baseline), only while
   * it holds an unexpired lease of a promoting request: a process that lost its lease cannot act.
   */
  markPromotionStarted(
    id: string,
    owner: string,
    baseline: Record<string, number>,
  ): Promise<PromotionRequest | undefined>;
  releasePromotionLease(id: string, owner: string): Promise<void>;
}

/** What the bot knows of an app's releases: from Heroku's webhook events, its own actions and its reads. */
export interface AppView {
  app: AppRef;
  /** The release the app runs: the newest that succeeded. */
  current: Release | undefined;
  /** The newest release the view holds, whatever its status. */
  newest: Release | undefined;
  /** Every release the view holds of the app, newest first (the last 50 at most). */
  releases: Release[];
  /** The commit of `current`'s slug, when known. */
  commit: string | null;
  /** When the last Heroku webhook event about the app was processed (this process's clock). */
  lastEventAt: Date | null;
  /** When the app was last read from Heroku. */
  lastReadAt: Date | null;
  /** Release events applied so far: a follower compares it to see that something happened. */
  releaseEvents: number;
}

export interface ReleaseViewStore {
  /**
   * Records what Heroku said of a release. A report older than the one held (by Heroku's
   * `updated_at`) is ignored, so events that arrive out of order never move the view back. `moved`:
   * the report made this release the app's current one (the newest that succeeded), and what was.
   */
  recordRelease(
    release: AppRelease,
    source: "event" | "read" | "action",
    at: Date,
  ): Promise<{ applied: boolean; moved: { from: Release | undefined; to: Release } | null }>;
  /** Records that an event about the app (a dyno event, say) arrived: the app's events are flowing. */
  markAppEvent(app: AppRef, at: Date): Promise<void>;
  appViews(appIds: string[]): Promise<Map<string, AppView>>;
  /** Per app: when its last event came and how many release events were applied (a cheap look). */
  eventMarks(appIds: string[]): Promise<Map<string, { lastEventAt: Date | null; releaseEvents: number }>>;
  /** Slug commits never change: they are kept. */
  slugCommits(slugIds: string[]): Promise<Map<string, string | null>>;
  recordSlugCommit(slugId: string, commit: string | null): Promise<void>;
  /**
   * Claims the announcement of an app's release made outside the bot: true once per app and version,
   * and only for a version newer than any claimed before.
   */
  claimOutsideRelease(appId: string, version: number): Promise<boolean>;
  /** Hands a claim back (the announcement could not be posted), so that a retry may post it. */
  releaseOutsideClaim(appId: string, version: number): Promise<void>;
  /** The Heroku side of a pipeline as last read (for read-only views), and when. */
  pipelineTopology(name: string): Promise<{ side: PipelineTopology; readAt: Date } | undefined>;
  recordPipelineTopology(name: string, side: PipelineTopology, at: Date): Promise<void>;
}

export interface PipelineTopology {
  pipelineId: string;
  source: AppRef;
  targets: AppRef[];
}

export interface LockStore {
  getLock(pipeline: string): Promise<Lock | undefined>;
  /** Locks the pipeline unless it is locked; returns the lock in force. */
  lock(lock: Lock): Promise<{ created: boolean; lock: Lock }>;
  /** Removes the lock; returns it, or undefined when there was none. */
  unlock(pipeline: string): Promise<Lock | undefined>;
}

export interface AuditStore {
  audit(entry: AuditEntry): Promise<void>;
  /** Writes the row unless the same event by the same actor on the request was written within `withinMs`. */
  auditUnlessRecent(entry: AuditEntry, withinMs: number): Promise<boolean>;
  auditFor(requestId: string): Promise<AuditEntry[]>;
}

/**
 * Every aggregate's port over one database (adapters/store/). A use case that needs only some takes
 * those (e.g. `Pick<AppContext, "log"> & { store: RequestStore & AuditStore }`).
 */
export interface Store
  extends DeliveryStore,
    CandidateStore,
    RequestStore,
    MessageLedgerStore,
    PromotionLeaseStore,
    LockStore,
    AuditStore,
    ReleaseViewStore {
  /** Answers when the database does; throws otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type { AppRef, Approval, AppSettings, PromotionOutcome, PromotionRequest };
