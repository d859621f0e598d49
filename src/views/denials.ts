/** A decision that does not count (domain/approval-policy.ts Denial), said to the person who clicked. */
import type { Denial } from "../domain/approval-policy.js";
import { DomainError } from "../domain/errors.js";
import type { RequestState } from "../domain/request.js";
import { esc, user } from "./mrkdwn.js";

/** How a request that can no longer be decided stands, as the end of a sentence. */
export function finalStateText(request: { state: RequestState; decidedBy: string | null }): string {
  const by = request.decidedBy ? ` by ${user(request.decidedBy)}` : "";
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
      return `it was rejected${by}`;
    case "cancelled":
      return `it was cancelled${by}`;
    case "expired":
      return "it expired";
    case "pending":
      return "it is still pending";
  }
}

export function denialText(denial: Denial): string {
  switch (denial.code) {
    case "EXPIRED":
      return `This request expired at ${denial.expiresAt.toISOString()}. Ask again with \`/promote ${esc(denial.pipeline)}\` if it should still go out.`;
    case "ALREADY_DECIDED":
      return `This request can no longer be decided: ${finalStateText(denial)}.`;
    case "NOT_APPROVER":
      return denial.action === "approve"
        ? `Only the approvers of *${esc(denial.pipeline)}* can approve this request; ask one of them to review it.`
        : `Only the approvers of *${esc(denial.pipeline)}* can reject this request. If you asked for it, use Cancel instead.`;
    case "SELF_APPROVAL":
      return "You asked for this promotion, so you cannot approve it yourself; another approver has to.";
    case "ALREADY_APPROVED":
      return `You already approved this request (${denial.approvals} of ${denial.required}); it needs another approver.`;
    case "NOT_REQUESTER":
      return `Only ${user(denial.requester)} (who asked) or an approver of *${esc(denial.pipeline)}* can cancel this request.`;
  }
}

/** The refusal to send: the denial's code and its words. */
export function denialError(denial: Denial): DomainError {
  return new DomainError(denial.code, denialText(denial));
}
