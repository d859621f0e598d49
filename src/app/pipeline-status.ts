/**
 * Where each pipeline stands: what staging and production run, how far production is behind, and any
 * request in progress. Read-only, so it may use short-lived caches; pipelines are read concurrently.
 */
import type { PipelineConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import type { AuditEntry, AuditStore, LockStore, ReleaseViewStore, RequestStore } from "../domain/ports.js";
import type { PromotionRequest } from "../domain/request.js";
import { mapLimit } from "../infra/map-limit.js";
import { errorText } from "../views/error-text.js";
import type { PipelineSnapshot, StageState } from "../views/models.js";
import type { AppContext } from "./context.js";
import { statusDrift } from "./drift-check.js";
import { findPipeline } from "./pipelines.js";
import { type AppState, appStates, type ViewContext, viewSide } from "./release-view.js";

/** What the read-only views need: the pipelines, Heroku and GitLab to read, and the requests, locks and audit. */
type StatusContext = Pick<AppContext, "pipelines" | "gitlab" | "log" | "driftCache"> &
  ViewContext & {
    store: RequestStore & LockStore & AuditStore & ReleaseViewStore;
  };

/** Pipelines read at once; fewer when Heroku's rate limit runs low (a list must not starve promotions). */
const CONCURRENCY = 25;

function concurrency(ctx: StatusContext): number {
  const remaining = ctx.heroku.rateLimitRemaining?.();
  if (remaining === undefined) return CONCURRENCY;
  // Each pipeline read costs about one call; keep a quarter of what is left for everything else.
  return Math.max(1, Math.min(CONCURRENCY, Math.floor(remaining / 40)));
}

const stage = (state: AppState): StageState => ({
  app: state.app,
  version: state.release?.version ?? null,
  commit: state.commit,
});

export async function snapshot(ctx: StatusContext, pipelineConfig: PipelineConfig): Promise<PipelineSnapshot> {
  const [active, lock] = await Promise.all([
    ctx.store.activeRequest(pipelineConfig.name),
    ctx.store.getLock(pipelineConfig.name),
  ]);
  try {
    const side = await viewSide(ctx, pipelineConfig);
    const [staging, ...targets] = (await appStates(ctx, side)).map(stage);
    let behind: PipelineSnapshot["behind"] = null;
    const prodCommit = targets[0]?.commit;
    if (staging?.commit && prodCommit) {
      if (prodCommit === staging.commit) behind = { count: 0, commits: [], compareUrl: "" };
      else {
        const result = await ctx.gitlab
          .compare(pipelineConfig.gitlabProject, prodCommit, staging.commit)
          .catch(() => null);
        if (result) behind = { count: result.commits.length, commits: result.commits, compareUrl: result.webUrl };
      }
    }
    return { pipeline: pipelineConfig, staging: staging ?? null, targets, behind, active, lock, error: null };
  } catch (error) {
    const reason = error instanceof DomainError ? errorText(error) : "unexpected error (see the bot's logs)";
    if (!(error instanceof DomainError))
      ctx.log.error({ err: error, pipeline: pipelineConfig.name }, "could not read a pipeline");
    return { pipeline: pipelineConfig, staging: null, targets: [], behind: null, active, lock, error: reason };
  }
}

export async function listPipelines(ctx: StatusContext): Promise<PipelineSnapshot[]> {
  return mapLimit(ctx.pipelines, concurrency(ctx), (pipelineConfig) => snapshot(ctx, pipelineConfig));
}

export async function pipelineStatus(
  ctx: StatusContext,
  name: string,
): Promise<{ snapshot: PipelineSnapshot; last: PromotionRequest | undefined }> {
  const pipelineConfig = findPipeline(ctx.pipelines, name);
  const [snap, last, drift] = await Promise.all([
    snapshot(ctx, pipelineConfig),
    ctx.store.lastFinishedPromotion(pipelineConfig.name),
    // Asked for one pipeline, by a person: the drift is checked now (list and App Home do not).
    viewSide(ctx, pipelineConfig).then(
      (side) => statusDrift(ctx, pipelineConfig, side),
      () => null,
    ),
  ]);
  return { snapshot: snap.error ? snap : { ...snap, drift }, last };
}

export async function pipelineHistory(
  ctx: StatusContext,
  name: string,
  limit: number,
): Promise<{ pipeline: PipelineConfig; requests: Array<{ request: PromotionRequest; audit: AuditEntry[] }> }> {
  const pipelineConfig = findPipeline(ctx.pipelines, name);
  const requests = await ctx.store.recentRequests(pipelineConfig.name, limit);
  const withAudit = await Promise.all(
    requests.map(async (request) => ({ request, audit: await ctx.store.auditFor(request.id) })),
  );
  return { pipeline: pipelineConfig, requests: withAudit };
}
