/**
 * Running an approved request: POST /pipeline-promotions with the approved release, then follow
 * its targets with backoff until none is pending, under a lease so one process follows it at a time.
 *
 * The window between deciding to promote and recording Heroku's promotion id is covered by
 * `promotionStartedAt`: a process that finds it set without a promotion id asks Heroku whether the
 * targets already run the approved slug before posting again, so a release is never promoted twice.
 */
import { DomainError } from "../domain/errors.js";
import type { PromotionTarget } from "../domain/ports.js";
import {
  type AppRef,
  outcomeState,
  type PromotionOutcome,
  type PromotionRequest,
  type TargetResult,
} from "../domain/request.js";
import { outcomeReply } from "../views/messages.js";
import { auditRequest } from "./audit.js";
import type { AppContext } from "./context.js";
import { refreshRequestMessage } from "./decide.js";
import { isStopping } from "./stopping.js";

const OUTPUT_LINES = 15;

class LeaseLost extends Error {}

/** Follows (or starts) the promotion of a request this process holds the lease of. */
export async function executePromotion(ctx: AppContext, claimed: PromotionRequest): Promise<void> {
  const log = ctx.log.child({ requestId: claimed.id, pipeline: claimed.pipeline });
  let request = claimed;
  try {
    if (!request.promotionId) {
      const started = await startPromotion(ctx, request);
      if ("outcome" in started) {
        await finish(ctx, request, started.outcome);
        return;
      }
      request = started.request;
    }
    const targets = await follow(ctx, request);
    await finish(ctx, request, await describeTargets(ctx, request, targets));
  } catch (error) {
    if (isStopping(error)) {
      log.info("shutting down; the promotion will be followed on by the next process");
      return;
    }
    if (error instanceof LeaseLost) {
      log.warn("lost the promotion lease to another process; it carries on");
      return;
    }
    const reason =
      error instanceof DomainError
        ? error.message
        : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    log.error({ err: error, code: error instanceof DomainError ? error.code : undefined }, "promotion failed");
    await finish(ctx, request, { targets: [], error: reason });
  } finally {
    await ctx.store.releasePromotionLease(claimed.id, ctx.instanceId).catch(() => {});
  }
}

async function renew(ctx: AppContext, request: PromotionRequest): Promise<void> {
  const held = await ctx.store.renewPromotionLease(
    request.id,
    ctx.instanceId,
    ctx.clock.now(),
    ctx.tuning.promotionLeaseMs,
  );
  if (!held) throw new LeaseLost();
}

/** Do the target apps already run the approved slug? (Then an earlier attempt's POST reached Heroku.) */
async function alreadyPromoted(ctx: AppContext, request: PromotionRequest): Promise<PromotionOutcome | undefined> {
  if (!request.slugId) return undefined;
  const results: TargetResult[] = [];
  for (const app of request.targetApps) {
    const current = await ctx.heroku.currentRelease(app.id);
    if (!current || current.slugId !== request.slugId) return undefined;
    results.push({
      app,
      status: "succeeded",
      releaseId: current.id,
      releaseVersion: current.version,
      errorMessage: null,
      outputTail: null,
    });
  }
  return { targets: results, error: null };
}

async function startPromotion(
  ctx: AppContext,
  request: PromotionRequest,
): Promise<{ request: PromotionRequest } | { outcome: PromotionOutcome }> {
  if (request.promotionStartedAt) {
    const done = await alreadyPromoted(ctx, request);
    if (done) return { outcome: done };
  }
  let attempt = 0;
  for (;;) {
    await renew(ctx, request);
    const marked = await ctx.store.updateRequest(request.id, { promotionStartedAt: ctx.clock.now() });
    try {
      const promotion = await ctx.heroku.createPromotion({
        pipelineId: request.herokuPipelineId,
        sourceAppId: request.sourceApp.id,
        sourceReleaseId: request.sourceReleaseId,
        targetAppIds: request.targetApps.map((a) => a.id),
      });
      const updated = (await ctx.store.updateRequest(request.id, { promotionId: promotion.id })) ?? marked ?? request;
      await auditRequest(ctx, updated, "promotion_created", null, { promotionId: promotion.id });
      ctx.log.info({ requestId: request.id, promotionId: promotion.id }, "Heroku promotion created");
      return { request: updated };
    } catch (error) {
      const retryable = error instanceof DomainError && error.details.retryable === true;
      attempt += 1;
      if (!retryable || attempt >= 4) throw error;
      // A 5xx or a dropped connection may still have created the promotion: look before posting again.
      await ctx.sleep(Math.min(ctx.tuning.pollMaxMs, ctx.tuning.pollFirstMs * 2 ** attempt));
      const done = await alreadyPromoted(ctx, request);
      if (done) return { outcome: done };
      ctx.log.warn({ err: error, attempt }, "creating the promotion failed; trying again");
    }
  }
}

