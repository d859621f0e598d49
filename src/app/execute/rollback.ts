/**
 * Rolling the target apps back (POST /apps/{app}/releases with the earlier release), each through the
 * at-most-once executor. The trace of a rollback is a release of the rollback's build newer than the
 * one the app ran when the rollback was requested. An app that changed since the request is left alone.
 */
import { DomainError } from "../../domain/errors.js";
import type { Release } from "../../domain/ports.js";
import type {
  PromotionOutcome,
  PromotionRequest,
  RollbackRequest,
  RollbackTarget,
  TargetResult,
} from "../../domain/request.js";
import { errorText } from "../../views/error-text.js";
import { auditRequest } from "../audit.js";
import type { AppContext } from "../context.js";
import { actAtMostOnce, orUnknown, waitOutWindow } from "./at-most-once.js";
import { missingTarget } from "./finish.js";
import { followReleases } from "./heroku-promotion.js";
import { type LeaseKeeper, LeaseLost } from "./lease.js";

export async function runRollback(
  ctx: AppContext,
  lease: LeaseKeeper,
  claimed: RollbackRequest,
): Promise<PromotionOutcome> {
  let request: PromotionRequest = claimed;
  const targets = claimed.rollbackTo;
  const recoveringFrom = request.promotionStartedAt;
  if (recoveringFrom) {
    // Once for every target: the dead process may have been rolling any of them back.
    await waitOutWindow(ctx, recoveringFrom);
  } else {
    const baseline = Object.fromEntries(targets.map((t) => [t.app.id, t.fromVersion]));
    const marked = await ctx.store.markPromotionStarted(request.id, ctx.instanceId, baseline);
    if (!marked) throw new LeaseLost("the promotion lease was lost before rolling back");
    request = marked;
  }
  const made = new Map<string, Release>();
  const refused: TargetResult[] = [];
  for (const target of targets) {
    let release: Release | string;
    try {
      release = await rollBackOne(ctx, lease, request, target, recoveringFrom !== null);
    } catch (error) {
      // Some apps were already rolled back: report each app as it stands. (An unknown outcome, a lost
      // lease or shutting down are not a refusal: they leave the request to be taken up again.)
      if (!(error instanceof DomainError) || (made.size === 0 && refused.length === 0)) throw error;
      refused.push(missingTarget(target.app, errorText(error)));
      continue;
    }
    if (typeof release === "string") {
      refused.push(missingTarget(target.app, release));
      continue;
    }
    made.set(target.app.id, release);
  }
  const followed =
    made.size > 0 ? await followReleases(ctx, lease, request, made, "rollback") : { targets: [], error: null };
  const results = request.targetApps.map(
    (app) =>
      followed.targets.find((t) => t.app.id === app.id && made.has(app.id)) ??
      refused.find((t) => t.app.id === app.id) ??
      missingTarget(app, "not rolled back"),
  );
  return { targets: results, error: null };
}

/** Rolls one app back, at most once; a string says why it was left alone. */
async function rollBackOne(
  ctx: AppContext,
  lease: LeaseKeeper,
  request: PromotionRequest,
  target: RollbackTarget,
  recovering: boolean,
): Promise<Release | string> {
  const recent = () => ctx.heroku.recentReleases(target.app.id, 10);
  const trace = async () => (await recent()).find((r) => r.slugId === target.slugId && r.version > target.fromVersion);
  if (recovering) {
    const earlier = await orUnknown(trace);
    if (earlier) return earlier;
  }
  // Approval takes time: if the app changed meanwhile (a hotfix), rolling back would drop that too.
  const releases = await orUnknown(recent);
  const current = releases.find((r) => r.current);
  if (current && current.version !== target.fromVersion) {
    return `not rolled back: it runs v${current.version} now, not v${target.fromVersion} as when the rollback was requested`;
  }
  // Nor may Heroku have stopped keeping the release to go back to (its build expired meanwhile).
  const back = releases.find((r) => r.id === target.releaseId);
  if (back && (back.status === "expired" || !back.eligibleForRollback)) {
    return `not rolled back: Heroku says v${target.version} can no longer be rolled back to (its build is no longer kept); fix forward with \`/promote ${request.pipeline}\``;
  }
  const acted = await actAtMostOnce(ctx, lease, {
    what: `rolling back ${target.app.name}`,
    recoveringFrom: null,
    fence: () => lease.fence(),
    attempt: () => ctx.heroku.rollback(target.app.id, target.releaseId),
    trace,
  });
  const release = "answered" in acted ? acted.answered : acted.traced;
  await auditRequest(ctx, request, "rollback_created", null, {
    app: target.app.name,
    release: release.version,
  }).catch((error: unknown) => ctx.log.error({ err: error, requestId: request.id }, "could not audit a rollback"));
  return release;
}
