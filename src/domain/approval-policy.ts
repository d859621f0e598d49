/**
 * The approval check, as a pure function: given the stored request, its approvals, the clicker and
 * whether the clicker is an approver, decide whether the click counts. Nothing from the button
 * payload takes part besides the request id used to load the request.
 */
import { DomainError } from "./errors.js";
import { type Approval, isExpired, type PromotionRequest } from "./request.js";

export interface ApprovalPolicy {
  requiredApprovals: number;
  allowSelfApproval: boolean;
}

export type ApprovalDecision =
  | { kind: "record"; complete: boolean; count: number }
  | { kind: "deny"; error: DomainError };

export function describeFinalState(request: PromotionRequest): string {
  switch (request.state) {
    case "promoting":
      return "it is already being promoted";
    case "succeeded":
      return "it was already promoted";
    case "failed":
      return "its promotion already ran and failed";
    case "unknown":
      return "it was acted on and its outcome is unknown (an approver records it or tries again on its message)";
    case "dry_run":
      return "it was approved as a dry run, which changed nothing";
    case "rejected":
      return `it was rejected${request.decidedBy ? ` by <@${request.decidedBy}>` : ""}`;
    case "cancelled":
      return `it was cancelled${request.decidedBy ? ` by <@${request.decidedBy}>` : ""}`;
    case "expired":
      return "it expired";
    case "pending":
      return "it is still pending";
  }
}

/** Checks that a request can still be decided at all (pending and not expired). */
export function checkDecidable(request: PromotionRequest, now: Date): DomainError | undefined {
  if (isExpired(request, now) || request.state === "expired") {
    return new DomainError(
      "EXPIRED",
      `This request expired at ${request.expiresAt.toISOString()}. Ask again with \`/promote ${request.pipeline}\` if it should still go out.`,
    );
  }
  if (request.state !== "pending") {
    return new DomainError("ALREADY_DECIDED", `This request can no longer be decided: ${describeFinalState(request)}.`);
  }
  return undefined;
}

export function evaluateApproval(args: {
  request: PromotionRequest;
  approvals: readonly Approval[];
  actor: string;
  actorIsApprover: boolean;
  policy: ApprovalPolicy;
  now: Date;
}): ApprovalDecision {
  const { request, approvals, actor, actorIsApprover, policy, now } = args;
  const undecidable = checkDecidable(request, now);
  if (undecidable) return { kind: "deny", error: undecidable };
  if (!actorIsApprover) {
    return {
      kind: "deny",
      error: new DomainError(
        "NOT_APPROVER",
        `Only the approvers of *${request.pipeline}* can approve this request; ask one of them to review it.`,
      ),
    };
  }
  if (actor === request.requester && !policy.allowSelfApproval) {
    return {
      kind: "deny",
      error: new DomainError(
        "SELF_APPROVAL",
        "You asked for this promotion, so you cannot approve it yourself; another approver has to.",
      ),
    };
  }
  const approvers = new Set(approvals.map((a) => a.approver));
  if (approvers.has(actor)) {
    return {
      kind: "deny",
      error: new DomainError(
        "ALREADY_APPROVED",
        `You already approved this request (${approvers.size} of ${request.requiredApprovals}); it needs another approver.`,
      ),
    };
  }
  const count = approvers.size + 1;
  return { kind: "record", complete: count >= request.requiredApprovals, count };
}

/** Reject: approvers only. Cancel: the requester or an approver. */
export function checkCanEnd(args: {
  request: PromotionRequest;
  actor: string;
  actorIsApprover: boolean;
  action: "reject" | "cancel";
  now: Date;
}): DomainError | undefined {
  const { request, actor, actorIsApprover, action, now } = args;
  const undecidable = checkDecidable(request, now);
  if (undecidable) return undecidable;
  if (action === "reject" && !actorIsApprover) {
    return new DomainError(
      "NOT_APPROVER",
      `Only the approvers of *${request.pipeline}* can reject this request. If you asked for it, use Cancel instead.`,
    );
  }
  if (action === "cancel" && actor !== request.requester && !actorIsApprover) {
    return new DomainError(
      "NOT_REQUESTER",
      `Only <@${request.requester}> (who asked) or an approver of *${request.pipeline}* can cancel this request.`,
    );
  }
  return undefined;
}

/** Whether a request can be approved as it is made: self-approval allowed and one approval needed. */
export function selfApprovalPossible(policy: ApprovalPolicy): boolean {
  return policy.allowSelfApproval && policy.requiredApprovals === 1;
}

/** A requester who is an approver, allowed to self-approve, with one approval needed: no second click. */
export function approvesOnRequest(args: { requesterIsApprover: boolean; policy: ApprovalPolicy }): boolean {
  return args.requesterIsApprover && selfApprovalPossible(args.policy);
}
