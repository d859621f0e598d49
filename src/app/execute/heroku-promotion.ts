/**
 * Strategy heroku: POST /pipeline-promotions with the approved release, through the at-most-once
 * executor, then follow its targets with backoff until none is pending.
 *
 * The trace of a POST is a release of the approved slug on the targets, newer than what they had
 * just before it (the baseline). Heroku's promotion targets carry `release: null` while pending (its
 * CLI waits for the release to appear), so a trace may show up late: the lookup keeps looking for the
 * provider's window before it counts "no trace".
 */
import { DomainError } from "../../domain/errors.js";
import type { PromotionTarget, Release } from "../../domain/ports.js";
import type { AppRef, PromotionOutcome, PromotionRequest, TargetResult } from "../../domain/request.js";
import { errorText } from "../../views/error-text.js";
import { auditRequest } from "../audit.js";
import type { AppContext } from "../context.js";
import { checkDriftBeforeActing } from "../drift-check.js";
import { noteRelease } from "../release-view.js";
import { actAtMostOnce, followUntil, OutcomeUnknown, orUnknown } from "./at-most-once.js";
import { missingTarget, OUTPUT_LINES, releaseResult } from "./finish.js";
import { type LeaseKeeper, LeaseLost } from "./lease.js";

/** Clock skew allowed between the database and Heroku when matching releases to a promotion. */
const SKEW_MS = 5 * 60_000;
/** Releases read per target when looking for a trace or a change since the request. */
const RECENT = 20;

/** Where a person checks what Heroku did on an app. */
export const activityLink = (app: AppRef) =>
  `https://dashboard.heroku.com/apps/${encodeURIComponent(app.name)}/activity`;

const tooLong = (request: PromotionRequest) => (minutes: number) =>
  new OutcomeUnknown(
    `Heroku had not finished the promotion after ${minutes} minutes.`,
    request.targetApps[0] ? activityLink(request.targetApps[0]) : null,
  );

/** Promotes the approved release (or follows the promotion already made) and says how each target ended. */
export async function runPromotion(
  ctx: AppContext,
  lease: LeaseKeeper,
  claimed: PromotionRequest,
): Promise<PromotionOutcome> {
  let request = claimed;
  if (!request.promotionId) {
    // Taken when the request was made, in the same read that checked what production runs.
    const baseline = request.baseline ?? (await baselineOf(ctx, request));
    const acted = await actAtMostOnce(ctx, lease, {
      what: "creating the promotion",
      recoveringFrom: request.promotionStartedAt,
      // The releases of a promotion may appear on the targets well after the POST answered.
      traceWindowMs: Math.max(ctx.tuning.promotionPostTimeoutMs, ctx.tuning.promotionTraceWindowMs),
      fence: async () => {
        // Before every attempt (an earlier one left no trace, so nothing of this promotion is on the
        // targets): production may have changed meanwhile, a hotfix pushed while Heroku answered 503s.
        const changed = await checkedBeforeActing(ctx, request);
        if (changed.length > 0) {
          throw new DomainError("PRODUCTION_CHANGED", changedMessage(request, changed), { retryable: false });
        }
        // Once, before the first attempt: drift that appeared since the approval.
        if (!request.promotionStartedAt) await checkDriftBeforeActing(ctx, request);
        const marked = await ctx.store.markPromotionStarted(request.id, ctx.instanceId, baseline);
        if (!marked) throw new LeaseLost("the promotion lease was lost before posting");
        request = marked;
      },
      attempt: () =>
        ctx.heroku.createPromotion({
          pipelineId: request.herokuPipelineId,
          sourceAppId: request.sourceApp.id,
          sourceReleaseId: request.sourceReleaseId,
          targetAppIds: request.targetApps.map((a) => a.id),
        }),
      trace: () => earlierPromotion(ctx, request),
    });
    if ("traced" in acted) {
      await auditRequest(ctx, request, "promotion_recovered", null, {
        releases: [...acted.traced.values()].map((r) => r.id),
      }).catch((error: unknown) => ctx.log.error({ err: error, requestId: request.id }, "could not audit a recovery"));
      return followReleases(ctx, lease, request, acted.traced);
    }
    // Heroku accepted it: from here on nothing may fail the request; a store error leaves it promoting
    // (the recovery then recognises the promotion by its releases).
    const promotionId = acted.answered.id;
    request = (await ctx.store.updateRequest(request.id, { promotionId })) ?? { ...request, promotionId };
    await auditRequest(ctx, request, "promotion_created", null, { promotionId }).catch((error: unknown) =>
      ctx.log.error({ err: error, requestId: request.id }, "could not audit the created promotion"),
    );
    ctx.log.info({ requestId: request.id, promotionId }, "Heroku promotion created");
  }
  const promotionId = request.promotionId as string;
  const targets = await followUntil(
    ctx,
    lease,
    request.promotionStartedAt,
    async () => {
      const targets = await ctx.heroku.promotionTargets(promotionId);
      return targets.length > 0 && targets.every((target) => target.status !== "pending") ? targets : undefined;
    },
    tooLong(request),
    request.targetApps.map((app) => app.id),
  );
  return describeTargets(ctx, request, targets);
}