async function follow(ctx: AppContext, request: PromotionRequest): Promise<PromotionTarget[]> {
  const promotionId = request.promotionId as string;
  const started = (request.promotionStartedAt ?? ctx.clock.now()).getTime();
  let delay = ctx.tuning.pollFirstMs;
  for (;;) {
    await renew(ctx, request);
    let targets: PromotionTarget[] | undefined;
    try {
      targets = await ctx.heroku.promotionTargets(promotionId);
    } catch (error) {
      // The promotion runs on at Heroku whatever happens here; keep following unless Heroku says no.
      if (!(error instanceof DomainError && error.details.retryable === true)) throw error;
      ctx.log.warn({ err: error, promotionId }, "could not read the promotion's targets; will look again");
    }
    if (targets && targets.length > 0 && targets.every((t) => t.status !== "pending")) return targets;
    if (ctx.clock.now().getTime() - started > ctx.tuning.followLimitMs) {
      throw new DomainError(
        "HEROKU_UNAVAILABLE",
        `Heroku had not finished the promotion after ${Math.round(ctx.tuning.followLimitMs / 60_000)} minutes; check the apps' activity in the Heroku dashboard.`,
      );
    }
    await ctx.sleep(delay);
    delay = Math.min(ctx.tuning.pollMaxMs, Math.round(delay * ctx.tuning.pollFactor));
  }
}

async function describeTargets(
  ctx: AppContext,
  request: PromotionRequest,
  targets: PromotionTarget[],
): Promise<PromotionOutcome> {
  const results: TargetResult[] = [];
  for (const app of request.targetApps) {
    const t = targets.find((x) => x.appId === app.id);
    results.push(await describeTarget(ctx, app, t));
  }
  return { targets: results, error: null };
}

async function describeTarget(ctx: AppContext, app: AppRef, t: PromotionTarget | undefined): Promise<TargetResult> {
  if (!t) {
    return {
      app,
      status: "failed",
      releaseId: null,
      releaseVersion: null,
      errorMessage: "Heroku did not include this app in the promotion",
      outputTail: null,
    };
  }
  let releaseVersion: number | null = null;
  let outputTail: string | null = null;
  if (t.releaseId) {
    try {
      const release = await ctx.heroku.release(app.id, t.releaseId);
      releaseVersion = release.version;
      if (t.status === "failed" && release.outputStreamUrl) {
        outputTail = await ctx.heroku.releaseOutputTail(release.outputStreamUrl, OUTPUT_LINES);
      }
    } catch (error) {
      ctx.log.warn({ err: error, app: app.name }, "could not read the promoted release");
    }
  }
  return {
    app,
    status: t.status,
    releaseId: t.releaseId,
    releaseVersion,
    errorMessage: t.errorMessage,
    outputTail,
  };
}

async function finish(ctx: AppContext, request: PromotionRequest, outcome: PromotionOutcome): Promise<void> {
  const state = outcomeState(outcome);
  const done = await ctx.store.transitionRequest(request.id, ["promoting"], state, {
    outcome,
    finishedAt: ctx.clock.now(),
  });
  if (!done) return;
  ctx.log.info(
    {
      requestId: done.id,
      pipeline: done.pipeline,
      state,
      targets: outcome.targets.map((t) => `${t.app.name}:${t.status}`),
    },
    "promotion finished",
  );
  await auditRequest(ctx, done, state, null, {
    targets: outcome.targets.map((t) => ({
      app: t.app.name,
      status: t.status,
      version: t.releaseVersion,
      error: t.errorMessage,
    })),
    ...(outcome.error ? { error: outcome.error } : {}),
  });
  try {
    await refreshRequestMessage(ctx, done);
    if (done.messageTs) await ctx.chat.post(done.channel, outcomeReply(done), done.messageTs);
  } catch (error) {
    ctx.log.error({ err: error, requestId: done.id }, "could not report the promotion's outcome in Slack");
  }
}
