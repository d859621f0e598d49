/**
 * What the apps run, for read-only views (list, status, App Home, staging-ready messages): from the
 * release view while Heroku's webhook events flow for those apps, from Heroku otherwise (issue 15).
 *
 * An app's view is trusted only while its last event is recent (`herokuEventsFreshForMs`): without
 * events (webhooks not set up, or missed) every view reads Heroku, so correctness never depends on a
 * webhook arriving. A read costs one `GET /pipelines/{id}/latest-releases` for all apps of a pipeline
 * (plus a release list for an app whose newest release is not its current one), and what it finds is
 * recorded. Requests and the executor never decide on the view: they read Heroku.
 */
import type { PipelineConfig } from "../config.js";
import type { AppRelease, AppView, PipelineTopology, Release } from "../domain/ports.js";
import type { AppRef, PromotionRequest } from "../domain/request.js";
import { mapLimit } from "../infra/map-limit.js";
import type { OutsideChange } from "../views/outside-release.js";
import type { AppContext } from "./context.js";
import { herokuSide } from "./pipelines.js";

export type ViewContext = Pick<AppContext, "heroku" | "store" | "clock" | "log" | "tuning" | "herokuAppsCache">;

/**
 * Couplings change rarely: read-only views use the stored topology up to a day old. Every request reads
 * it fresh from Heroku and stores what it read, so a re-coupled app shows at the next request at the latest.
 */
const TOPOLOGY_MAX_AGE_MS = 24 * 60 * 60_000;

export interface AppState {
  app: AppRef;
  release: Release | undefined;
  commit: string | null;
  /** Where it came from: the event-fed view, or a read of Heroku just now. */
  from: "view" | "heroku";
}

/** The pipeline's apps by stage, for read-only views: from memory, the store, or Heroku. */
export async function viewSide(ctx: ViewContext, pipelineConfig: PipelineConfig): Promise<PipelineTopology> {
  return ctx.herokuAppsCache.getOrLoad(pipelineConfig.name, async () => {
    const stored = await ctx.store.pipelineTopology(pipelineConfig.name);
    if (stored && ctx.clock.now().getTime() - stored.readAt.getTime() < TOPOLOGY_MAX_AGE_MS) return stored.side;
    const side = await herokuSide(ctx, pipelineConfig);
    await recordTopology(ctx, pipelineConfig, side);
    return side;
  });
}

/**
 * The pipeline's apps as last read, from memory or the store, never from Heroku: for work that must
 * not spend Heroku calls (a webhook event). Undefined for a pipeline never read.
 */
export async function storedSide(
  ctx: Pick<ViewContext, "store" | "herokuAppsCache">,
  pipelineConfig: PipelineConfig,
): Promise<PipelineTopology | undefined> {
  const cached = ctx.herokuAppsCache.get(pipelineConfig.name);
  if (cached) return cached;
  const stored = await ctx.store.pipelineTopology(pipelineConfig.name);
  if (stored) ctx.herokuAppsCache.set(pipelineConfig.name, stored.side);
  return stored?.side;
}

export async function recordTopology(
  ctx: Pick<ViewContext, "store" | "clock" | "log">,
  pipelineConfig: PipelineConfig,
  side: PipelineTopology,
): Promise<void> {
  await ctx.store
    .recordPipelineTopology(pipelineConfig.name, side, ctx.clock.now())
    .catch((error: unknown) =>
      ctx.log.warn({ err: error, pipeline: pipelineConfig.name }, "could not store the pipeline's apps"),
    );
}

/** True when the app's view is fed by events recent enough to be trusted. */
export function eventsFlowing(ctx: Pick<ViewContext, "clock" | "tuning">, lastEventAt: Date | null): boolean {
  return lastEventAt !== null && ctx.clock.now().getTime() - lastEventAt.getTime() < ctx.tuning.herokuEventsFreshForMs;
}

const trusted = (ctx: ViewContext, view: AppView | undefined): view is AppView & { current: Release } =>
  view?.current !== undefined && eventsFlowing(ctx, view.lastEventAt);

/**
 * What each app of the pipeline runs (source first, then the targets). `accept` may refuse what the
 * view says (a staging-ready check wants the commit CI just tested), and then Heroku is read.
 */
