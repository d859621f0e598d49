/**
 * Strategy gitlab-job: plays the manual production job through the at-most-once executor, then
 * follows it to its end (Job Hook deliveries may finish the request first: the final transition is a
 * compare-and-set either way). The trace of a play is the job no longer being `manual`. A job that is
 * not `manual` when first looked at was played by someone else: nothing is done.
 */
import { DomainError } from "../../domain/errors.js";
import type { CiJob, Release } from "../../domain/ports.js";
import type { GitLabJobRequest, PromotionOutcome, PromotionRequest, TargetResult } from "../../domain/request.js";
import { auditRequest } from "../audit.js";
import type { AppContext } from "../context.js";
import { checkDriftBeforeActing } from "../drift-check.js";
import { actAtMostOnce, followUntil, isRetryable, OutcomeUnknown, orUnknown } from "./at-most-once.js";
import { finish, missingTarget, releaseResult } from "./finish.js";
import { baselineOf } from "./heroku-promotion.js";
import { type LeaseKeeper, LeaseLost } from "./lease.js";

const FINAL_JOB_STATUSES = ["success", "failed", "canceled", "skipped"];

export async function runJob(
  ctx: AppContext,
  lease: LeaseKeeper,
  request: GitLabJobRequest,
): Promise<PromotionOutcome> {
  const ref = request.gitlabJob;
  const pipelineConfig = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!pipelineConfig)
    throw new DomainError("UNKNOWN_PIPELINE", `Pipeline ${request.pipeline} is no longer configured.`);
  const read = () => ctx.gitlab.job(pipelineConfig.gitlabProject, ref.id);
  const played = async () => {
    const job = await read();
    return job.status !== "manual" ? job : undefined;
  };
  let started = request.promotionStartedAt;
  // What the targets ran before the play: a release newer than that is the job's deploy. A recovering
  // process finds it recorded by the process that died; before any play, Heroku being unreadable fails
  // the request (nothing was deployed), as for a promotion.
  const baseline =
    request.baseline ?? (started ? await orUnknown(() => baselineOf(ctx, request)) : await baselineOf(ctx, request));
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
      // Once, before the first play: drift that appeared since the approval.
      if (!started) await checkDriftBeforeActing(ctx, request);
      const marked = await ctx.store.markPromotionStarted(request.id, ctx.instanceId, baseline);
      if (!marked) throw new LeaseLost("the promotion lease was lost before playing the job");
      started ??= marked.promotionStartedAt;
    },
    attempt: () => ctx.gitlab.playJob(pipelineConfig.gitlabProject, ref.id),
    trace: played,
  });
  if ("answered" in acted) {
    await auditRequest(ctx, request, "job_played", null, { job: ref.id }).catch((error: unknown) =>
      ctx.log.error({ err: error, requestId: request.id }, "could not audit the played job"),
    );
  }
  let last: CiJob | undefined;
  const final = await followUntil(
    ctx,
    lease,
    started,
    async () => {
      last = await read();
      return FINAL_JOB_STATUSES.includes(last.status) ? last : undefined;
    },
    (minutes) => {
      // A played job that no runner picked up has not deployed anything yet, but may still start.
      const state =
        last?.status === "pending" || last?.status === "waiting_for_resource"
          ? `was still waiting for a runner (${last.status}) after ${minutes} minutes: it has not deployed anything yet, but it starts when a runner picks it up.`
          : `had not finished after ${minutes} minutes${last ? ` (it is ${last.status})` : ""}.`;
      return new OutcomeUnknown(`The job ${ref.name} (#${ref.id}) ${state}`, last?.webUrl ?? null);
    },
  );
  return jobResult(ctx, { ...request, baseline }, final);
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

/**
 * The outcome of a finished job. A failed job fails every target. A successful one counts only where
 * production got a new release (newer than the baseline taken before the play): the job's script may
 * have deployed somewhere else, or nothing at all. The targets get `jobReleaseWaitMs` to show it.
 */
