/**
 * The approval check, as a pure function: given the stored request, its approvals, the clicker and
 * whether the clicker is an approver, decide whether the click counts. Nothing from the button
 * payload takes part besides the request id used to load the request.
 */
import { type Approval, isExpired, type PromotionRequest, type RequestState } from "./request.js";

export interface ApprovalPolicy {
  requiredApprovals: number;
  allowSelfApproval: boolean;
}

/**
 * Why a decision does not count, as facts (views/denials.ts says it in words): the request can no
 * longer be decided, or the person may not make this decision.
 */
export type Denial =
  | { code: "EXPIRED"; pipeline: string; expiresAt: Date }
  | { code: "ALREADY_DECIDED"; state: RequestState; decidedBy: string | null }
  | { code: "NOT_APPROVER"; pipeline: string; action: "approve" | "reject" }
  | { code: "SELF_APPROVAL" }
  | { code: "ALREADY_APPROVED"; approvals: number; required: number }
  | { code: "NOT_REQUESTER"; pipeline: string; requester: string };

export type ApprovalDecision = { kind: "record"; complete: boolean; count: number } | { kind: "deny"; denial: Denial };

/** Checks that a request can still be decided at all (pending and not expired). */
export function checkDecidable(request: PromotionRequest, now: Date): Denial | undefined {
  if (isExpired(request, now) || request.state === "expired") {
    return { code: "EXPIRED", pipeline: request.pipeline, expiresAt: request.expiresAt };
  }
  if (request.state !== "pending")
    return { code: "ALREADY_DECIDED", state: request.state, decidedBy: request.decidedBy };
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
  if (undecidable) return { kind: "deny", denial: undecidable };
  if (!actorIsApprover)
    return { kind: "deny", denial: { code: "NOT_APPROVER", pipeline: request.pipeline, action: "approve" } };
  if (actor === request.requester && !policy.allowSelfApproval)
    return { kind: "deny", denial: { code: "SELF_APPROVAL" } };
  const approvers = new Set(approvals.map((a) => a.approver));
  if (approvers.has(actor)) {
    return {
      kind: "deny",
      denial: { code: "ALREADY_APPROVED", approvals: approvers.size, required: request.requiredApprovals },
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
}): Denial | undefined {
  const { request, actor, actorIsApprover, action, now } = args;
  const undecidable = checkDecidable(request, now);
  if (undecidable) return undecidable;
  if (action === "reject" && !actorIsApprover) return { code: "NOT_APPROVER", pipeline: request.pipeline, action };
  if (action === "cancel" && actor !== request.requester && !actorIsApprover) {
    return { code: "NOT_REQUESTER", pipeline: request.pipeline, requester: request.requester };
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
