/**
 * Approve, reject, cancel and expire: every decision is re-checked against the stored request and the
 * configured policy (never the button payload), and every state change is a compare-and-set.
 */
import type { PipelineConfig } from "../config.js";
import { checkCanEnd, checkDecidable, type Denial, evaluateApproval } from "../domain/approval-policy.js";
import { driftBlocks } from "../domain/drift.js";
import { DomainError } from "../domain/errors.js";
import { blockingGate } from "../domain/gate.js";
import type { ChatMessage } from "../domain/ports.js";
import { isActive, isExpired, type PromotionRequest } from "../domain/request.js";
import { denialError } from "../views/denials.js";
import { driftRefusal } from "../views/drift-text.js";
import { closedError } from "../views/gate-text.js";
import { code, esc } from "../views/mrkdwn.js";
import { requestMessage } from "../views/request-message.js";
import { decisionReply } from "../views/thread-replies.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditNote } from "./audit.js";
import type { AppContext } from "./context.js";
import { recheckDrift } from "./drift-check.js";
import { findPipeline, pipelineView } from "./pipelines.js";
import { productionChangesSeen } from "./release-view.js";

export type DecisionResult =
  | { kind: "approved"; count: number; required: number; promoting: boolean }
  | { kind: "ended"; state: "rejected" | "cancelled" };

function pipelineOf(ctx: AppContext, request: PromotionRequest): PipelineConfig {
  const pipelineConfig = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!pipelineConfig) {
    throw new DomainError(
      "UNKNOWN_PIPELINE",
      `Pipeline ${request.pipeline} is no longer configured, so this request cannot be decided.`,
    );
  }
  return pipelineConfig;
}

/** How far before a request's creation its message is looked for (the process's clock and Slack's may differ). */
const SEARCH_MARGIN_MS = 5 * 60_000;

/**
 * Posts a request's message that is not known to be posted (one process does it): a crash, or a post
 * that failed. A post that failed may still have been shown (Slack accepted it and the answer was
 * lost, or the process stopped before storing its ts), so the channel is searched first for a message
 * carrying the request's id, and a message found is adopted rather than posted again. A search that
 * Slack refuses for good (the bot not in the channel, a scope missing) falls back to posting: a
 * request shown twice is better than one not shown; the warning says what would prevent it.
 */
export async function postMissingMessage(ctx: AppContext, request: PromotionRequest): Promise<void> {
  const claimed = await claimPosting(ctx, request);
  if (!claimed) return;
  const since = new Date(claimed.createdAt.getTime() - SEARCH_MARGIN_MS);
  const search = await ctx.chat.findRequestMessage(claimed.channel, claimed.id, since);
  if (search.kind === "found") {
    ctx.log.warn(
      { requestId: claimed.id, messageTs: search.ts },
      "found the request's message in the channel though its post was not recorded; showing the request in it",
    );
    await postRequestMessage(ctx, claimed, search.ts);
    return;
  }
  if (search.kind === "unsearchable") {
    ctx.log.warn(
      { requestId: claimed.id, channel: claimed.channel, reason: search.reason },
      "could not look in the channel for a request message whose post may have been shown; posting it, so it may show twice (invite the bot to the channel and grant channels:history and groups:history to prevent this)",
    );
  } else {
    ctx.log.warn({ requestId: claimed.id }, "posting a request message that was never posted");
  }
  await postRequestMessage(ctx, claimed);
}

/**
 * Takes the job of posting a request's message: one process posts it (the creator at once, or the
 * sweep once the creator has been silent for `messageGraceMs`). Undefined when another has it.
 */
export function claimPosting(ctx: AppContext, request: PromotionRequest): Promise<PromotionRequest | undefined> {
  return ctx.store.claimMessagePosting(request.id, ctx.tuning.messageGraceMs);
}

/**
 * Posts the message of a request that has none (after `claimPosting`), or turns an existing message
 * (`into`: the staging-ready message of the same release) into it. The ts is stored only once the
 * message shows the request, then the message is brought up to date with anything decided meanwhile.
 */
export async function postRequestMessage(
  ctx: AppContext,
  request: PromotionRequest,
  into?: string,
): Promise<PromotionRequest> {
  const render = renderer(ctx, request);
  if (!render) return request;
  const message = await render(request);
  let ts = into;
  if (ts) await ctx.chat.update(request.channel, ts, message);
  else ts = (await ctx.chat.post(request.channel, message)).ts;
  const saved = (await ctx.store.updateRequest(request.id, { messageTs: ts })) ?? { ...request, messageTs: ts };
  return converge(ctx, render, saved, message);
}

