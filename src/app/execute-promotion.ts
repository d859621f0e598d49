/**
 * Running an approved request: POST /pipeline-promotions with the approved release, then follow
 * its targets with backoff until none is pending. One process follows a promotion at a time, under
 * a lease in the store that a timer renews; when the process dies, another takes the lease over.
 *
 * Never promote twice: `promotionStartedAt` is stored before the POST. A process that finds it set
 * without a promotion id (a crash in between), or whose POST failed in a way Heroku may still have
 * acted on (5xx, dropped connection), first asks Heroku whether the target apps already have a
 * release of the approved slug made since then; if so it follows those releases instead of posting.
 */
import { DomainError } from "../domain/errors.js";
import type { CiJob, PromotionTarget, Release } from "../domain/ports.js";
import {
  type AppRef,
  outcomeState,
  type PromotionOutcome,
  type PromotionRequest,
  type TargetResult,
} from "../domain/request.js";
import { isStopping } from "../infra/stopping.js";
import { outcomeReply } from "../views/messages.js";
import { auditNote, auditRequest } from "./audit.js";
import type { AppContext } from "./context.js";
import { refreshRequestMessage } from "./decide.js";

const OUTPUT_LINES = 15;
/** Clock skew allowed between this process and Heroku when matching releases to a promotion. */
const SKEW_MS = 5 * 60_000;

class LeaseLost extends Error {}

/**
 * Heroku could not be read to find out whether an earlier POST went through. Posting again could
 * promote twice, so the request stays `promoting` and is taken up again (not a DomainError: it does
 * not fail the request).
 */
class TraceUnknown extends Error {
  constructor(cause: unknown) {
    super(`could not find out from Heroku whether an earlier promotion POST went through: ${String(cause)}`);
    this.name = "TraceUnknown";
  }
}

/** The trace of an earlier POST, or a TraceUnknown when Heroku could not be read for it (retryable errors). */
async function traceOrUnknown(ctx: AppContext, request: PromotionRequest): Promise<Map<string, Release> | undefined> {
  try {
    return await earlierPromotion(ctx, request);
  } catch (error) {
    if (isStopping(error)) throw error;
    if (error instanceof DomainError && error.details.retryable !== true) throw error;
    throw new TraceUnknown(error instanceof Error ? error.message : error);
  }
}

/** Keeps the lease alive while the promotion is followed; `check()` throws once it is lost. */
class LeaseKeeper {
  private lost = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ctx: AppContext,
    private readonly requestId: string,
  ) {
    const every = Math.max(50, Math.floor(ctx.tuning.promotionLeaseMs / 3));
    this.timer = setInterval(() => {
      ctx.store.renewPromotionLease(requestId, ctx.instanceId, ctx.clock.now(), ctx.tuning.promotionLeaseMs).then(
        (held) => {
          if (!held) this.lost = true;
        },
        (error: unknown) => ctx.log.warn({ err: error, requestId }, "could not renew the promotion lease"),
      );
    }, every);
    this.timer.unref();
  }

  check(): void {
    if (this.lost) throw new LeaseLost();
  }

  async stop(release: boolean): Promise<void> {
    clearInterval(this.timer);
    if (release) await this.ctx.store.releasePromotionLease(this.requestId, this.ctx.instanceId).catch(() => {});
  }
}

/** Follows (or starts) the promotion of a request this process holds the lease of. */
export async function executePromotion(ctx: AppContext, claimed: PromotionRequest): Promise<void> {
  const log = ctx.log.child({ requestId: claimed.id, pipeline: claimed.pipeline });
  const lease = new LeaseKeeper(ctx, claimed.id);
  let request = claimed;
  try {
    if (ctx.dryRun) {
      await finish(ctx, request, { targets: [], error: null, dryRun: whatWouldHappen(request) });
      return;
    }
    if (request.kind === "rollback") {
      await finish(ctx, request, await executeRollback(ctx, lease, request));
      return;
    }
    if (request.gitlabJob) {
      await finish(ctx, request, await executeJob(ctx, lease, request));
      return;
    }
    if (!request.promotionId) {
      const started = await startPromotion(ctx, lease, request);
      if ("outcome" in started) {
        await finish(ctx, request, started.outcome);
        return;
      }
      if ("earlier" in started) {
        await finish(ctx, request, await followReleases(ctx, lease, request, started.earlier));
        return;
      }
      request = started.request;
    }
    const targets = await follow(ctx, lease, request);
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
    if (!(error instanceof DomainError)) {
      // Not Heroku's answer (a store or programming error): Heroku may be promoting, so the request stays
      // `promoting` and the sweep takes it up again, recognising a POST that already went through.
      log.error({ err: error }, "following the promotion failed; it will be taken up again");
      return;
    }
    log.error({ err: error, code: error.code }, "promotion failed");
    await finish(ctx, request, { targets: [], error: error.message });
  } finally {
    await lease.stop(true);
  }
}

