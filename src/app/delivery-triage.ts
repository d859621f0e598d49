/** Which recorded GitLab deliveries need processing, and which are done on arrival. */
import type { PipelineConfig } from "../config.js";
import type { HandledBody } from "../domain/gitlab-events.js";
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