/**
 * What changed production since the request. Before any attempt, Heroku staying unreadable fails the
 * request (nothing was changed, and saying so is the truth); once an attempt was recorded (a process
 * that died), a failed read is "unknown": that attempt may have promoted already.
 */
async function checkedBeforeActing(ctx: AppContext, request: PromotionRequest): Promise<Change[]> {
  if (request.promotionStartedAt) return orUnknown(() => productionChanges(ctx, request));
  try {
    return await productionChanges(ctx, request);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    throw new DomainError(
      error.code,
      `Not promoted: before promoting, the bot checks what production runs, and Heroku could not be read (${errorText(error)}). Nothing was changed; ask again with \`/promote ${request.pipeline}\` once Heroku answers.`,
      { retryable: false },
    );
  }
}

/** Each target's newest release version now (pending and failed releases included). */
export async function baselineOf(ctx: AppContext, request: PromotionRequest): Promise<Record<string, number>> {
  const baseline: Record<string, number> = {};
  for (const app of request.targetApps) {
    const releases = await ctx.heroku.recentReleases(app.id, 5);
    baseline[app.id] = Math.max(0, ...releases.map((r) => r.version));
  }
  return baseline;
}

interface Change {
  app: AppRef;
  was: number;
  now: number;
}

/**
 * What changed the targets' code since the request was made (a hotfix pushed straight to production,
 * a rollback): a release that succeeded after the baseline with another build than the one that ran
 * then. Config var and add-on releases keep the build and do not count; nor does a release of the
 * approved build (the trace of an earlier attempt of this very promotion).
 */
async function productionChanges(ctx: AppContext, request: PromotionRequest): Promise<Change[]> {
  const baseline = request.baseline;
  if (!baseline) return [];
  const changes: Change[] = [];
  for (const app of request.targetApps) {
    const before = baseline[app.id];
    if (before === undefined) continue;
    const releases = await ctx.heroku.recentReleases(app.id, RECENT);
    const succeeded = releases.filter((r) => r.status === "succeeded").sort((a, b) => b.version - a.version);
    const then = succeeded.find((r) => r.version <= before);
    const since = succeeded.filter((r) => r.version > before && r.slugId !== request.slugId);
    // More releases since than were read: what ran then is out of sight, so it cannot be shown unchanged.
    const changed = then ? since.find((r) => r.slugId !== then.slugId) : since[0];
    if (changed) changes.push({ app, was: then?.version ?? before, now: changed.version });
  }
  return changes;
}

function changedMessage(request: PromotionRequest, changes: Change[]): string {
  const what = changes.map(
    (c) => `${c.app.name} runs another build now (v${c.now}, not v${c.was} as when it was requested)`,
  );
  return `Not promoted: production changed after this request was made: ${what.join("; ")}. Promoting would overwrite that change. Check what was deployed, then ask again with \`/promote ${request.pipeline}\`.`;
}

