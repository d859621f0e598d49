/**
 * The invariants of issue 13, checked after a history against the stand-ins' own records (what Heroku
 * did to production, what Slack shows), never against the bot's store. The model supplies only what the
 * people did and what that entitles the bot to do: which requests were approved, by whom, and when.
 *
 * Pure: it takes plain records, so a test can feed it a fabricated world and expect a violation.
 */

/** A request as the people's model knows it (keyed by its Slack message). */
export interface ModelRequestRecord {
  /** The Slack ts of the request's message: the request's identity as people see it. */
  ts: string;
  /** The request id its buttons carried, when they were seen: two messages with one id are one request shown twice. */
  requestId?: string | null;
  requester: string;
  releaseId: string;
  releaseVersion: number;
  /** The step at which it was asked for. */
  askedAtStep: number;
  /**
   * The step at which the last approval the policy needs was given, with every approval counted by a
   * distinct approver other than the requester (unless self-approval is allowed), while the request
   * was open (not rejected, cancelled or expired) and with every lock in force covered by its override.
   * null: the people never approved it.
   */
  approvedAtStep: number | null;
  /** Why it is not approved, for the report (e.g. "1 of 2 approvals", "rejected at step 4"). */
  approvalNote: string;
}

/** One `POST /pipeline-promotions` that Heroku acted on, from the Heroku stand-in's records. */
export interface HerokuPromotionRecord {
  id: string;
  sourceReleaseId: string;
  /** The model step during (or before) which Heroku created it. */
  createdAtStep: number;
  targets: Array<{ appId: string; status: "pending" | "succeeded" | "failed"; releaseId: string | null }>;
}

/** A release of the production app created during the history, from the Heroku stand-in. */
export interface ProductionReleaseRecord {
  id: string;
  version: number;
  status: string;
  description: string;
}

/** What the Slack stand-in shows for a request's message now. */
export interface SlackRequestRecord {
  ts: string;
  /** Parsed from the message's text: pending, promoting, succeeded, failed, unknown, rejected, cancelled, expired, partly-failed. */
  shownState: string;
  /** For "unknown": whether the message offers approvers the way out (record what happened, try again). */
  wayOut?: boolean;
}

export interface HistoryRecords {
  requests: ModelRequestRecord[];
  promotions: HerokuPromotionRecord[];
  productionReleases: ProductionReleaseRecord[];
  messages: SlackRequestRecord[];
  /** Production changes people made themselves (a hotfix pushed straight to production). */
  hotfixes?: Array<{ step: number; releaseId: string }>;
  /** Requests the bot told their requester it made whose message never appeared in the channel. */
  unpostedRequests?: number;
}

export type InvariantName =
  | "approved-before-change"
  | "at-most-once"
  | "exact-release"
  | "ends-terminal"
  | "honest-outcome"
  | "no-overwrite"
  | "one-message";

export interface Violation {
  invariant: InvariantName;
  message: string;
}

// "unknown" counts only with its way out (the approvers' buttons), checked below.
const TERMINAL_AFTER_APPROVAL = new Set(["succeeded", "failed", "partly-failed", "unknown"]);
const NOT_PROMOTED_STATES = new Set(["rejected", "cancelled", "expired"]);

