/**
 * Strategy gitlab-job (container apps): a request names the manual production job of a successful
 * GitLab pipeline on the branch; approval plays it instead of a Heroku pipeline promotion.
 */
import type { PipelineConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import type { Gate } from "../domain/gate.js";
import type { CiJob, CiPipeline } from "../domain/ports.js";
import type { Candidate } from "../domain/records.js";
import { code, esc, link } from "../views/mrkdwn.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditNote } from "./audit.js";
import type { AppContext } from "./context.js";
import { auditDriftOverride, requestDrift } from "./drift-check.js";
import { completeRequest, inProgress, type RequestCreated, requestBasics } from "./new-request.js";
import { herokuSide } from "./pipelines.js";
import { recordTopology } from "./release-view.js";

/** How many recent successful pipelines are searched for a manual production job. */
const SEARCHED_PIPELINES = 10;

/** The newest successful pipeline on the branch whose production job still waits in `manual`. */
export async function newestPlayable(
  ctx: AppContext,
  pipelineConfig: PipelineConfig,
  branch: string,
): Promise<{ pipeline: CiPipeline; job: CiJob } | undefined> {
  for (const pipeline of await ctx.gitlab.successfulPipelines(
    pipelineConfig.gitlabProject,
    branch,
    SEARCHED_PIPELINES,
  )) {
    const job = (await ctx.gitlab.pipelineJobs(pipelineConfig.gitlabProject, pipeline.id)).find(
      (j) => j.name === pipelineConfig.productionJob,
    );
    if (job?.status === "manual") return { pipeline, job };
  }
  return undefined;
}

export function notPlayable(job: CiJob, pipelineConfig: PipelineConfig): DomainError {
  const why =
    job.status === "canceled" || job.status === "skipped"
      ? `was ${job.status}`
      : job.status === "created"
        ? "is not ready to be played (an earlier stage has not finished)"
        : `has already been played (it is ${job.status})`;
  return new DomainError(
    "RELEASE_UNAVAILABLE",
    `The job ${code(job.name)} ${link(job.webUrl, `#${job.id}`)} ${why}, so there is nothing to promote from it. See \`/promote status ${esc(pipelineConfig.name)}\`.`,
  );
}

export async function requestJob(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: {
    pipelineConfig: PipelineConfig;
    candidate: Candidate | undefined;
    requester: string;
    via: string;
    g: Gate;
    overrideReason: string | null;
    overrideGate: string | null;
    /** The requester's `--override` reason, for the drift check. */
    override?: string;
  },
): Promise<RequestCreated> {
  const { pipelineConfig, candidate } = args;
  const branch = pipelineConfig.branch ?? (await ctx.gitlab.project(pipelineConfig.gitlabProject)).defaultBranch;
  const newest = await newestPlayable(ctx, pipelineConfig, branch);
  let job: CiJob;
  let pipelineSha: string;
  if (candidate?.gitlabJob) {
    job = await ctx.gitlab.job(pipelineConfig.gitlabProject, candidate.gitlabJob.id).catch((error: unknown) => {
      if (error instanceof DomainError && error.code === "GITLAB_NOT_FOUND") {
        throw new DomainError("RELEASE_UNAVAILABLE", `The job #${candidate.gitlabJob?.id} no longer exists in GitLab.`);
      }
      throw error;
    });
    if (job.status !== "manual") throw notPlayable(job, pipelineConfig);
    if (newest && newest.pipeline.id !== job.pipelineId) {
      throw new DomainError(
        "RELEASE_UNAVAILABLE",
        `A newer pipeline (${link(newest.pipeline.webUrl, `#${newest.pipeline.id}`)}) is ready; promote that one instead, from its message or with \`/promote ${esc(pipelineConfig.name)}\`.`,
      );
    }
    pipelineSha = candidate.commitSha;
  } else {
    if (!newest) {
      throw new DomainError(
        "CI_NOT_PASSED",
        `No successful pipeline on ${code(branch)} has its ${code(pipelineConfig.productionJob ?? "")} job waiting to be played (among the last ${SEARCHED_PIPELINES}). Let CI deploy staging first.`,
      );
    }
    job = newest.job;
    pipelineSha = newest.pipeline.sha;
  }

  const side = await herokuSide(ctx, pipelineConfig);
  // Read fresh for the request; read-only views take it from here too.
  await recordTopology(ctx, pipelineConfig, side);
  const staging = await ctx.heroku.currentRelease(side.source.id);
  const drift = await requestDrift(ctx, pipelineConfig, side, args.requester, args.override);
  const title =
    candidate?.commitTitle ??
    (await ctx.gitlab.commit(pipelineConfig.gitlabProject, pipelineSha).then(
      (c) => c.title,
      () => null,
    ));
  const basics = requestBasics(ctx, pipelineConfig, args.requester);
  const created = await ctx.store.createRequest(
    {
      ...basics,
      kind: "gitlab-job",
      gitlabJob: { id: job.id, name: job.name, pipelineId: job.pipelineId },
      herokuPipelineId: side.pipelineId,
      sourceApp: side.source,
      sourceReleaseId: `job:${job.id}`,
      sourceReleaseVersion: staging?.version ?? 0,
      slugId: null,
      commitSha: pipelineSha,
      commitTitle: title,
      commitsBehind: null,
      targetApps: side.targets,
      candidateId: candidate?.id ?? null,
      overrideReason: args.overrideReason,
      overrideGate: args.overrideGate,
      drift,
    },
    auditNote(ctx, basics, "requested", args.requester, {
      job: job.id,
      ciPipeline: job.pipelineId,
      commit: pipelineSha,
      via: args.via,
    }),
  );
  if (!created.created) throw inProgress(created.existing);
  await auditDriftOverride(ctx, created.request);
  const announced =
    candidate ??
    (await ctx.store.liveCandidates(pipelineConfig.name)).find((c) => c.gitlabJob?.id === job.id && c.messageTs);
  return completeRequest(ctx, approvers, {
    pipelineConfig,
    request: created.request,
    announced,
    g: args.g,
    overrideReason: args.overrideReason,
    what: `job #${job.id}`,
  });
}
