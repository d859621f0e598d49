/**
 * Processing a recorded Heroku app webhook event (issue 15), off the request path:
 *
 * - every release event updates the release view (out-of-order reports are ignored there);
 * - when a target app's current release moves forward and the bot did not make it, the pipeline's
 *   channel is told (once per app and version), and a pending request's message says production
 *   changed under it (the executor refuses to promote over such a change anyway);
 * - when a source app's current release moves forward, staging-ready messages of older releases are
 *   superseded;
 * - dyno events mark the app's events as flowing (issue 16 reads their states).
 */
import type { PipelineConfig } from "../config.js";
import type { HerokuEvent } from "../domain/heroku-events.js";
import type { AppRelease, Release } from "../domain/ports.js";
import type { AppRef, PromotionRequest } from "../domain/request.js";
import { outsideReleaseMessage } from "../views/outside-release.js";
import { supersededMessage } from "../views/staging-messages.js";
import type { AppContext } from "./context.js";
import { refreshRequestMessage } from "./decide.js";
import { pipelineView } from "./pipelines.js";
import { commitOf, productionChangesSeen, storedSide } from "./release-view.js";

export type HerokuEventOutcome =
  | "recorded"
  | "stale"
  | "dyno"
  | "unknown-app"
  | "production-changed-by-bot"
  | "production-changed-outside"
  | "already-announced"
  | "staging-moved";

export async function onHerokuEvent(ctx: AppContext, event: HerokuEvent): Promise<HerokuEventOutcome[]> {
  if (event.kind === "other") return [];
  if (event.kind === "dyno") {
    await ctx.store.markAppEvent(event.app, ctx.clock.now());
    return ["dyno"];
  }
  const release = event.release;
  const { applied, moved } = await ctx.store.recordRelease(release, "event", ctx.clock.now());
  if (!applied) return ["stale"];
  if (!moved) return ["recorded"];
  const { from: before, to: after } = moved;
  // A config-var or add-on release keeps the slug: production runs the same code. A container release
  // has no slug, so a new image cannot be told from a config change: it counts as a new build (better
  // a notice too many about production than a hotfix unseen). With nothing known of the app before
  // (its releases never read: the start-up read failed), nothing can be compared: no notice.
  const newBuild = before !== undefined && (after.slugId === null || before.slugId !== after.slugId);
  const outcomes: HerokuEventOutcome[] = [];
  for (const pipelineConfig of ctx.pipelines) {
    const role = await roleOf(ctx, pipelineConfig, release.app);
    if (role === "target" && newBuild) {
      outcomes.push(await onProductionMoved(ctx, pipelineConfig, { ...after, app: release.app }));
    }
    if (role === "source" && pipelineConfig.strategy === "heroku") {
      await onStagingMoved(ctx, pipelineConfig, after);
      outcomes.push("staging-moved");
    }
  }
  return outcomes.length > 0 ? outcomes : ["unknown-app"];
}

async function roleOf(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  app: AppRef,
): Promise<"source" | "target" | null> {
  // From the stored topology only: an event never spends Heroku calls (with 100 pipelines, the first
  // event on a fresh store would otherwise read them all). A pipeline the bot never read (no list,
  // status, request or staging message yet) cannot be matched; its app's release is still recorded.
  const side = await storedSide(ctx, pipelineConfig);
  if (!side) return null;
  if (side.source.id === app.id) return "source";
  return side.targets.some((t) => t.id === app.id) ? "target" : null;
}

async function onProductionMoved(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  release: AppRelease,
): Promise<HerokuEventOutcome> {
  const log = ctx.log.child({ pipeline: pipelineConfig.name, app: release.app.name, version: release.version });
  if (await madeByBot(ctx, pipelineConfig, release)) return "production-changed-by-bot";
  if (!(await ctx.store.claimOutsideRelease(release.app.id, release.version))) return "already-announced";
  const commit = await commitOf(ctx, release.app.id, release.slugId).catch(() => null);
  try {
    await ctx.chat.post(
      pipelineConfig.channel,
      outsideReleaseMessage({
        pipeline: pipelineConfig.name,
        change: {
          appName: release.app.name,
          version: release.version,
          madeBy: release.madeBy ?? null,
          description: release.description,
          commit,
          at: release.createdAt,
        },
      }),
    );
  } catch (error) {
    // Handed back, so that the delivery's retry announces it.
    await ctx.store.releaseOutsideClaim(release.app.id, release.version);
    throw error;
  }
  log.info({ madeBy: release.madeBy }, "production changed outside the bot; announced");
  const active = await ctx.store.activeRequest(pipelineConfig.name);
  if (active?.state === "pending" && active.messageTs && (await productionChangesSeen(ctx, active)).length > 0) {
    await refreshRequestMessage(ctx, active).catch((error: unknown) =>
      log.warn({ err: error, requestId: active.id }, "could not mark a pending request's message"),
    );
  }
  return "production-changed-outside";
}

/**
 * Whether the release is the bot's own: a promotion or rollback it is running or just finished, or a
 * gitlab-job request's deploy. Unsure counts as the bot's: a missed announcement costs less than a
 * false alarm about the bot's own change (and the executor checks production before acting).
 */
async function madeByBot(ctx: AppContext, pipelineConfig: PipelineConfig, release: AppRelease): Promise<boolean> {
  const active = await ctx.store.activeRequest(pipelineConfig.name);
  if (active && (active.state === "promoting" || active.state === "unknown") && ours(active, release)) return true;
  const last = await ctx.store.lastFinishedPromotion(pipelineConfig.name);
  return last !== undefined && ours(last, release, true);
}

function ours(request: PromotionRequest, release: AppRelease, finished = false): boolean {
  if (!request.targetApps.some((a) => a.id === release.app.id)) return false;
  const started = request.promotionStartedAt?.getTime();
  // A release Heroku created before the bot acted is not the bot's (5 minutes of clock skew allowed).
  if (started === undefined || Date.parse(release.createdAt) < started - 5 * 60_000) return false;
  if (finished) {
    const recorded = request.outcome?.targets.find((t) => t.app.id === release.app.id);
    if (recorded?.releaseId) return recorded.releaseId === release.id;
    // An outcome without release ids (recorded by a person): within an hour of the end, by build.
    if (!request.finishedAt || Date.parse(release.createdAt) > request.finishedAt.getTime() + 60 * 60_000) return false;
  }
  if (request.kind === "gitlab-job") return true;
  if (request.kind === "rollback") {
    return request.rollbackTo.some((t) => t.app.id === release.app.id && t.slugId === release.slugId);
  }
  return release.slugId !== null && release.slugId === request.slugId;
}

/** Staging runs a newer release: announcements of older ones lose their button. */
async function onStagingMoved(ctx: AppContext, pipelineConfig: PipelineConfig, current: Release): Promise<void> {
  for (const candidate of await ctx.store.liveCandidates(pipelineConfig.name)) {
    if (candidate.gitlabJob || candidate.releaseId === current.id || candidate.releaseVersion >= current.version)
      continue;
    const superseded = await ctx.store.transitionCandidate(candidate.id, ["live"], "superseded", {
      supersededBy: current.version,
    });
    if (!superseded || !candidate.messageTs) continue;
    await ctx.chat
      .update(
        candidate.channel,
        candidate.messageTs,
        supersededMessage({ pipeline: pipelineView(pipelineConfig), candidate, newVersion: current.version }),
      )
      .catch((error: unknown) =>
        ctx.log.warn({ err: error, candidate: candidate.id }, "could not mark a staging message superseded"),
      );
  }
}