/**
 * Brings the request's message up to date with the stored state. A request whose message is not
 * posted yet is left alone: whoever posts it shows the latest state (postRequestMessage).
 *
 * Slack keeps whichever update arrives last, and several renders of one request can be in flight at
 * once (a denied click showing "promoting" while the follower shows "succeeded", possibly from
 * another process). So after each update the request is read again and, if the stored state now
 * renders differently from what was sent, sent again. Every state change is followed by a render by
 * the process that made it, so the last update Slack receives shows the latest state; what a failed
 * update leaves behind on a finished request is mended by the sweep (`settleMessages`).
 */
export async function refreshRequestMessage(ctx: AppContext, request: PromotionRequest): Promise<PromotionRequest> {
  const render = renderer(ctx, request);
  if (!render || !request.messageTs) return request;
  const message = await render(request);
  await ctx.chat.update(request.channel, request.messageTs, message);
  return converge(ctx, render, request, message);
}

type Render = (r: PromotionRequest) => Promise<ChatMessage>;

/** Renders a request's message as of one moment (so that two renders differ only if the state did). */
function renderer(ctx: AppContext, request: PromotionRequest): Render | undefined {
  const pipelineConfig = ctx.pipelines.find((x) => x.name === request.pipeline);
  if (!pipelineConfig) return undefined;
  const view = pipelineView(pipelineConfig);
  const now = ctx.clock.now();
  return async (r) => ({
    ...requestMessage({
      request: r,
      approvals: await ctx.store.approvals(r.id),
      pipeline: view,
      now,
      productionChanged: await productionChangesSeen(ctx, r).catch(() => []),
    }),
    requestId: r.id,
  });
}

async function converge(
  ctx: AppContext,
  render: Render,
  sent: PromotionRequest,
  message: ChatMessage,
): Promise<PromotionRequest> {
  let shown = sent;
  let last = message;
  for (let attempt = 0; attempt < MAX_RERENDERS; attempt++) {
    const latest = await ctx.store.getRequest(shown.id);
    if (!latest?.messageTs) return shown;
    const again = await render(latest);
    if (JSON.stringify(again) === JSON.stringify(last)) return latest;
    await ctx.chat.update(latest.channel, latest.messageTs, again);
    shown = latest;
    last = again;
  }
  return shown;
}

/** Denials of one person on one request are audited once in this window. */
const DENIAL_AUDIT_MS = 60_000;

/** Bounds the re-renders of one refresh: each follows a change made meanwhile (a decision, an approval). */
const MAX_RERENDERS = 10;

/** Message updates are best effort after the state is stored: the state is the truth, the message follows. */
async function refreshQuietly(ctx: AppContext, request: PromotionRequest): Promise<void> {
  try {
    await refreshRequestMessage(ctx, request);
  } catch (error) {
    ctx.log.error({ err: error, requestId: request.id }, "could not update the request's Slack message");
  }
}

const sharedReads = new WeakMap<AppContext["store"], Map<string, Promise<PromotionRequest | undefined>>>();

/**
 * Reads of one request asked for in the same tick share one query: a burst of clicks on one message
 * (a person clicking again and again; denied clicks are the hot path in bench/RESULTS.md) reads it
 * once. The query starts only after every reader sharing it asked, so each sees the request as fresh
 * as a read of its own would. Readers get the same object: nothing here changes a request in place.
 */
function readShared(ctx: AppContext, requestId: string): Promise<PromotionRequest | undefined> {
  let reads = sharedReads.get(ctx.store);
  if (!reads) {
    reads = new Map();
    sharedReads.set(ctx.store, reads);
  }
  const pending = reads.get(requestId);
  if (pending) return pending;
  const inTick = reads;
  const read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    inTick.delete(requestId);
    return ctx.store.getRequest(requestId);
  });
  reads.set(requestId, read);
  return read;
}

/** The stored request; `shown` when loading it expired it and its message was just updated. */
async function load(ctx: AppContext, requestId: string): Promise<{ request: PromotionRequest; shown: boolean }> {
  const request = await readShared(ctx, requestId);
  if (!request) {
    throw new DomainError(
      "REQUEST_NOT_FOUND",
      "I have no such promotion request. Ask with `/promote &lt;pipeline&gt;`.",
    );
  }
  if (isExpired(request, ctx.clock.now())) {
    const expired = await expireRequest(ctx, request);
    if (expired) return { request: expired, shown: true };
    return { request: (await ctx.store.getRequest(requestId)) ?? request, shown: false };
  }
  return { request, shown: false };
}