/** DRY_RUN: the call that approval would have made, in words. */
function whatWouldHappen(request: PromotionRequest): string {
  if (request.kind === "rollback") {
    return (request.rollbackTo ?? [])
      .map((t) => `POST /apps/${t.app.name}/releases {release: v${t.version}} (back from v${t.fromVersion})`)
      .join("; ");
  }
  if (request.gitlabJob) return `POST /projects/:id/jobs/${request.gitlabJob.id}/play (${request.gitlabJob.name})`;
  return `POST /pipeline-promotions promoting ${request.sourceApp.name} v${request.sourceReleaseVersion} (release ${request.sourceReleaseId}) to ${request.targetApps.map((a) => a.name).join(", ")}`;
}

/**
 * Releases of the approved slug that Heroku made on the targets since the promotion was started:
 * the trace of a POST that reached Heroku. Undefined when there is none (posting is safe).
 */
async function earlierPromotion(ctx: AppContext, request: PromotionRequest): Promise<Map<string, Release> | undefined> {
  if (!request.slugId || !request.promotionStartedAt) return undefined;
  const since = request.promotionStartedAt.getTime() - SKEW_MS;
  const found = new Map<string, Release>();
  for (const app of request.targetApps) {
    const releases = await ctx.heroku.recentReleases(app.id, 10);
    const before = request.baseline?.[app.id];
    // Only a release newer than what the app had just before the POST can be its trace (an older
    // release of the same build, e.g. before a rollback, is not).
    const match = releases.find(
      (r) =>
        r.slugId === request.slugId && (before !== undefined ? r.version > before : Date.parse(r.createdAt) >= since),
    );
    if (match) found.set(app.id, match);
  }
  return found.size > 0 ? found : undefined;
}

/**
 * After an answer that leaves open whether Heroku acted (5xx, dropped connection, unreadable 2xx),
 * look for its trace for the POST window. `find` throws TraceUnknown when Heroku could not be read.
 */
async function lookForTrace<T>(
  ctx: AppContext,
  lease: LeaseKeeper,
  find: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const until = ctx.clock.now().getTime() + ctx.tuning.promotionPostTimeoutMs;
  let delay = ctx.tuning.pollFirstMs;
  for (;;) {
    lease.check();
    // "No trace" counts only from a lookup that succeeded after the POST window: a failed read at the
    // deadline leaves it unknown, and the request is taken up again instead of posting twice.
    const deadline = ctx.clock.now().getTime() >= until;
    try {
      const earlier = await find();
      if (earlier !== undefined) return earlier;
      if (deadline) return undefined;
    } catch (error) {
      if (deadline || !(error instanceof TraceUnknown)) throw error;
    }
    await ctx.sleep(delay);
    delay = Math.min(ctx.tuning.pollMaxMs, delay * 2);
  }
}

/** Each target's newest release version now (pending and failed releases included). */
async function baselineOf(ctx: AppContext, request: PromotionRequest): Promise<Record<string, number>> {
  const baseline: Record<string, number> = {};
  for (const app of request.targetApps) {
    const releases = await ctx.heroku.recentReleases(app.id, 5);
    baseline[app.id] = Math.max(0, ...releases.map((r) => r.version));
  }
  return baseline;
}

type Started = { request: PromotionRequest } | { outcome: PromotionOutcome } | { earlier: Map<string, Release> };

