/** Which recorded GitLab and Heroku deliveries need processing, and which are done on arrival. */
import type { PipelineConfig } from "../config.js";
import type { HandledBody } from "../domain/gitlab-events.js";
import type { HerokuEvent } from "../domain/heroku-events.js";
import type { AppContext } from "./context.js";
import { storedSide } from "./release-view.js";
import { concernedPipelines, notBranchResult } from "./staging-ready.js";

/**
 * Why a validated GitLab event needs no work (it is recorded as done at once), or undefined when it
 * needs processing: the end of a production job, or a finished CI result of a configured project and branch.
 */
export function skipReason(pipelines: PipelineConfig[], body: HandledBody): string | undefined {
  if (body.object_kind === "build") {
    // The end of a production job the bot may have played (strategy gitlab-job).
    if (!["success", "failed", "canceled"].includes(body.build_status)) return `job status ${body.build_status}`;
    return pipelines.some(
      (pipelineConfig) => pipelineConfig.strategy === "gitlab-job" && pipelineConfig.productionJob === body.build_name,
    )
      ? undefined
      : `job ${body.build_name} is no configured production job`;
  }
  if (body.object_kind !== "pipeline") return "deployment events are only recorded";
  const status = body.object_attributes.status;
  if (status !== "success" && status !== "failed") return `pipeline status ${status}`;
  const notResult = notBranchResult(body);
  if (notResult) return notResult;
  return concernedPipelines(pipelines, body).length > 0 ? undefined : "no configured project and branch";
}

/** How long the set of configured apps (from the stored topologies) is reused by the Heroku triage. */
const APPS_REUSED_MS = 30_000;
/** While some pipeline's apps are unknown, the store is asked again at most this often. */
const UNKNOWN_RETRY_MS = 2_000;

/**
 * Which Heroku webhook events need no work: those about an app of no configured pipeline (a
 * subscription left from an older set-up, say). Only when every pipeline's apps are known from the
 * store; otherwise every event is processed. Memory only, except once every 30 s (every 2 s while a
 * pipeline's apps are still unknown, as at a first start-up, until the bot has read them).
 */
export class HerokuTriage {
  private known: { at: number; apps: Set<string> | null } | undefined;

  constructor(private readonly ctx: Pick<AppContext, "pipelines" | "store" | "herokuAppsCache">) {}

  async skipReason(event: HerokuEvent): Promise<string | undefined> {
    if (event.kind === "other") return `${event.resource} events are not used`;
    const apps = await this.configuredApps();
    if (apps === null) return undefined;
    const app = event.kind === "release" ? event.release.app : event.app;
    return apps.has(app.id) ? undefined : `${app.name} is an app of no configured pipeline`;
  }

  private async configuredApps(): Promise<Set<string> | null> {
    const now = performance.now();
    const reuse = this.known?.apps === null ? UNKNOWN_RETRY_MS : APPS_REUSED_MS;
    if (this.known && now - this.known.at < reuse) return this.known.apps;
    // Taken before the reads, so that concurrent events wait for the next window instead of reading too.
    this.known = { at: now, apps: this.known?.apps ?? null };
    const sides = await Promise.all(this.ctx.pipelines.map((pipelineConfig) => storedSide(this.ctx, pipelineConfig)));
    const apps = sides.every((side) => side !== undefined)
      ? new Set(sides.flatMap((side) => (side ? [side.source.id, ...side.targets.map((t) => t.id)] : [])))
      : null;
    this.known = { at: now, apps };
    return apps;
  }
}