export async function jobResult(ctx: AppContext, request: PromotionRequest, job: CiJob): Promise<PromotionOutcome> {
  if (job.status !== "success") {
    const targets: TargetResult[] = [];
    for (const app of request.targetApps) {
      const current = await ctx.heroku.currentRelease(app.id).catch(() => undefined);
      targets.push({
        app,
        status: "failed",
        releaseId: current?.id ?? null,
        releaseVersion: current?.version ?? null,
        errorMessage: `job ${job.status}${job.failureReason ? ` (${job.failureReason})` : ""}`,
        outputTail: null,
      });
    }
    return { targets, error: null, job: jobOutcome(job) };
  }
  return { targets: await releasesOfJob(ctx, request, job), error: null, job: jobOutcome(job) };
}

async function releasesOfJob(ctx: AppContext, request: PromotionRequest, job: CiJob): Promise<TargetResult[]> {
  const baseline = request.baseline ?? {};
  // On this process's monotonic clock: a wall-clock jump neither stretches nor cuts the wait.
  const until = performance.now() + ctx.tuning.jobReleaseWaitMs;
  let delay = ctx.tuning.pollFirstMs;
  for (;;) {
    const last = performance.now() >= until;
    const seen = new Map<string, { release: Release | undefined; current: Release | undefined } | undefined>();
    for (const app of request.targetApps) {
      try {
        const releases = await ctx.heroku.recentReleases(app.id, 10);
        const before = baseline[app.id] ?? Number.POSITIVE_INFINITY;
        const newest = releases.filter((r) => r.version > before).sort((a, b) => b.version - a.version)[0];
        seen.set(app.id, { release: newest, current: releases.find((r) => r.current) });
      } catch (error) {
        if (!isRetryable(error)) throw error;
        ctx.log.warn({ err: error, app: app.name }, "could not read the releases the job made; will look again");
        seen.set(app.id, undefined);
      }
    }
    const ready = [...seen.values()].every(
      (seenRelease) => seenRelease?.release && seenRelease.release.status !== "pending",
    );
    if (ready || last) {
      const results: TargetResult[] = [];
      for (const app of request.targetApps) {
        const seenRelease = seen.get(app.id);
        if (seenRelease?.release && seenRelease.release.status !== "pending")
          results.push(await releaseResult(ctx, app, seenRelease.release));
        else if (seenRelease?.release) {
          results.push({
            ...missingTarget(
              app,
              `its new release v${seenRelease.release.version} was still pending; see it in the Heroku dashboard`,
            ),
            status: "pending",
            releaseId: seenRelease.release.id,
            releaseVersion: seenRelease.release.version,
          });
        } else if (seenRelease) {
          const runs = seenRelease.current ? `still runs v${seenRelease.current.version}` : "did not change";
          results.push(
            missingTarget(
              app,
              `the job succeeded but ${app.name} ${runs}: no new release appeared within ${Math.round(ctx.tuning.jobReleaseWaitMs / 1000)} seenRelease. Check what the job deployed: ${job.webUrl}`,
            ),
          );
        } else {
          results.push({
            ...missingTarget(
              app,
              "Heroku could not be read to see what the job deployed; check the app in the Heroku dashboard",
            ),
            status: "pending",
          });
        }
      }
      return results;
    }
    await ctx.sleep(delay);
    delay = Math.min(ctx.tuning.pollMaxMs, Math.round(delay * ctx.tuning.pollFactor));
  }
}

/**
 * A Job Hook delivery said the played job ended: finish the request now, if it is still promoting or
 * its outcome was unknown (the hook carries the true outcome then: it settles it).
 */
export async function finishJobFromHook(ctx: AppContext, request: PromotionRequest, job: CiJob): Promise<void> {
  if (!(request.state === "promoting" || request.state === "unknown") || !FINAL_JOB_STATUSES.includes(job.status))
    return;
  await finish(ctx, request, await jobResult(ctx, request, job), [request.state]);
}
