/** Finding a configured pipeline and reading its Heroku side (pipeline, source app, target apps). */
import type { PipelineConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import type { AppRef } from "../domain/request.js";
import type { PipelineView } from "../views/models.js";
import { code, esc } from "../views/mrkdwn.js";
import type { AppContext } from "./context.js";

export function pipelineView(pipelineConfig: PipelineConfig): PipelineView {
  return {
    name: pipelineConfig.name,
    from: pipelineConfig.from,
    to: pipelineConfig.to,
    approverUsers: pipelineConfig.approverUsers,
    approverGroups: pipelineConfig.approverGroups,
    requiredApprovals: pipelineConfig.requiredApprovals,
    drift: pipelineConfig.drift,
  };
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min((row[j] as number) + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

export function findPipeline(pipelines: PipelineConfig[], name: string): PipelineConfig {
  const wanted = name.trim().toLowerCase();
  const found = pipelines.find((pipelineConfig) => pipelineConfig.name === wanted);
  if (found) return found;
  const names = pipelines.map((pipelineConfig) => pipelineConfig.name);
  const closest = names
    .map((n) => ({ n, d: distance(wanted, n) }))
    .sort((x, y) => x.d - y.d)
    .find((x) => x.d <= Math.max(2, Math.floor(x.n.length / 3)));
  const suggestion = closest ? ` Did you mean ${code(closest.n)}?` : "";
  throw new DomainError(
    "UNKNOWN_PIPELINE",
    `There is no pipeline called ${code(name)}.${suggestion} Configured pipelines: ${names.map(code).join(", ") || "none"}.`,
    { details: { name } },
  );
}

export function matchesProject(
  pipelineConfig: PipelineConfig,
  project: { id: number; path_with_namespace: string },
): boolean {
  if (typeof pipelineConfig.gitlabProject === "number") return pipelineConfig.gitlabProject === project.id;
  return pipelineConfig.gitlabProject.toLowerCase() === project.path_with_namespace.toLowerCase();
}

export interface HerokuSide {
  pipelineId: string;
  source: AppRef;
  targets: AppRef[];
}

/** Reads the Heroku pipeline and its couplings: exactly one source-stage app, one or more target apps. */
export async function herokuSide(ctx: Pick<AppContext, "heroku">, pipelineConfig: PipelineConfig): Promise<HerokuSide> {
  const hp = await ctx.heroku.pipeline(pipelineConfig.herokuPipeline);
  const couplings = await ctx.heroku.couplings(hp.id);
  const sources = couplings.filter((c) => c.stage === pipelineConfig.from).map((c) => c.app);
  const targets = couplings.filter((c) => c.stage === pipelineConfig.to).map((c) => c.app);
  if (sources.length !== 1) {
    throw new DomainError(
      "HEROKU_REJECTED",
      `Heroku pipeline ${code(hp.name)} has ${sources.length} apps in the ${esc(pipelineConfig.from)} stage; promote-bot promotes from exactly one. Couple one app to ${esc(pipelineConfig.from)}.`,
    );
  }
  if (targets.length === 0) {
    throw new DomainError(
      "HEROKU_REJECTED",
      `Heroku pipeline ${code(hp.name)} has no app in the ${esc(pipelineConfig.to)} stage, so there is nothing to promote to.`,
    );
  }
  return { pipelineId: hp.id, source: sources[0] as AppRef, targets };
}