export function checkInvariants(records: HistoryRecords): Violation[] {
  const violations: Violation[] = [];
  const shown = new Map(records.messages.map((m) => [m.ts, m.shownState]));
  for (const m of records.messages) {
    if (m.shownState === "unknown" && !m.wayOut) {
      violations.push({
        invariant: "ends-terminal",
        message: `request ${m.ts} shows "outcome unknown" without the approvers' way out (record it, try again)`,
      });
    }
  }
  // Each production change is matched to one approved request of that very release, approved no later
  // than the step in which Heroku saw it (greedy in order: requests of one pipeline come one at a time).
  const matched = new Map<string, HerokuPromotionRecord>();
  const promotions = [...records.promotions].sort((a, b) => a.createdAtStep - b.createdAtStep);
  for (const promotion of promotions) {
    const candidates = records.requests.filter(
      (r) =>
        r.releaseId === promotion.sourceReleaseId &&
        r.approvedAtStep !== null &&
        r.approvedAtStep <= promotion.createdAtStep,
    );
    const free = candidates.find((r) => !matched.has(r.ts));
    if (free) {
      matched.set(free.ts, promotion);
      // Approvers approved against what production ran when it was asked for; a hotfix since (strictly
      // before the step in which Heroku was asked) must stop the promotion, not be overwritten by it.
      const overwritten = (records.hotfixes ?? []).filter(
        (h) => h.step >= free.askedAtStep && h.step < promotion.createdAtStep,
      );
      if (overwritten.length > 0) {
        violations.push({
          invariant: "no-overwrite",
          message: `promotion ${promotion.id} (step ${promotion.createdAtStep}) of the request at ${free.ts} (asked at step ${free.askedAtStep}) overwrote the production hotfix of step ${overwritten.map((h) => h.step).join(", ")}`,
        });
      }
      continue;
    }
    if (candidates.length > 0) {
      violations.push({
        invariant: "at-most-once",
        message: `promotion ${promotion.id} (step ${promotion.createdAtStep}) is a second production change for the request at ${candidates.map((c) => c.ts).join(", ")}: Heroku was asked twice for one approval`,
      });
      continue;
    }
    const sameRelease = records.requests.filter((r) => r.releaseId === promotion.sourceReleaseId);
    violations.push({
      invariant: "approved-before-change",
      message: `promotion ${promotion.id} (step ${promotion.createdAtStep}) changed production to release ${promotion.sourceReleaseId} without the approvals the policy needs${
        sameRelease.length > 0
          ? `: ${sameRelease.map((r) => `request ${r.ts} by ${r.requester}: ${r.approvalNote}`).join("; ")}`
          : ": no request for that release"
      }`,
    });
  }

  // Every release production got came from a promotion of an approved release (or from the model's own hotfix).
  const promotedReleaseIds = new Set(
    records.promotions.flatMap((p) => p.targets.map((t) => t.releaseId).filter((id): id is string => id !== null)),
  );
  const allowed = new Set((records.hotfixes ?? []).map((h) => h.releaseId));
  for (const release of records.productionReleases) {
    if (promotedReleaseIds.has(release.id) || allowed.has(release.id)) continue;
    violations.push({
      invariant: "exact-release",
      message: `production release v${release.version} (${release.description}, ${release.status}) came from no promotion of an approved release`,
    });
  }

  // One request, one message: a second message of the same request is never updated again, and keeps
  // showing whatever it showed (with live buttons) however the request ends.
  const byId = new Map<string, string[]>();
  for (const r of records.requests) {
    if (r.requestId) byId.set(r.requestId, [...(byId.get(r.requestId) ?? []), r.ts]);
  }
  for (const [id, messages] of byId) {
    if (messages.length > 1) {
      violations.push({
        invariant: "one-message",
        message: `request ${id} has ${messages.length} messages (${messages.map((ts) => `${ts}: "${shown.get(ts)}"`).join(", ")})`,
      });
    }
  }
  if ((records.unpostedRequests ?? 0) > 0) {
    violations.push({
      invariant: "one-message",
      message: `${records.unpostedRequests} request(s) the requester was told were made never got a message in the channel`,
    });
  }
  const duplicates = new Set([...byId.values()].flatMap((messages) => messages.slice(1)));

  for (const request of records.requests) {
    if (duplicates.has(request.ts)) continue;
    const state = shown.get(request.ts) ?? "missing";
    const promotion = matched.get(request.ts);
    const changed = promotion?.targets.some((t) => t.status === "succeeded") ?? false;
    const anyFailed = promotion ? promotion.targets.some((t) => t.status !== "succeeded") : true;
    if (request.approvedAtStep !== null && !TERMINAL_AFTER_APPROVAL.has(state)) {
      violations.push({
        invariant: "ends-terminal",
        message: `request ${request.ts} (v${request.releaseVersion}, approved at step ${request.approvedAtStep}) shows "${state}" after the faults stopped, not an outcome`,
      });
    }
    if (request.approvedAtStep === null && !NOT_PROMOTED_STATES.has(state) && state !== "missing") {
      // Not approved by the people, yet the message shows it went ahead (the promotion itself, if any,
      // is reported by approved-before-change).
      violations.push({
        invariant: "ends-terminal",
        message: `request ${request.ts} (v${request.releaseVersion}) was never approved (${request.approvalNote}) but shows "${state}"`,
      });
    }
    if (state === "succeeded" && (anyFailed || !changed)) {
      violations.push({
        invariant: "honest-outcome",
        message: `request ${request.ts} shows "succeeded" but ${promotion ? `targets are ${promotion.targets.map((t) => t.status).join(", ")}` : "production was not changed for it"}`,
      });
    }
    if ((state === "failed" || state === "partly-failed") && changed && !anyFailed) {
      violations.push({
        invariant: "honest-outcome",
        message: `request ${request.ts} shows "${state}" but production changed: promotion ${promotion?.id} succeeded on every target`,
      });
    }
    if (NOT_PROMOTED_STATES.has(state) && promotion) {
      violations.push({
        invariant: "honest-outcome",
        message: `request ${request.ts} shows "${state}" but Heroku promotion ${promotion.id} was made for it`,
      });
    }
  }
  return violations;
}

/** The request state a request message's text states (`views/messages.ts` requestMessage's fallback text). */
export function shownStateOf(text: string): string | undefined {
  const match =
    /^[^:]+: (pending|promoting|succeeded|failed|unknown|dry_run|rejected|cancelled|expired|promotion partly failed) — /.exec(
      text,
    );
  if (!match) return undefined;
  return match[1] === "promotion partly failed" ? "partly-failed" : match[1];
}
