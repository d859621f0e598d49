/**
 * Processing a recorded GitLab or Heroku delivery, off the request path, under one bounded retry policy
 * for every kind of delivery: a failure that may pass (Slack, Heroku or GitLab unavailable, a store error, the
 * unexpected) is retried with backoff up to `deliveryAttempts` attempts; a definite refusal fails it at
 * once. A failed delivery keeps its reason in the deliveries table (state `failed`, `last_error`) and
 * is logged at error level. A failure to reach Slack is never reported to Slack.
 */
import { isSlackError, isTransientSlackError, slackReason } from "../adapters/slack/slack-errors.js";
import { DomainError } from "../domain/errors.js";
import { HANDLED_EVENTS, type HandledBody, isHandledEvent, type PipelineEvent } from "../domain/gitlab-events.js";
import { type HerokuEvent, parseHerokuEvent } from "../domain/heroku-events.js";
import type { Delivery } from "../domain/records.js";
import type { Logger } from "../infra/logger.js";
import { isStopping } from "../infra/stopping.js";
import { errorText } from "../views/error-text.js";
import { processingFailedMessage } from "../views/staging-messages.js";
import type { AppContext } from "./context.js";
import { finishJobFromHook } from "./execute/gitlab-job.js";
import { onHerokuEvent } from "./heroku-events.js";
import { concernedPipelines, onPipelineEvent } from "./staging-ready.js";

/** How one kind of delivery is read, handled, and reported when it fails for good. */
interface DeliveryKind<T> {
  /** For log lines: "GitLab" or "Heroku". */
  provider: string;
  read(delivery: Delivery): { body: T } | { problem: string } | { nothing: true };
  handle(ctx: AppContext, body: T, log: Logger): Promise<void>;
  /** Said where people see it, when the delivery failed for good for a reason other than Slack. */
  report?(ctx: AppContext, body: T, why: string): Promise<void>;
}

const GITLAB: DeliveryKind<HandledBody> = {
  provider: "GitLab",
  read(delivery) {
    if (!isHandledEvent(delivery.event)) return { nothing: true };
    const parsed = HANDLED_EVENTS[delivery.event].safeParse(JSON.parse(delivery.body));
    // Validated before it was recorded; only a schema change between versions can fail here.
    return parsed.success ? { body: parsed.data } : { problem: "body no longer matches the schema" };
  },
  handle,
  report: async (ctx, body, why) => {
    if (body.object_kind === "pipeline") await reportFailure(ctx, body, why);
  },
};

/** Heroku app webhook events (there is no channel to report a failed one to: the log says it). */
const HEROKU: DeliveryKind<HerokuEvent> = {
  provider: "Heroku",
  read(delivery) {
    const parsed = parseHerokuEvent(JSON.parse(delivery.body));
    return "problem" in parsed
      ? { problem: `body no longer matches the schema: ${parsed.problem}` }
      : { body: parsed.event };
  },
  async handle(ctx, event, log) {
    const outcomes = await onHerokuEvent(ctx, event);
    log.debug({ outcomes }, "Heroku event processed");
  },
};

export async function processDelivery(ctx: AppContext, delivery: Delivery): Promise<void> {
  if (delivery.event.startsWith("heroku:")) return run(ctx, delivery, HEROKU);
  return run(ctx, delivery, GITLAB);
}

async function run<T>(ctx: AppContext, delivery: Delivery, kind: DeliveryKind<T>): Promise<void> {
  const log = ctx.log.child({ delivery: delivery.id, event: delivery.event, attempt: delivery.attempts });
  const read = kind.read(delivery);
  if ("nothing" in read) {
    await ctx.store.finishDelivery(delivery.id, "done");
    return;
  }
  if ("problem" in read) {
    await ctx.store.finishDelivery(delivery.id, "failed", read.problem);
    return;
  }
  if (delivery.attempts > ctx.tuning.deliveryAttempts) {
    // Claimed more often than it may be attempted: each process handling it stopped before it ended.
    const reason = `gave up after ${delivery.attempts - 1} attempts: ${delivery.lastError ?? "the process handling it stopped each time"}`;
    log.error({ reason }, `a ${kind.provider} delivery failed for good`);
    await ctx.store.finishDelivery(delivery.id, "failed", reason);
    return;
  }
  try {
    await kind.handle(ctx, read.body, log);
    await ctx.store.finishDelivery(delivery.id, "done");
  } catch (error) {
    if (isStopping(error)) {
      // Shutting down mid-way: hand the delivery back so the next process picks it up at once.
      await ctx.store.releaseDelivery(delivery.id, ctx.instanceId);
      throw error;
    }
    await failed(ctx, delivery, kind, read.body, error, log);
  }
}