export async function appStates(
  ctx: ViewContext,
  side: PipelineTopology,
  accept: (state: AppState) => boolean = () => true,
): Promise<AppState[]> {
  const apps = [side.source, ...side.targets];
  const views = await ctx.store.appViews(apps.map((a) => a.id));
  const fromView: AppState[] = [];
  for (const app of apps) {
    const view = views.get(app.id);
    if (!trusted(ctx, view)) break;
    const state: AppState = {
      app,
      release: view.current,
      commit: view.commit ?? (await commitOf(ctx, app.id, view.current.slugId)),
      from: "view",
    };
    if (!accept(state)) break;
    fromView.push(state);
  }
  if (fromView.length === apps.length) return fromView;
  return readStates(ctx, side, apps);
}

/** Reads the pipeline's releases from Heroku (one call for all its apps) and records them. */
async function readStates(ctx: ViewContext, side: PipelineTopology, apps: AppRef[]): Promise<AppState[]> {
  const latest = await ctx.heroku.latestReleases(side.pipelineId);
  const now = ctx.clock.now();
  await Promise.all(latest.map((release) => noteRelease(ctx, release, "read", now)));
  return Promise.all(
    apps.map(async (app): Promise<AppState> => {
      const newest = latest.find((r) => r.app.id === app.id);
      // The newest release is the current one unless its release phase is running or failed.
      let release: Release | undefined = newest?.status === "succeeded" && newest.current ? newest : undefined;
      if (!release) {
        release = await ctx.heroku.currentRelease(app.id);
        if (release) await noteRelease(ctx, { ...release, app }, "read", now);
      }
      return { app, release, commit: await commitOf(ctx, app.id, release?.slugId ?? null), from: "heroku" };
    }),
  );
}

/** A slug's commit: from the store (commits never change), else from Heroku, then kept. */
export async function commitOf(
  ctx: Pick<ViewContext, "heroku" | "store" | "log">,
  appId: string,
  slugId: string | null,
): Promise<string | null> {
  if (!slugId) return null;
  const known = await ctx.store.slugCommits([slugId]);
  if (known.has(slugId)) return known.get(slugId) ?? null;
  const commit = await ctx.heroku.slugCommit(appId, slugId);
  await ctx.store
    .recordSlugCommit(slugId, commit)
    .catch((error: unknown) => ctx.log.warn({ err: error, slugId }, "could not store a slug's commit"));
  return commit;
}

/** Records a release the bot read or made; the view is a convenience, so a store error is only logged. */
export async function noteRelease(
  ctx: Pick<ViewContext, "store" | "log">,
  release: AppRelease,
  source: "read" | "action",
  at: Date,
): Promise<void> {
  await ctx.store
    .recordRelease(release, source, at)
    .catch((error: unknown) =>
      ctx.log.warn({ err: error, app: release.app.name }, "could not record a release in the release view"),
    );
}

/**
 * Production releases since a pending request was made that changed the build the targets run, as the
 * release view shows them (the executor checks Heroku itself before acting: this only warns).
 */
export async function productionChangesSeen(
  ctx: Pick<ViewContext, "store">,
  request: PromotionRequest,
): Promise<OutsideChange[]> {
  const baseline = request.baseline;
  if (request.state !== "pending" || !baseline) return [];
  const views = await ctx.store.appViews(request.targetApps.map((a) => a.id));
  const changes: OutsideChange[] = [];
  for (const app of request.targetApps) {
    const view = views.get(app.id);
    const before = baseline[app.id];
    if (!view?.current || before === undefined || view.current.version <= before) continue;
    // As the executor judges it: a config-var release keeps the build, and the approved build is no change.
    const then = view.releases.find((r) => r.status === "succeeded" && r.version <= before);
    const current = view.current;
    if (current.slugId === request.slugId || (then && then.slugId === current.slugId)) continue;
    changes.push({
      appName: app.name,
      version: current.version,
      madeBy: current.madeBy ?? null,
      description: current.description,
      commit: view.commit,
      at: current.createdAt,
    });
  }
  return changes;
}

/**
 * At start-up, reads the apps of every pipeline the store has never seen, and what they run (about 5
 * Heroku calls each, once in the store's life), so that Heroku's events can be matched to pipelines,
 * and a production release compared with the one before it, from the first event. Stale topologies
 * are refreshed by reads and requests, not here.
 */
export async function learnMissingTopologies(ctx: ViewContext & Pick<AppContext, "pipelines">): Promise<void> {
  await mapLimit(ctx.pipelines, 4, async (pipelineConfig) => {
    if (await ctx.store.pipelineTopology(pipelineConfig.name)) return;
    try {
      // Through the views' cache, so that a list asked meanwhile waits for this read instead of its own.
      await appStates(ctx, await viewSide(ctx, pipelineConfig));
    } catch (error) {
      ctx.log.warn({ err: error, pipeline: pipelineConfig.name }, "could not read a pipeline's apps at start-up");
    }
  });
}