/**
 * Releases of the approved slug that Heroku made on the targets since the promotion was started:
 * the trace of a POST that reached Heroku. Undefined when there is none (posting is safe).
 */
async function earlierPromotion(ctx: AppContext, request: PromotionRequest): Promise<Map<string, Release> | undefined> {
  if (!request.slugId || !request.promotionStartedAt) return undefined;
  const since = request.promotionStartedAt.getTime() - SKEW_MS;
  const found = new Map<string, Release>();
  for (const app of request.targetApps) {
    const releases = await ctx.heroku.recentReleases(app.id, 10);
    const before = request.baseline?.[app.id];
    // Only a release newer than what the app had just before the POST can be its trace (an older
    // release of the same build, e.g. before a rollback, is not).
    const match = releases.find(
      (r) =>
        r.slugId === request.slugId && (before !== undefined ? r.version > before : Date.parse(r.createdAt) >= since),
    );
    if (match) found.set(app.id, match);
  }
  return found.size > 0 ? found : undefined;
}

/** Follows the target releases an earlier, unrecorded POST created, until none is pending. */
export async function followReleases(
  ctx: AppContext,
  lease: LeaseKeeper,
  request: PromotionRequest,
  earlier: Map<string, Release>,
  what = "promotion",
): Promise<PromotionOutcome> {
  const releases = await followUntil(
    ctx,
    lease,
    request.promotionStartedAt,
    async () => {
      const current = new Map<string, Release>();
      for (const [appId, release] of earlier) current.set(appId, await ctx.heroku.release(appId, release.id));
      const done = [...current.values()].every((r) => r.status !== "pending");
      if (done) await noteReleases(ctx, request, current);
      return done ? current : undefined;
    },
    (minutes) =>
      new OutcomeUnknown(
        `Heroku had not finished the ${what}'s releases after ${minutes} minutes.`,
        request.targetApps[0] ? activityLink(request.targetApps[0]) : null,
      ),
    [...earlier.keys()],
  );
  const results: TargetResult[] = [];
  for (const app of request.targetApps) {
    const release = releases.get(app.id);
    results.push(
      release
        ? await releaseResult(ctx, app, release)
        : missingTarget(app, "Heroku made no release of the approved build on this app"),
    );
  }
  return { targets: results, error: null };
}

async function describeTargets(
  ctx: AppContext,
  request: PromotionRequest,
  targets: PromotionTarget[],
): Promise<PromotionOutcome> {
  const results: TargetResult[] = [];
  for (const app of request.targetApps) {
    const target = targets.find((x) => x.appId === app.id);
    results.push(
      target
        ? await describeTarget(ctx, app, target)
        : missingTarget(app, "Heroku did not include this app in the promotion"),
    );
  }
  return { targets: results, error: null };
}

async function describeTarget(ctx: AppContext, app: AppRef, target: PromotionTarget): Promise<TargetResult> {
  let releaseVersion: number | null = null;
  let outputTail: string | null = null;
  if (target.releaseId) {
    try {
      const release = await ctx.heroku.release(app.id, target.releaseId);
      await noteRelease(ctx, { ...release, app }, "action", ctx.clock.now());
      releaseVersion = release.version;
      if (target.status === "failed" && release.outputStreamUrl) {
        outputTail = await ctx.heroku.releaseOutputTail(release.outputStreamUrl, OUTPUT_LINES);
      }
    } catch (error) {
      ctx.log.warn({ err: error, app: app.name }, "could not read the promoted release");
    }
  }
  return {
    app,
    status: target.status,
    releaseId: target.releaseId,
    releaseVersion,
    errorMessage: target.errorMessage,
    outputTail,
  };
}

/** What the bot's own change made, into the release view (so views need not read it back). */
async function noteReleases(ctx: AppContext, request: PromotionRequest, releases: Map<string, Release>): Promise<void> {
  for (const app of request.targetApps) {
    const release = releases.get(app.id);
    if (release) await noteRelease(ctx, { ...release, app }, "action", ctx.clock.now());
  }
}
