/**
 * The way out of `unknown`: an approver who checked what happened records it, or asks the bot to try
 * again. Trying again is safe by construction: the executor starts from the earlier attempt's trace
 * (a recovering process's path) and acts only when it finds none. Both are audited with the actor.
 */
import { DomainError } from "../domain/errors.js";
import type { PromotionOutcome, PromotionRequest } from "../domain/request.js";
import { finalStateText } from "../views/denials.js";
import { esc } from "../views/mrkdwn.js";
import { outcomeReply } from "../views/thread-replies.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditNote, auditRequest } from "./audit.js";
import type { AppContext } from "./context.js";
import { refreshRequestMessage } from "./decide.js";

export type Resolution = "succeeded" | "failed" | "retry";

export async function resolveUnknown(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { requestId: string; actor: string; resolution: Resolution },
): Promise<PromotionRequest> {
  const request = await ctx.store.getRequest(args.requestId);
  if (!request) {
    throw new DomainError(
      "REQUEST_NOT_FOUND",
      "I have no such promotion request. Ask with `/promote &lt;pipeline&gt;`.",
    );
  }
  const pipelineConfig = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!pipelineConfig) {
    throw new DomainError("UNKNOWN_PIPELINE", `Pipeline ${esc(request.pipeline)} is no longer configured.`);
  }
  if (request.state !== "unknown") return refuse(ctx, request, args.actor, stale(request));
  if (!(await approvers.isApprover(pipelineConfig, args.actor))) {
    return refuse(
      ctx,
      request,
      args.actor,
      new DomainError(
        "NOT_APPROVER",
        `Only the approvers of *${esc(pipelineConfig.name)}* can record what happened to this request or try it again.`,
      ),
    );
  }
  const unknown = request.outcome?.unknown ?? { why: "the outcome was not established", link: null };
  if (args.resolution === "retry") {
    // A fresh follow window from now (the database's clock); the trace lookup still recognises what an
    // earlier attempt did, by the baseline taken before it.
    const retried = await ctx.store.transitionRequest(
      request.id,
      ["unknown"],
      "promoting",
      { promotionStartedAt: await ctx.store.databaseNow() },
      auditNote(ctx, request, "retried", args.actor, { why: unknown.why }),
    );
    if (!retried) return refuse(ctx, request, args.actor, stale((await ctx.store.getRequest(request.id)) ?? request));
    ctx.log.info({ requestId: request.id, actor: args.actor }, "an approver asked to try an unknown outcome again");
    await refresh(ctx, retried);
    return retried;
  }
  const outcome: PromotionOutcome = {
    targets: [],
    error: null,
    recorded: { by: args.actor, as: args.resolution, at: ctx.clock.now().toISOString(), unknown },
  };
  const recorded = await ctx.store.transitionRequest(
    request.id,
    ["unknown"],
    args.resolution,
    { outcome, finishedAt: ctx.clock.now() },
    auditNote(ctx, request, "outcome_recorded", args.actor, { as: args.resolution }),
  );
  if (!recorded) return refuse(ctx, request, args.actor, stale((await ctx.store.getRequest(request.id)) ?? request));
  ctx.log.info({ requestId: request.id, actor: args.actor, as: args.resolution }, "an approver recorded the outcome");
  await refresh(ctx, recorded);
  if (recorded.messageTs) {
    await ctx.chat
      .post(recorded.channel, outcomeReply(recorded), recorded.messageTs)
      .catch((error: unknown) =>
        ctx.log.warn({ err: error, requestId: recorded.id }, "could not post the record in the thread"),
      );
  }
  return recorded;
}

function stale(request: PromotionRequest): DomainError {
  return new DomainError(
    "ALREADY_DECIDED",
    `This request's outcome is no longer unknown: ${finalStateText(request)}. Nothing was recorded.`,
  );
}

async function refresh(ctx: AppContext, request: PromotionRequest): Promise<void> {
  await refreshRequestMessage(ctx, request).catch((error: unknown) =>
    ctx.log.error({ err: error, requestId: request.id }, "could not update the request's Slack message"),
  );
}

async function refuse(ctx: AppContext, request: PromotionRequest, actor: string, error: DomainError): Promise<never> {
  await auditRequest(ctx, request, "denied", actor, { code: error.code });
  throw error;
}
