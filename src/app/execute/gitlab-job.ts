/**
 * Strategy gitlab-job: plays the manual production job through the at-most-once executor, then
 * follows it to its end (Job Hook deliveries may finish the request first: the final transition is a
 * compare-and-set either way). The trace of a play is the job no longer being `manual`. A job that is
 * not `manual` when first looked at was played by someone else: nothing is done.
 */
import { DomainError } from "../../domain/errors.js";
import type { CiJob } from "../../domain/ports.js";
import type { PromotionOutcome, PromotionRequest, TargetResult } from "../../domain/request.js";
import { auditRequest } from "../audit.js";
import type { AppContext } from "../context.js";
import { actAtMostOnce, followUntil } from "./at-most-once.js";
import { finish } from "./finish.js";
import { type LeaseKeeper, LeaseLost } from "./lease.js";

const FINAL_JOB_STATUSES = ["success", "failed", "canceled", "skipped"];

export async function runJob(
  ctx: AppContext,
  lease: LeaseKeeper,
  request: PromotionRequest,
): Promise<PromotionOutcome> {
  const ref = request.gitlabJob as NonNullable<PromotionRequest["gitlabJob"]>;
  const p = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!p) throw new DomainError("UNKNOWN_PIPELINE", `Pipeline ${request.pipeline} is no longer configured.`);
  const read = () => ctx.gitlab.job(p.gitlabProject, ref.id);
  const played = async () => {
    const job = await read();
    return job.status !== "manual" ? job : undefined;
  };
  let started = request.promotionStartedAt;
  if (!started) {
    const job = await read();
    if (job.status !== "manual") {
      const why =
        job.status === "canceled" || job.status === "skipped"
          ? `the job was ${job.status}`
          : `the job had already been played by someone in GitLab (it is ${job.status})`;
      return { targets: [], error: `Nothing was deployed: ${why}. See ${job.webUrl}`, job: jobOutcome(job) };
    }
  }
  const acted = await actAtMostOnce(ctx, lease, {
    what: "playing the job",
    recoveringFrom: request.promotionStartedAt,
    fence: async () => {
      const marked = await ctx.store.markPromotionStarted(request.id, ctx.instanceId, {});
      if (!marked) throw new LeaseLost("the promotion lease was lost before playing the job");
      started ??= marked.promotionStartedAt;
    },
    attempt: () => ctx.gitlab.playJob(p.gitlabProject, ref.id),
    trace: played,
  });
  if ("answered" in acted) {
    await auditRequest(ctx, request, "job_played", null, { job: ref.id }).catch((error: unknown) =>
      ctx.log.error({ err: error, requestId: request.id }, "could not audit the played job"),
    );
  }
  const final = await followUntil(
    ctx,
    lease,
    started,
    async () => {
      const current = await read();
      return FINAL_JOB_STATUSES.includes(current.status) ? current : undefined;
    },
    (minutes) =>
      new DomainError(
        "GITLAB_UNAVAILABLE",
        `The GitLab job had not finished after ${minutes} minutes; see it in GitLab.`,
      ),
  );
  return jobResult(ctx, request, final);
}

export function jobOutcome(job: CiJob): NonNullable<PromotionOutcome["job"]> {
  return {
    id: job.id,
    name: job.name,
    status: job.status,
    webUrl: job.webUrl,
    durationS: job.durationS,
    failureReason: job.failureReason,
  };
}

/** The outcome of a finished job: its status, and what each target app runs now (read from Heroku). */
export async function jobResult(ctx: AppContext, request: PromotionRequest, job: CiJob): Promise<PromotionOutcome> {
  const succeeded = job.status === "success";
  const targets: TargetResult[] = [];
  for (const app of request.targetApps) {
    const current = await ctx.heroku.currentRelease(app.id).catch(() => undefined);
    targets.push({
      app,
      status: succeeded ? "succeeded" : "failed",
      releaseId: current?.id ?? null,
      releaseVersion: current?.version ?? null,
      errorMessage: succeeded ? null : `job ${job.status}${job.failureReason ? ` (${job.failureReason})` : ""}`,
      outputTail: null,
    });
  }
  return { targets, error: null, job: jobOutcome(job) };
}

/** A Job Hook delivery said the played job ended: finish the request now (if still promoting). */
export async function finishJobFromHook(ctx: AppContext, request: PromotionRequest, job: CiJob): Promise<void> {
  if (request.state !== "promoting" || !FINAL_JOB_STATUSES.includes(job.status)) return;
  await finish(ctx, request, await jobResult(ctx, request, job));
}
