/** What the bot answers the person who asked (ephemeral replies and App Home notes): help, created, refused, done. */
import type { ChatMessage } from "../domain/ports.js";
import { type PromotionRequest, shortSha } from "../domain/request.js";
import { context, fallback, section } from "./blocks.js";
import { approversText, message } from "./message-parts.js";
import type { PipelineView } from "./models.js";
import { code, esc, plain, plural } from "./mrkdwn.js";

export function notice(text: string, plainText = plain(text)): ChatMessage {
  return { text: fallback(plainText), blocks: [section(text)] };
}

/** `/promote help`; `hint` says why help was shown instead (a command it did not understand). */
export function helpMessage(pipelines: string[], hint?: string): ChatMessage {
  const names = pipelines.map((p) => code(p)).join(", ");
  return message("promote-bot commands", [
    ...(hint ? [section(`:grey_question: ${esc(hint)}`)] : []),
    section(
      [
        "*promote-bot* promotes a Heroku pipeline's staging release to production after approval.",
        "• `/promote &lt;pipeline&gt;` — ask to promote what staging runs now, e.g. `/promote whitewave`",
        "• `/promote list` — every pipeline: what staging and production run, how far behind",
        "• `/promote status &lt;pipeline&gt;` — the commits waiting for production and the last promotion",
        "• `/promote history &lt;pipeline&gt; [N]` — the last N requests (default 10, at most 50)",
        "• `/promote cancel &lt;pipeline&gt;` — cancel the pending request (the requester or an approver)",
        "• `/promote lock &lt;pipeline&gt; &lt;reason&gt;` / `/promote unlock &lt;pipeline&gt;` — stop and resume promotions (approvers)",
        '• `/promote &lt;pipeline&gt; --override "reason"` — promote through a lock or freeze window (approvers)',
        "• `/promote rollback &lt;pipeline&gt;` — ask to roll production back to its previous release (same approvals)",
        '• `/promote rollback &lt;pipeline&gt; --override "reason"` — roll back through a lock or freeze window (approvers)',
        "• `/promote help` — this help",
        "Or click *Promote* on a staging-ready message in the pipeline's channel.",
      ].join("\n"),
    ),
    context(`Configured pipelines: ${names || "none"}`),
  ]);
}

/**
 * Said to a requester whose own approval would have counted at once if Slack had said whether they are
 * an approver (a user group lookup failed): nothing was approved, and the request waits.
 */
function selfApprovalUncheckedText(pipeline: string): string {
  return `:warning: I could not check with Slack whether you are an approver of *${esc(pipeline)}*, so nothing was approved on your behalf: the request waits for an approval. If you are an approver, approve it from its message once Slack answers; otherwise ask an approver.`;
}

export function requestCreatedReply(
  request: PromotionRequest,
  pipeline: PipelineView,
  selfApprovalUnchecked = false,
): ChatMessage {
  const what = `*${esc(request.pipeline)}* ${esc(pipeline.from)} v${request.sourceReleaseVersion} ${request.commitSha ? ` (${code(shortSha(request.commitSha))})` : ""} to ${esc(pipeline.to)}`;
  if (request.state === "promoting") {
    return notice(`Approved your own request (allowed for *${esc(request.pipeline)}*): promoting ${what} now.`);
  }
  const unchecked = selfApprovalUnchecked ? ` ${selfApprovalUncheckedText(request.pipeline)}` : "";
  return notice(
    `Requested the promotion of ${what}. It needs ${plural(request.requiredApprovals, "approval")} from ${approversText(pipeline)}.${unchecked}`,
    `Requested the promotion of ${request.pipeline} v${request.sourceReleaseVersion} to ${pipeline.to}; it needs ${plural(request.requiredApprovals, "approval")}.`,
  );
}

export function rollbackCreatedReply(request: PromotionRequest, selfApprovalUnchecked = false): ChatMessage {
  const what = `*${esc(request.pipeline)}* to v${request.sourceReleaseVersion}`;
  if (request.state === "promoting") {
    return notice(`Approved your own request (allowed for *${esc(request.pipeline)}*): rolling back ${what} now.`);
  }
  const unchecked = selfApprovalUncheckedText(request.pipeline);
  return notice(
    `Requested a rollback of ${what}. It needs ${plural(request.requiredApprovals, "approval")}.${selfApprovalUnchecked ? ` ${unchecked}` : ""}`,
  );
}

export function refusal(text: string): ChatMessage {
  return notice(`:warning: ${text}`);
}

export const NOT_MY_BUTTON =
  "This button is not one of mine, so I did nothing. Use the buttons on my messages, or `/promote help`.";

export function restartingReply(): ChatMessage {
  return refusal("I am restarting and could not finish this. Please try again in a minute.");
}

/** The unexpected: `ref` finds the logged error. */
export function unexpectedErrorReply(ref: string): ChatMessage {
  return refusal(`Something went wrong on my side (reference \`${ref}\`); it is logged. Please try again in a minute.`);
}

export function cancelledReply(request: Pick<PromotionRequest, "pipeline" | "sourceReleaseVersion">): ChatMessage {
  return notice(`Cancelled the request for *${esc(request.pipeline)}* v${request.sourceReleaseVersion}.`);
}

export function lockedReply(lock: { pipeline: string }): ChatMessage {
  return notice(`Locked *${esc(lock.pipeline)}*.`);
}

export function unlockedReply(lock: { pipeline: string }): ChatMessage {
  return notice(`Unlocked *${esc(lock.pipeline)}*.`);
}

/** An approval that counted and did not complete the request. */
export function approvalCountedReply(result: { count: number; required: number }): ChatMessage {
  return notice(`Approved (${result.count} of ${result.required}).`);
}

/** The note at the top of App Home after a decision made there. */
export function decidedFromHomeNote(
  result: { kind: "approved"; promoting: boolean } | { kind: "ended"; state: string },
): string {
  return result.kind === "approved" ? "Approved; promoting now." : `Request ${result.state}.`;
}

/** What an approver recorded (or retried) for a request whose outcome was unknown. */
export function resolvedReply(
  request: Pick<PromotionRequest, "pipeline" | "sourceReleaseVersion" | "kind">,
  resolution: "succeeded" | "failed" | "retry",
): ChatMessage {
  if (resolution === "retry") {
    return notice(
      `Trying *${esc(request.pipeline)}* v${request.sourceReleaseVersion} again: the bot first looks for what the earlier attempt did.`,
    );
  }
  const what = request.kind === "rollback" ? "rollback" : "promotion";
  return notice(
    `Recorded: the ${what} of v${request.sourceReleaseVersion} ${resolution === "succeeded" ? "went through" : "did not go through"}.`,
  );
}
