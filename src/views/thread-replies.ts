/** Replies in a request's thread: how it ended, who decided it. */
import type { ChatMessage } from "../domain/ports.js";
import type { PromotionRequest } from "../domain/request.js";
import { context, section } from "./blocks.js";
import { message } from "./message-parts.js";
import { esc, plain, plural, user } from "./mrkdwn.js";

/** The thread reply that tells the requester how it ended. */
export function outcomeReply(request: PromotionRequest): ChatMessage {
  const r = request;
  const failed = r.outcome?.targets.filter((t) => t.status !== "succeeded") ?? [];
  let text: string;
  const what = r.kind === "rollback" ? "rollback" : "promotion";
  if (r.outcome?.dryRun) {
    text = `${user(r.requester)} your ${what} of v${r.sourceReleaseVersion} was approved; this is a dry run, so nothing was changed.`;
  } else if (r.state === "unknown" && r.outcome?.unknown) {
    text = `${user(r.requester)} the outcome of the ${what} of v${r.sourceReleaseVersion} is unknown: ${r.outcome.unknown.why} An approver checks, then records what happened or tries again with the buttons on the message.`;
  } else if (r.outcome?.recorded) {
    text = `${user(r.requester)} ${user(r.outcome.recorded.by)} recorded that the ${what} of v${r.sourceReleaseVersion} ${r.outcome.recorded.as === "succeeded" ? "went through" : "did not go through"}.`;
  } else if (r.state === "succeeded" && r.outcome) {
    const versions = r.outcome.targets.map((t) => `${esc(t.app.name)} v${t.releaseVersion ?? "?"}`).join(", ");
    text =
      r.kind === "rollback"
        ? `${user(r.requester)} rolled back to v${r.sourceReleaseVersion}: ${versions}.`
        : `${user(r.requester)} v${r.sourceReleaseVersion} is live: ${versions}.`;
  } else if (r.outcome?.error) {
    text = `${user(r.requester)} the ${what} of v${r.sourceReleaseVersion} failed: ${r.outcome.error}`;
  } else {
    const names = failed.map((t) => `${esc(t.app.name)}${t.errorMessage ? ` (${esc(t.errorMessage)})` : ""}`);
    const succeeded = (r.outcome?.targets.length ?? 0) - failed.length;
    text = `${user(r.requester)} the ${what} of v${r.sourceReleaseVersion} failed on ${names.join(", ")}${succeeded > 0 ? `; ${plural(succeeded, "other target")} succeeded` : ""}.`;
  }
  return message(plain(text), [section(text)]);
}

export function decisionReply(request: PromotionRequest, actor: string, event: string): ChatMessage {
  const what = request.kind === "rollback" ? "rollback to" : "promotion of";
  const text = `${user(actor)} ${event} the ${what} v${request.sourceReleaseVersion}${request.reason ? `: ${esc(request.reason)}` : ""}.`;
  return message(`${request.pipeline}: v${request.sourceReleaseVersion} ${event}`, [context(text)]);
}
