/** Replies in a request's thread: how it ended, who decided it. */
import type { ChatMessage } from "../domain/ports.js";
import type { PromotionRequest } from "../domain/request.js";
import { context, section } from "./blocks.js";
import { message } from "./message-parts.js";
import { esc, plain, plural, user } from "./mrkdwn.js";

/** The thread reply that tells the requester how it ended. */
export function outcomeReply(request: PromotionRequest): ChatMessage {
  const failed = request.outcome?.targets.filter((t) => t.status !== "succeeded") ?? [];
  let text: string;
  const what = request.kind === "rollback" ? "rollback" : "promotion";
  if (request.outcome?.dryRun) {
    text = `${user(request.requester)} your ${what} of v${request.sourceReleaseVersion} was approved; this is a dry run, so nothing was changed.`;
  } else if (request.state === "unknown" && request.outcome?.unknown) {
    text = `${user(request.requester)} the outcome of the ${what} of v${request.sourceReleaseVersion} is unknown: ${request.outcome.unknown.why} An approver checks, then records what happened or tries again with the buttons on the message.`;
  } else if (request.outcome?.recorded) {
    text = `${user(request.requester)} ${user(request.outcome.recorded.by)} recorded that the ${what} of v${request.sourceReleaseVersion} ${request.outcome.recorded.as === "succeeded" ? "went through" : "did not go through"}.`;
  } else if (request.state === "succeeded" && request.outcome) {
    const versions = request.outcome.targets.map((t) => `${esc(t.app.name)} v${t.releaseVersion ?? "?"}`).join(", ");
    text =
      request.kind === "rollback"
        ? `${user(request.requester)} rolled back to v${request.sourceReleaseVersion}: ${versions}.`
        : `${user(request.requester)} v${request.sourceReleaseVersion} is live: ${versions}.`;
  } else if (request.outcome?.error) {
    text = `${user(request.requester)} the ${what} of v${request.sourceReleaseVersion} failed: ${request.outcome.error}`;
  } else {
    const names = failed.map((t) => `${esc(t.app.name)}${t.errorMessage ? ` (${esc(t.errorMessage)})` : ""}`);
    const succeeded = (request.outcome?.targets.length ?? 0) - failed.length;
    text = `${user(request.requester)} the ${what} of v${request.sourceReleaseVersion} failed on ${names.join(", ")}${succeeded > 0 ? `; ${plural(succeeded, "other target")} succeeded` : ""}.`;
  }
  return message(plain(text), [section(text)]);
}

export function decisionReply(request: PromotionRequest, actor: string, event: string): ChatMessage {
  const what = request.kind === "rollback" ? "rollback to" : "promotion of";
  const text = `${user(actor)} ${event} the ${what} v${request.sourceReleaseVersion}${request.reason ? `: ${esc(request.reason)}` : ""}.`;
  return message(`${request.pipeline}: v${request.sourceReleaseVersion} ${event}`, [context(text)]);
}