async function startPromotion(ctx: AppContext, lease: LeaseKeeper, request: PromotionRequest): Promise<Started> {
  let current = request;
  if (current.promotionStartedAt) {
    // A POST may still be in flight from the process that died: wait until it must have ended.
    const settledAt = current.promotionStartedAt.getTime() + ctx.tuning.promotionPostTimeoutMs + 1_000;
    const wait = settledAt - ctx.clock.now().getTime();
    if (wait > 0) await ctx.sleep(wait);
    const earlier = await traceOrUnknown(ctx, current);
    if (earlier) {
      ctx.log.warn({ requestId: current.id }, "an earlier attempt reached Heroku; following its releases");
      await auditRequest(ctx, current, "promotion_recovered", null, {
        releases: [...earlier.values()].map((r) => r.id),
      });
      return { earlier };
    }
  }
  // Taken when the request was made, in the same read that checked what production runs.
  const baseline = current.baseline ?? (await baselineOf(ctx, current));
  for (let attempt = 1; ; attempt++) {
    lease.check();
    // Fenced on the lease: a process that lost it (another follows now) cannot go on to POST.
    const marked = await ctx.store.markPromotionStarted(current.id, ctx.instanceId, ctx.clock.now(), baseline);
    if (!marked) throw new LeaseLost();
    current = marked;
    let promotion: { id: string; status: string };
    try {
      promotion = await ctx.heroku.createPromotion({
        pipelineId: current.herokuPipelineId,
        sourceAppId: current.sourceApp.id,
        sourceReleaseId: current.sourceReleaseId,
        targetAppIds: current.targetApps.map((a) => a.id),
      });
    } catch (error) {
      const retryable = error instanceof DomainError && error.details.retryable === true;
      if (!retryable) throw error;
      // A 5xx, a dropped connection or an unreadable 2xx may still have created the promotion: look for
      // its trace before anything else, after the last attempt too (failing it then could hide a
      // promotion that happened). "No trace" counts only from a lookup that succeeded after the window.
      ctx.log.warn({ err: error, attempt }, "creating the promotion failed; checking Heroku for its trace");
      const earlier = await lookForTrace(ctx, lease, () => traceOrUnknown(ctx, current));
      if (earlier) return { earlier };
      if (attempt >= 4) throw error;
      continue;
    }
    // Heroku accepted it: from here on nothing may fail the request; a store error leaves it promoting
    // (the recovery above then recognises the promotion by its releases).
    const updated = (await ctx.store.updateRequest(current.id, { promotionId: promotion.id })) ?? current;
    await auditRequest(ctx, updated, "promotion_created", null, { promotionId: promotion.id }).catch((error: unknown) =>
      ctx.log.error({ err: error, requestId: current.id }, "could not audit the created promotion"),
    );
    ctx.log.info({ requestId: current.id, promotionId: promotion.id }, "Heroku promotion created");
    return { request: updated };
  }
}

