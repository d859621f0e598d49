/**
 * What the three ways of creating a request (a Heroku promotion, a GitLab job, a rollback) share: the
 * lock and freeze-window check with its override, the fields every request starts with, the refusal
 * when one is already active, and what follows storing one (its message, an override's announcement,
 * approval on request).
 */
import type { PipelineConfig } from "../config.js";
import { approvesOnRequest, selfApprovalPossible } from "../domain/approval-policy.js";
import { DomainError } from "../domain/errors.js";
import { closedGates, type Gate, overrideKeys } from "../domain/gate.js";
import type { Candidate } from "../domain/records.js";
import { type PromotionRequest, type RequestKind, shortSha } from "../domain/request.js";
import { closedError, overrideCommand } from "../views/gate-text.js";
import { code, esc, user, when } from "../views/mrkdwn.js";
import { notice } from "../views/replies.js";
import type { ApproverDirectory } from "./approvers.js";
import { auditRequest } from "./audit.js";
import type { AppContext } from "./context.js";
import { approve, claimPosting, postRequestMessage } from "./decide.js";

/** A stored request, and whether approving it on the requester's behalf could not be decided. */
export interface RequestCreated {
  request: PromotionRequest;
  /**
   * True when the policy would let the requester's own approval count at once but Slack could not say
   * whether the requester is an approver: the request then waits for an approval like any other.
   */
  selfApprovalUnchecked: boolean;
}

/** Audits and announces an approver's override of a lock or freeze window for one request. */
export async function announceOverride(
  ctx: AppContext,
  request: PromotionRequest,
  g: Exclude<Gate, { kind: "open" }>,
  reason: string,
  what: string,
): Promise<void> {
  await auditRequest(ctx, request, "override", request.requester, { reason, gate: g.kind });
  await ctx.chat
    .post(
      request.channel,
      notice(
        `:unlock: ${user(request.requester)} overrode ${g.kind === "locked" ? "the lock" : "the freeze window"} of *${esc(request.pipeline)}* for ${esc(what)}: ${esc(reason)}`,
      ),
    )
    .catch((error: unknown) => ctx.log.error({ err: error, requestId: request.id }, "could not announce an override"));
}

/**
 * Checks the lock and freeze windows for a new request; returns the override to store, if any: its
 * reason, and the locks and windows it covers (`gatePasses`).
 */
export async function checkGate(
  ctx: AppContext,
  approvers: ApproverDirectory,
  pipelineConfig: PipelineConfig,
  requester: string,
  override: string | undefined,
  kind: RequestKind = "promotion",
): Promise<{ gate: Gate; overrideReason: string | null; overrideGate: string | null }> {
  const closed = closedGates(await ctx.store.getLock(pipelineConfig.name), pipelineConfig.freeze, ctx.clock.now());
  const g: Gate = closed[0] ?? { kind: "open" };
  if (override !== undefined) {
    if (!(await approvers.isApprover(pipelineConfig, requester))) {
      throw new DomainError(
        "NOT_APPROVER",
        `Only the approvers of *${esc(pipelineConfig.name)}* can override a lock or freeze window.`,
      );
    }
    if (!override.trim()) {
      throw new DomainError("BAD_INPUT", `An override needs a reason: ${overrideCommand(kind, pipelineConfig.name)}.`);
    }
  } else if (g.kind !== "open") {
    throw closedError(g, pipelineConfig.name, { kind });
  }
  const overriding = override !== undefined && g.kind !== "open";
  return {
    gate: g,
    overrideReason: overriding ? override.trim().slice(0, 500) : null,
    overrideGate: overriding ? overrideKeys(closed) : null,
  };
}

/** The fields every new request shares: who asked, where it is shown, how many approvals, when it expires. */
export function requestBasics(ctx: AppContext, pipelineConfig: PipelineConfig, requester: string) {
  const now = ctx.clock.now();
  return {
    id: ctx.newId(),
    pipeline: pipelineConfig.name,
    requester,
    requiredApprovals: pipelineConfig.requiredApprovals,
    createdAt: now,
    expiresAt: new Date(now.getTime() + pipelineConfig.requestTtl.ms),
    channel: pipelineConfig.channel,
    messageTs: null,
  };
}

export function inProgress(existing: PromotionRequest): DomainError {
  const promoting = existing.state === "promoting";
  const unknown = existing.state === "unknown";
  const what = unknown
    ? `was acted on but whose outcome is unknown`
    : promoting
      ? existing.kind === "rollback"
        ? "is being rolled back"
        : "is being promoted"
      : "is waiting for approval";
  const next = unknown
    ? "An approver records what happened, or tries again, with the buttons on its message first."
    : promoting
      ? `Wait for it to finish (\`/promote status ${esc(existing.pipeline)}\`).`
      : "Approve, reject or cancel that one first.";
  return new DomainError(
    "REQUEST_IN_PROGRESS",
    `*${esc(existing.pipeline)}* already has a request that ${what}: v${existing.sourceReleaseVersion}${existing.commitSha ? ` (${code(shortSha(existing.commitSha))})` : ""}, asked by ${user(existing.requester)} ${when(existing.createdAt)} in <#${existing.channel}>. ${next}`,
    { details: { requestId: existing.id } },
  );
}

/**
 * What follows storing any new request: announce an override, turn the staging-ready message into the
 * approval message (or post one), and approve at once when the policy lets the requester do so.
 */
export async function completeRequest(
  ctx: AppContext,
  approvers: ApproverDirectory,
  args: {
    pipelineConfig: PipelineConfig;
    request: PromotionRequest;
    announced: Candidate | undefined;
    g: Gate;
    overrideReason: string | null;
    what: string;
  },
): Promise<RequestCreated> {
  const { pipelineConfig, announced, g, overrideReason } = args;
  let request = args.request;
  if (overrideReason !== null && g.kind !== "open") await announceOverride(ctx, request, g, overrideReason, args.what);

  // The request exists from here on: Slack failing now must not tell the requester it failed (a retry
  // would be refused as "in progress"). A message that could not be posted is posted by the sweep.
  try {
    const claimed = await claimPosting(ctx, request);
    if (claimed) {
      // The staging-ready message of the same release becomes the approval message.
      const into =
        announced?.messageTs && (await ctx.store.transitionCandidate(announced.id, ["live"], "requested"))
          ? announced.messageTs
          : undefined;
      request = await postRequestMessage(ctx, claimed, into);
    }
  } catch (error) {
    ctx.log.error({ err: error, requestId: request.id }, "could not post the approval message; the sweep will");
  }

  if (!selfApprovalPossible(pipelineConfig)) return { request, selfApprovalUnchecked: false };
  let requesterIsApprover: boolean;
  try {
    requesterIsApprover = await approvers.isApprover(pipelineConfig, request.requester);
  } catch (error) {
    // Not approving is the safe side, but not silently: the requester is told the request waits for an
    // approval (theirs included, once Slack answers), and the log says why it was not approved at once.
    ctx.log.warn(
      { err: error, requestId: request.id, pipeline: pipelineConfig.name, slackUser: request.requester },
      "could not check whether the requester is an approver; the request waits for an approval",
    );
    return { request, selfApprovalUnchecked: true };
  }
  if (approvesOnRequest({ requesterIsApprover, policy: pipelineConfig })) {
    await approve(ctx, approvers, { requestId: request.id, actor: request.requester });
    request = (await ctx.store.getRequest(request.id)) ?? request;
  }
  return { request, selfApprovalUnchecked: false };
}
