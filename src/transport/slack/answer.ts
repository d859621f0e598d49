/**
 * What every listener shares: how an answer reaches the person, and the one edge handler that turns
 * refusals into ephemeral replies and logs (and apologises for) anything unexpected.
 */
import { randomUUID } from "node:crypto";
import type { RespondFn } from "@slack/bolt";
import { DomainError } from "../../domain/errors.js";
import type { ChatMessage } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { isStopping } from "../../infra/stopping.js";
import { errorText } from "../../views/error-text.js";
import { refusal, restartingReply, unexpectedErrorReply } from "../../views/replies.js";

/** How an answer reaches the person: the response_url in channels, their App Home in the Home tab. */
export type Answer = (message: ChatMessage) => Promise<void>;

/** An ephemeral reply through the interaction's response_url, leaving the original message alone. */
export async function reply(respond: RespondFn, message: ChatMessage): Promise<void> {
  await respond({
    response_type: "ephemeral",
    replace_original: false,
    text: message.text,
    blocks: message.blocks as never,
  });
}

/** Runs a listener's work: refusals become answers, the unexpected is logged with a reference and apologised for. */
export async function guarded(log: Logger, answer: Answer, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (isStopping(error)) {
      // Shutting down (a deploy or a restart) in the middle of a wait: say so rather than apologise.
      log.info("interrupted by shutdown");
      await answer(restartingReply()).catch((e: unknown) =>
        log.error({ err: e }, "could not send a restart notice to Slack"),
      );
      return;
    }
    if (error instanceof DomainError) {
      // A refusal is the person's doing; a dependency failure (Heroku, GitLab or Slack failing) is ours to watch.
      if (error.kind === "refusal") log.info({ code: error.code }, "refused");
      else
        log.warn({ code: error.code, status: error.status, why: error.message }, "a service the bot depends on failed");
      await answer(refusal(errorText(error))).catch((e: unknown) =>
        log.error({ err: e }, "could not send a refusal to Slack"),
      );
      return;
    }
    const ref = randomUUID().slice(0, 8);
    log.error({ err: error, ref }, "unexpected error while handling a Slack request");
    await answer(unexpectedErrorReply(ref)).catch((e: unknown) =>
      log.error({ err: e }, "could not send an error reply to Slack"),
    );
  }
}