/** Moves a pending request past its expiry to expired (once), and shows it. */
export async function expireRequest(ctx: AppContext, request: PromotionRequest): Promise<PromotionRequest | undefined> {
  const expired = await ctx.store.transitionRequest(
    request.id,
    ["pending"],
    "expired",
    { finishedAt: ctx.clock.now(), decidedBy: null },
    auditNote(ctx, request, "expired", null, { expiresAt: request.expiresAt.toISOString() }),
  );
  if (!expired) return undefined;
  ctx.log.info({ requestId: request.id, pipeline: request.pipeline }, "request expired");
  await refreshQuietly(ctx, expired);
  return expired;
}

async function deny(
  ctx: AppContext,
  request: PromotionRequest,
  actor: string,
  reason: DomainError | Denial,
  shown = false,
): Promise<never> {
  const error = reason instanceof DomainError ? reason : denialError(reason);
  // One row per person, request and minute: a burst of clicks (or a script) does not flood the audit.
  const first = await ctx.store.auditUnlessRecent(
    {
      requestId: request.id,
      pipeline: request.pipeline,
      event: "denied",
      actor,
      at: ctx.clock.now(),
      detail: { code: error.code },
    },
    DENIAL_AUDIT_MS,
  );
  // A click on a message that is out of date (it still shows buttons of an active request that moved
  // on) gets it brought up to date, once per person and minute. A finished request is never re-rendered
  // for a denial: the sweep settles its message (settleMessages), so a click cannot buy Slack calls.
  if (first && isActive(request.state) && request.state !== "pending" && !shown) await refreshQuietly(ctx, request);
  throw error;
}

export async function approve(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { requestId: string; actor: string },
): Promise<DecisionResult> {
  const { request, shown } = await load(ctx, args.requestId);
  const pipelineConfig = pipelineOf(ctx, request);
  const undecidable = checkDecidable(request, ctx.clock.now());
  if (undecidable) return deny(ctx, request, args.actor, undecidable, shown);
  const actorIsApprover = await approvers.isApprover(pipelineConfig, args.actor);
  // Non-approvers are refused whatever the lock or the approvals say, so neither is read for them
  // (denied clicks are the hot path measured in bench/RESULTS.md).
  if (actorIsApprover) {
    // A lock or freeze window stops approvals too, unless an approver overrode it for this request.
    // Every lock and window closing it must be covered, not only the first.
    const blocking = blockingGate(
      await ctx.store.getLock(pipelineConfig.name),
      pipelineConfig.freeze,
      ctx.clock.now(),
      request,
    );
    if (blocking.kind !== "open") {
      return deny(
        ctx,
        request,
        args.actor,
        closedError(blocking, pipelineConfig.name, { kind: request.kind, held: true }),
      );
    }
    // `drift: block` (issue 16): the drift is read again, so that drift fixed since the request lets
    // approvals through; drift no override covers refuses them, with the list.
    if (driftBlocks(pipelineConfig.drift, request.drift)) {
      const report = await recheckDrift(ctx, pipelineConfig, request);
      if (driftBlocks(pipelineConfig.drift, report)) {
        return deny(
          ctx,
          request,
          args.actor,
          new DomainError("DRIFT_BLOCKED", driftRefusal(report, pipelineConfig.name, "approve")),
        );
      }
    }
  }
  const approvals = actorIsApprover ? await ctx.store.approvals(request.id) : [];
  const decision = evaluateApproval({
    request,
    approvals,
    actor: args.actor,
    actorIsApprover,
    policy: { requiredApprovals: request.requiredApprovals, allowSelfApproval: pipelineConfig.allowSelfApproval },
    now: ctx.clock.now(),
  });
  if (decision.kind === "deny") return deny(ctx, request, args.actor, decision.denial);

  const added = await ctx.store.addApproval(
    { requestId: request.id, approver: args.actor, at: ctx.clock.now() },
    auditNote(ctx, request, "approved", args.actor),
  );
  if (!added) {
    return deny(
      ctx,
      request,
      args.actor,
      new DomainError("ALREADY_APPROVED", "You already approved this request; it needs another approver."),
    );
  }
  // Counted after the insert committed: of several simultaneous approvers, at least the last sees them all.
  const count = (await ctx.store.approvals(request.id)).length;
  if (count < request.requiredApprovals) {
    const current = (await ctx.store.getRequest(request.id)) ?? request;
    await refreshQuietly(ctx, current);
    return { kind: "approved", count, required: request.requiredApprovals, promoting: false };
  }
  const promoting = await startPromoting(ctx, request, count);
  if (!promoting) {
    // Someone else moved it on between the approval and here: promoting (another approval won, fine)
    // or rejected, cancelled or expired, which the clicker must be told.
    const current = (await ctx.store.getRequest(request.id)) ?? request;
    if (current.state !== "promoting") {
      const error =
        checkDecidable(current, ctx.clock.now()) ??
        new DomainError("ALREADY_DECIDED", "This request was decided meanwhile; your approval did not count.");
      return deny(ctx, current, args.actor, error);
    }
  }
  return { kind: "approved", count, required: request.requiredApprovals, promoting: promoting !== undefined };
}