async function pollUntil<T>(
  ctx: AppContext,
  lease: LeaseKeeper,
  startedAt: Date | null,
  read: () => Promise<T | undefined>,
): Promise<T> {
  const started = (startedAt ?? ctx.clock.now()).getTime();
  let delay = ctx.tuning.pollFirstMs;
  for (;;) {
    lease.check();
    try {
      const done = await read();
      if (done !== undefined) return done;
    } catch (error) {
      // The promotion runs on at Heroku whatever happens here; keep following unless Heroku says no.
      if (!(error instanceof DomainError && error.details.retryable === true)) throw error;
      ctx.log.warn({ err: error }, "could not read the promotion's progress; will look again");
    }
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

async function follow(ctx: AppContext, lease: LeaseKeeper, request: PromotionRequest): Promise<PromotionTarget[]> {
  const promotionId = request.promotionId as string;
  return pollUntil(ctx, lease, request.promotionStartedAt, async () => {
    const targets = await ctx.heroku.promotionTargets(promotionId);
    return targets.length > 0 && targets.every((t) => t.status !== "pending") ? targets : undefined;
  });
}

/** Follows the target releases an earlier, unrecorded POST created, until none is pending. */
async function followReleases(
  ctx: AppContext,
  lease: LeaseKeeper,
  request: PromotionRequest,
  earlier: Map<string, Release>,
): Promise<PromotionOutcome> {
  const releases = await pollUntil(ctx, lease, request.promotionStartedAt, async () => {
    const current = new Map<string, Release>();
    for (const [appId, release] of earlier) current.set(appId, await ctx.heroku.release(appId, release.id));
    return [...current.values()].every((r) => r.status !== "pending") ? current : undefined;
  });
  const results: TargetResult[] = [];
  for (const app of request.targetApps) {
    const release = releases.get(app.id);
    if (!release) {
      results.push(missingTarget(app, "Heroku made no release of the approved build on this app"));
      continue;
    }
    const succeeded = release.status === "succeeded";
    results.push({
      app,
      status: succeeded ? "succeeded" : "failed",
      releaseId: release.id,
      releaseVersion: release.version,
      errorMessage: succeeded ? null : `release ${release.status}`,
      outputTail:
        !succeeded && release.outputStreamUrl
          ? await ctx.heroku.releaseOutputTail(release.outputStreamUrl, OUTPUT_LINES)
          : null,
    });
  }
  return { targets: results, error: null };
}

/**
 * Rolls each target app back (POST /apps/{app}/releases with the earlier release), once: a process
 * recovering from a crash first looks for a release of the rollback's build newer than the one the app
 * ran when the rollback was requested. An app that changed since the request is left alone.
 */
async function executeRollback(
  ctx: AppContext,
  lease: LeaseKeeper,
  request: PromotionRequest,
): Promise<PromotionOutcome> {
  const targets = request.rollbackTo ?? [];
  const recovering = request.promotionStartedAt !== null;
  let startedAt = request.promotionStartedAt;
  if (recovering && startedAt) {
    const settledAt = startedAt.getTime() + ctx.tuning.promotionPostTimeoutMs + 1_000;
    const wait = settledAt - ctx.clock.now().getTime();
    if (wait > 0) await ctx.sleep(wait);
  } else {
    startedAt = ctx.clock.now();
    const baseline = Object.fromEntries(targets.map((t) => [t.app.id, t.fromVersion]));
    if (!(await ctx.store.markPromotionStarted(request.id, ctx.instanceId, startedAt, baseline))) throw new LeaseLost();
  }
  const made = new Map<string, Release>();
  const refused: TargetResult[] = [];
  for (const target of targets) {
    lease.check();
    const recent = () => ctx.heroku.recentReleases(target.app.id, 10);
    const trace = (releases: Release[]) =>
      releases.find((r) => r.slugId === target.slugId && r.version > target.fromVersion);
    let release = recovering ? trace(await recent()) : undefined;
    if (!release) {
      // Approval takes time: if the app changed meanwhile (a hotfix), rolling back would drop that too.
      const current = (await recent()).find((r) => r.current);
      if (current && current.version !== target.fromVersion) {
        refused.push(
          missingTarget(
            target.app,
            `not rolled back: it runs v${current.version} now, not v${target.fromVersion} as when the rollback was requested`,
          ),
        );
        continue;
      }
    }
    for (let attempt = 1; !release; attempt++) {
      try {
        release = await ctx.heroku.rollback(target.app.id, target.releaseId);
      } catch (error) {
        // Shutting down is not a refusal: the next process finds what was rolled back and goes on.
        if (isStopping(error)) throw error;
        const retryable = error instanceof DomainError && error.details.retryable === true;
        if (retryable) {
          // Heroku may have rolled back all the same: look for the new release for the POST window
          // (after the last attempt too) before posting again or giving up.
          ctx.log.warn({ err: error, attempt, app: target.app.name }, "rolling back failed; checking Heroku for it");
          release = await lookForTrace(ctx, lease, async () => {
            try {
              return trace(await recent());
            } catch (readError) {
              if (isStopping(readError)) throw readError;
              if (readError instanceof DomainError && readError.details.retryable !== true) throw readError;
              throw new TraceUnknown(readError instanceof Error ? readError.message : readError);
            }
          });
          if (release) break;
        }
        if (!retryable || attempt >= 4) {
          if (made.size === 0 && refused.length === 0) throw error;
          // Some apps were already rolled back: report each app as it stands.
          refused.push(missingTarget(target.app, error instanceof DomainError ? error.message : "rollback failed"));
          break;
        }
      }
    }
    if (!release) continue;
    made.set(target.app.id, release);
    await auditRequest(ctx, request, "rollback_created", null, {
      app: target.app.name,
      release: release.version,
    }).catch((error: unknown) => ctx.log.error({ err: error }, "could not audit a rollback"));
  }
  const followed =
    made.size > 0
      ? await followReleases(ctx, lease, { ...request, promotionStartedAt: startedAt }, made)
      : { targets: [], error: null };
  const results = request.targetApps.map(
    (app) =>
      followed.targets.find((t) => t.app.id === app.id && made.has(app.id)) ??
      refused.find((t) => t.app.id === app.id) ??
      missingTarget(app, "not rolled back"),
  );
  return { targets: results, error: null };
}

const FINAL_JOB_STATUSES = ["success", "failed", "canceled", "skipped"];

/**
 * Strategy gitlab-job: plays the manual production job, once, then follows it to its end (Job Hook
 * deliveries may finish the request first: the final transition is a compare-and-set either way).
 * A job that is no longer `manual` when first looked at was played by someone else: nothing is done.
 * A process recovering from a crash finds the job already played (by the process that died) and follows.
 */
async function executeJob(ctx: AppContext, lease: LeaseKeeper, request: PromotionRequest): Promise<PromotionOutcome> {
  const ref = request.gitlabJob as NonNullable<PromotionRequest["gitlabJob"]>;
  const p = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!p) throw new DomainError("UNKNOWN_PIPELINE", `Pipeline ${request.pipeline} is no longer configured.`);
  const recovering = request.promotionStartedAt !== null;
  if (recovering && request.promotionStartedAt) {
    const wait =
      request.promotionStartedAt.getTime() + ctx.tuning.promotionPostTimeoutMs + 1_000 - ctx.clock.now().getTime();
    if (wait > 0) await ctx.sleep(wait);
  }
  let job = await ctx.gitlab.job(p.gitlabProject, ref.id);
  if (job.status === "manual") {
    lease.check();
    if (!(await ctx.store.markPromotionStarted(request.id, ctx.instanceId, ctx.clock.now(), {}))) throw new LeaseLost();
    for (let attempt = 1; ; attempt++) {
      try {
        job = await ctx.gitlab.playJob(p.gitlabProject, ref.id);
        break;
      } catch (error) {
        // A retried play (gitbeaker repeats 502s) or a lost answer: what counts is whether it now runs.
        job = await ctx.gitlab.job(p.gitlabProject, ref.id);
        if (job.status !== "manual") break;
        const retryable = error instanceof DomainError && error.details.retryable === true;
        if (!retryable || attempt >= 3) throw error;
        await ctx.sleep(Math.min(ctx.tuning.pollMaxMs, ctx.tuning.pollFirstMs * 2 ** attempt));
        lease.check();
      }
    }
    await auditRequest(ctx, request, "job_played", null, { job: ref.id }).catch(() => {});
  } else if (!recovering) {
    const why =
      job.status === "canceled" || job.status === "skipped"
        ? `the job was ${job.status}`
        : `the job had already been played by someone in GitLab (it is ${job.status})`;
    return { targets: [], error: `Nothing was deployed: ${why}. See ${job.webUrl}`, job: jobOutcome(job) };
  }
  const final = await pollUntil(ctx, lease, request.promotionStartedAt ?? ctx.clock.now(), async () => {
    const current = await ctx.gitlab.job(p.gitlabProject, ref.id);
    return FINAL_JOB_STATUSES.includes(current.status) ? current : undefined;
  });
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

function missingTarget(app: AppRef, errorMessage: string): TargetResult {
  return { app, status: "failed", releaseId: null, releaseVersion: null, errorMessage, outputTail: null };
}

async function describeTargets(
  ctx: AppContext,
  request: PromotionRequest,
  targets: PromotionTarget[],
): Promise<PromotionOutcome> {
  const results: TargetResult[] = [];
  for (const app of request.targetApps) {
    const t = targets.find((x) => x.appId === app.id);
    results.push(
      t ? await describeTarget(ctx, app, t) : missingTarget(app, "Heroku did not include this app in the promotion"),
    );
  }
  return { targets: results, error: null };
}

async function describeTarget(ctx: AppContext, app: AppRef, t: PromotionTarget): Promise<TargetResult> {
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
  const done = await ctx.store.transitionRequest(
    request.id,
    ["promoting"],
    state,
    { outcome, finishedAt: ctx.clock.now() },
    auditNote(ctx, request, state, null, {
      targets: outcome.targets.map((t) => ({
        app: t.app.name,
        status: t.status,
        version: t.releaseVersion,
        error: t.errorMessage,
      })),
      ...(outcome.error ? { error: outcome.error } : {}),
    }),
  );
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
  try {
    await refreshRequestMessage(ctx, done);
    if (done.messageTs) await ctx.chat.post(done.channel, outcomeReply(done), done.messageTs);
  } catch (error) {
    ctx.log.error({ err: error, requestId: done.id }, "could not report the promotion's outcome in Slack");
  }
}
