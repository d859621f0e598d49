/** Processing a recorded GitLab delivery, off the request path. */
import { DomainError } from "../domain/errors.js";
import { HANDLED_EVENTS, isHandledEvent, type PipelineEvent } from "../domain/gitlab-events.js";
import type { Delivery } from "../domain/records.js";
import { isStopping } from "../infra/stopping.js";
import { processingFailedMessage } from "../views/messages.js";
import type { AppContext } from "./context.js";
import { finishJobFromHook } from "./execute/gitlab-job.js";
import { concernedPipelines, onPipelineEvent } from "./staging-ready.js";

export async function processDelivery(ctx: AppContext, delivery: Delivery): Promise<void> {
  const log = ctx.log.child({ delivery: delivery.id, gitlabEvent: delivery.event, attempt: delivery.attempts });
  if (!isHandledEvent(delivery.event)) {
    await ctx.store.finishDelivery(delivery.id, "done");
    return;
  }
  const parsed = HANDLED_EVENTS[delivery.event].safeParse(JSON.parse(delivery.body));
  if (!parsed.success) {
    // Validated before it was recorded; only a schema change between versions can get here.
    await ctx.store.finishDelivery(delivery.id, "failed", "body no longer matches the schema");
    return;
  }
  const body = parsed.data;
  if (body.object_kind === "build") {
    await onJobEvent(ctx, body.build_id);
    await ctx.store.finishDelivery(delivery.id, "done");
    return;
  }
  if (body.object_kind !== "pipeline") {
    // Deployment events are only recorded.
    await ctx.store.finishDelivery(delivery.id, "done");
    return;
  }
  let outcomes: Awaited<ReturnType<typeof onPipelineEvent>>;
  try {
    outcomes = await onPipelineEvent(ctx, body);
  } catch (error) {
    if (isStopping(error)) {
      // Shutting down mid-way: hand the delivery back so the next process picks it up at once.
      await ctx.store.releaseDelivery(delivery.id, ctx.instanceId);
      throw error;
    }
    const reason = error instanceof DomainError ? error.message : "an unexpected error (see the bot's logs)";
    log.error(
      { err: error, code: error instanceof DomainError ? error.code : undefined },
      "processing a pipeline event failed",
    );
    await ctx.store.finishDelivery(delivery.id, "failed", reason.slice(0, 500));
    await reportFailure(ctx, body, reason);
    return;
  }
  // Outside the try: a store error here must not be reported to the channel as a processing failure
  // (the delivery stays unfinished and is picked up again; the candidate's unique index keeps it single).
  log.info(
    { outcomes, status: body.object_attributes.status, ref: body.object_attributes.ref },
    "pipeline event processed",
  );
  await ctx.store.finishDelivery(delivery.id, "done");
}

/** A Job Hook: if it is the production job a request played, the request can be finished now. */
async function onJobEvent(ctx: AppContext, jobId: number): Promise<void> {
  for (const p of ctx.pipelines.filter((x) => x.strategy === "gitlab-job")) {
    const active = await ctx.store.activeRequest(p.name);
    // A request whose outcome is unknown is settled by the hook too: it carries the job's true outcome.
    if (!(active?.state === "promoting" || active?.state === "unknown") || active.gitlabJob?.id !== jobId) continue;
    // The hook says the job ended; the job as GitLab shows it now gives the duration and URL.
    const job = await ctx.gitlab.job(p.gitlabProject, jobId);
    await finishJobFromHook(ctx, active, job);
  }
}

async function reportFailure(ctx: AppContext, event: PipelineEvent, reason: string): Promise<void> {
  for (const p of concernedPipelines(ctx.pipelines, event)) {
    try {
      await ctx.chat.post(
        p.channel,
        processingFailedMessage({
          pipeline: p.name,
          what: `Checking staging for ${event.object_attributes.sha.slice(0, 8)} (CI pipeline #${event.object_attributes.id})`,
          reason,
        }),
      );
    } catch (error) {
      ctx.log.error({ err: error, pipeline: p.name }, "could not report a processing failure in Slack");
    }
  }
}