/**
 * Moves a fully approved request to promoting, exactly once: of several approvers (or processes)
 * getting here at once, one wins the compare-and-set; the others' approvals are recorded but moot.
 */
export async function startPromoting(
  ctx: AppContext,
  request: PromotionRequest,
  approvals: number,
): Promise<PromotionRequest | undefined> {
  // Approvals count only before expiry, and so does the move on: a request that expired meanwhile
  // (by the database's clock) is left to the expiry step, never promoted.
  const promoting = await ctx.store.transitionRequest(
    request.id,
    ["pending"],
    "promoting",
    {},
    auditNote(ctx, request, "promoting", null, { approvals }),
    { unexpired: true },
  );
  if (!promoting) return undefined;
  ctx.log.info({ requestId: request.id, pipeline: request.pipeline, approvals }, "request approved; promoting");
  await refreshQuietly(ctx, promoting);
  return promoting;
}

export async function endRequest(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { requestId: string; actor: string; action: "reject" | "cancel"; reason?: string },
): Promise<DecisionResult> {
  const { request, shown } = await load(ctx, args.requestId);
  const pipelineConfig = pipelineOf(ctx, request);
  const undecidable = checkDecidable(request, ctx.clock.now());
  if (undecidable) return deny(ctx, request, args.actor, undecidable, shown);
  const actorIsApprover = await approvers.isApprover(pipelineConfig, args.actor);
  const refused = checkCanEnd({
    request,
    actor: args.actor,
    actorIsApprover,
    action: args.action,
    now: ctx.clock.now(),
  });
  if (refused) return deny(ctx, request, args.actor, refused);
  const to = args.action === "reject" ? "rejected" : "cancelled";
  const ended = await ctx.store.transitionRequest(
    request.id,
    ["pending"],
    to,
    { decidedBy: args.actor, reason: args.reason ?? null, finishedAt: ctx.clock.now() },
    auditNote(ctx, request, to, args.actor, args.reason ? { reason: args.reason } : {}),
  );
  if (!ended) {
    const current = (await ctx.store.getRequest(request.id)) ?? request;
    const error =
      checkDecidable(current, ctx.clock.now()) ??
      new DomainError("ALREADY_DECIDED", "This request was decided meanwhile.");
    return deny(ctx, current, args.actor, error);
  }
  await refreshQuietly(ctx, ended);
  if (ended.messageTs) {
    try {
      await ctx.chat.post(ended.channel, decisionReply(ended, args.actor, to), ended.messageTs);
    } catch (error) {
      ctx.log.warn({ err: error, requestId: ended.id }, "could not post the decision in the thread");
    }
  }
  return { kind: "ended", state: to };
}

/** `/promote cancel <pipeline>`: cancels the pipeline's pending request (the requester or an approver). */
export async function cancelPending(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: { pipeline: string; actor: string },
): Promise<PromotionRequest> {
  const pipelineConfig = findPipeline(ctx.pipelines, args.pipeline);
  const active = await ctx.store.activeRequest(pipelineConfig.name);
  if (!active)
    throw new DomainError("REQUEST_NOT_FOUND", `*${esc(pipelineConfig.name)}* has no pending request to cancel.`);
  if (active.state !== "pending") {
    throw new DomainError(
      "ALREADY_DECIDED",
      `The request for *${esc(pipelineConfig.name)}* is already being promoted and cannot be cancelled; see ${code(`/promote status ${pipelineConfig.name}`)}.`,
    );
  }
  await endRequest(ctx, approvers, { requestId: active.id, actor: args.actor, action: "cancel" });
  return active;
}
