/** What every use case is given: configuration, ports, clock, logger and timings. */
import type { PipelineConfig } from "../config.js";
import type { DriftReport } from "../domain/drift.js";
import type { AppRef, ChatPort, Clock, GitLabPort, HerokuPort, Store } from "../domain/ports.js";
import type { Logger } from "../infra/logger.js";
import type { RetryPolicy, Sleep } from "../infra/retry.js";
import type { TtlCache } from "../infra/ttl-cache.js";

export interface Tuning {
  /** How long to wait for staging to run a commit whose CI passed (the deploy may still be releasing). */
  stagingWaitMs: number;
  stagingFirstDelayMs: number;
  /** Promotion polling: first delay, growth factor, ceiling, and when to give up following it. */
  pollFirstMs: number;
  pollFactor: number;
  pollMaxMs: number;
  followLimitMs: number;
  /**
   * After a gitlab-job job succeeded: how long the target apps may take to show the new release it
   * made before the bot says the job succeeded but production did not change.
   */
  jobReleaseWaitMs: number;
  /** A promotion is followed by one process at a time under a lease of this length, renewed every third of it. */
  promotionLeaseMs: number;
  deliveryLeaseMs: number;
  /**
   * Every GitLab delivery gets this many attempts when processing fails for a reason that may pass
   * (Slack, Heroku or GitLab unavailable, a store error), retried with backoff from
   * `deliveryRetryFirstMs` doubling up to `deliveryRetryMaxMs`; then it is failed for good.
   */
  deliveryAttempts: number;
  deliveryRetryFirstMs: number;
  deliveryRetryMaxMs: number;
  /** Timeout of one Heroku or GitLab API call. */
  httpTimeoutMs: number;
  /** How long a POST /pipeline-promotions may take; a recovering process waits this long past an unrecorded POST. */
  promotionPostTimeoutMs: number;
  /**
   * How long after a POST /pipeline-promotions whose answer was lost its releases may take to appear on
   * the targets (a target is `pending` with `release: null` until then): only a lookup after this
   * long counts as "no trace". Heroku does not document the bound; this is the bot's assumption.
   */
  promotionTraceWindowMs: number;
  /** Background sweep: expiries, orphaned promotions, unprocessed deliveries. */
  sweepIntervalMs: number;
  userGroupCacheMs: number;
  /** A request whose message is still unposted this long after it was stored was interrupted; post it. */
  messageGraceMs: number;
  /** Timeout of one Slack Web API call (WebClient retries a failed one 3 times, 0.5 to 2 s apart). */
  slackTimeoutMs: number;
  /**
   * This long after a request finished, the sweep updates its message once more: whatever update a
   * failure or a race left last in Slack, the message ends showing the outcome.
   */
  messageSettleMs: number;
  /**
   * An app's release view is trusted this long after its last Heroku webhook event (HEROKU_EVENTS_FRESH_FOR);
   * without a recent event, views read Heroku.
   */
  herokuEventsFreshForMs: number;
  /**
   * While release events flow for a promotion's targets, Heroku is polled at most this often (the
   * events wake the follower as soon as something happens); without them, the usual backoff.
   */
  eventPollMaxMs: number;
  /** Retries of Heroku and GitLab calls that failed transiently (429, 5xx, network). */
  herokuRetry: RetryPolicy;
  gitlabRetry: RetryPolicy;
}

export const DEFAULT_TUNING: Tuning = {
  stagingWaitMs: 120_000,
  stagingFirstDelayMs: 5_000,
  pollFirstMs: 2_000,
  pollFactor: 1.5,
  // 2 s growing ×1.5 to one poll a minute: a 30-minute promotion costs 37 polls.
  pollMaxMs: 60_000,
  followLimitMs: 75 * 60_000,
  jobReleaseWaitMs: 2 * 60_000,
  promotionLeaseMs: 15_000,
  deliveryLeaseMs: 5 * 60_000,
  // 30 s, 1, 2, 4, 8 min: a delivery is retried over about a quarter of an hour.
  deliveryAttempts: 6,
  deliveryRetryFirstMs: 30_000,
  deliveryRetryMaxMs: 10 * 60_000,
  httpTimeoutMs: 15_000,
  promotionPostTimeoutMs: 15_000,
  promotionTraceWindowMs: 60_000,
  sweepIntervalMs: 10_000,
  userGroupCacheMs: 2 * 60_000,
  // Longer than a Slack call can take with its retries (4 × 10 s + 3.5 s): a sweep never posts a
  // second message while the creator's post is still on its way (found by the model-based test).
  messageGraceMs: 60_000,
  slackTimeoutMs: 10_000,
  messageSettleMs: 60_000,
  herokuEventsFreshForMs: 60 * 60_000,
  // A 30-minute promotion followed by events costs about 8 polls: at once, 2 s, 3 s, then every 5 min.
  eventPollMaxMs: 5 * 60_000,
  herokuRetry: { attempts: 5, baseMs: 1_000, maxMs: 30_000 },
  gitlabRetry: { attempts: 4, baseMs: 1_000, maxMs: 20_000 },
};

export interface AppContext {
  pipelines: PipelineConfig[];
  store: Store;
  heroku: HerokuPort;
  gitlab: GitLabPort;
  chat: ChatPort;
  clock: { now(): Date } & Clock;
  log: Logger;
  sleep: Sleep;
  newId: () => string;
  tuning: Tuning;
  /** This process, as lease owner. */
  instanceId: string;
  /** DRY_RUN: approved requests say what they would do instead of doing it. */
  dryRun: boolean;
  /** Heroku pipelines' apps by stage, for read-only views (requests always read them fresh). */
  herokuAppsCache: TtlCache<{ pipelineId: string; source: AppRef; targets: AppRef[] }>;
  /**
   * The last drift check of each pipeline for `/promote status`, with the count of release events of
   * its apps then: reused while events flow and none came since (a config var or add-on change is a
   * release), for at most an hour (a buildpack change makes no release until the next build).
   */
  driftCache: TtlCache<{ report: DriftReport; releaseEvents: number }>;
}

/** WebClient's retries of a failed Slack call (src/server.ts), 0.5, 1 and 2 s apart. */
export const SLACK_RETRIES = 3;

/**
 * The longest a Slack call can take before it fails (each attempt bounded by the timeout, the waits
 * between them 0.5, 1 and 2 s). Waiting out a 429's Retry-After is not bounded by it.
 */
export function slackCallBoundMs(tuning: Pick<Tuning, "slackTimeoutMs">): number {
  return (SLACK_RETRIES + 1) * tuning.slackTimeoutMs + 3_500;
}

/**
 * How long after a request's last change the sweep brings its message up to date once more: at least
 * as long as a Slack call can take, so that no update sent before the change (a render of the older
 * state, still being retried) can land after the sweep's and leave the message behind.
 */
export function messageSettleDelayMs(tuning: Pick<Tuning, "slackTimeoutMs" | "messageSettleMs">): number {
  return Math.max(tuning.messageSettleMs, slackCallBoundMs(tuning));
}