async function handle(ctx: AppContext, body: HandledBody, log: Logger): Promise<void> {
  if (body.object_kind === "build") {
    await onJobEvent(ctx, body.build_id);
    return;
  }
  // Deployment events are only recorded.
  if (body.object_kind !== "pipeline") return;
  const outcomes = await onPipelineEvent(ctx, body);
  log.info(
    { outcomes, status: body.object_attributes.status, ref: body.object_attributes.ref },
    "pipeline event processed",
  );
}

/** What the failure means: retry later, or fail the delivery (and say so in Slack when Slack is not the problem). */
async function failed<T>(
  ctx: AppContext,
  delivery: Delivery,
  kind: DeliveryKind<T>,
  body: T,
  error: unknown,
  log: Logger,
) {
  const slack = isSlackError(error) || (error instanceof DomainError && error.code === "SLACK_FAILED");
  const definite =
    (error instanceof DomainError && !error.retryable && error.code !== "SLACK_FAILED") ||
    (isSlackError(error) && !isTransientSlackError(error));
  const reason =
    error instanceof DomainError
      ? errorText(error)
      : isSlackError(error)
        ? slackReason(error)
        : "an unexpected error (see the bot's logs)";
  const code = error instanceof DomainError ? error.code : undefined;
  if (!definite && delivery.attempts < ctx.tuning.deliveryAttempts) {
    const delay = Math.min(
      ctx.tuning.deliveryRetryMaxMs,
      ctx.tuning.deliveryRetryFirstMs * 2 ** Math.max(0, delivery.attempts - 1),
    );
    log.warn(
      { err: error, code, retryInMs: delay },
      `processing a ${kind.provider} delivery failed; it will be tried again`,
    );
    await ctx.store.retryDeliveryLater(
      delivery.id,
      ctx.instanceId,
      new Date(ctx.clock.now().getTime() + delay),
      reason,
    );
    return;
  }
  const why = definite ? reason : `gave up after ${delivery.attempts} attempts: ${reason}`;
  log.error({ err: error, code, attempts: delivery.attempts }, `a ${kind.provider} delivery failed for good`);
  await ctx.store.finishDelivery(delivery.id, "failed", why.slice(0, 500));
  // Telling the channel needs Slack: when Slack is what failed, the log and the deliveries table say it.
  if (!slack) await kind.report?.(ctx, body, why);
}

/** A Job Hook: if it is the production job a request played, the request can be finished now. */
async function onJobEvent(ctx: AppContext, jobId: number): Promise<void> {
  for (const pipelineConfig of ctx.pipelines.filter((x) => x.strategy === "gitlab-job")) {
    const active = await ctx.store.activeRequest(pipelineConfig.name);
    // A request whose outcome is unknown is settled by the hook too: it carries the job's true outcome.
    if (
      !(active?.state === "promoting" || active?.state === "unknown") ||
      active.kind !== "gitlab-job" ||
      active.gitlabJob.id !== jobId
    )
      continue;
    // The hook says the job ended; the job as GitLab shows it now gives the duration and URL.
    const job = await ctx.gitlab.job(pipelineConfig.gitlabProject, jobId);
    await finishJobFromHook(ctx, active, job);
  }
}

async function reportFailure(ctx: AppContext, event: PipelineEvent, reason: string): Promise<void> {
  for (const pipelineConfig of concernedPipelines(ctx.pipelines, event)) {
    try {
      await ctx.chat.post(
        pipelineConfig.channel,
        processingFailedMessage({
          pipeline: pipelineConfig.name,
          what: `Checking staging for ${event.object_attributes.sha.slice(0, 8)} (CI pipeline #${event.object_attributes.id})`,
          reason,
        }),
      );
    } catch (error) {
      ctx.log.error({ err: error, pipeline: pipelineConfig.name }, "could not report a processing failure in Slack");
    }
  }
}
