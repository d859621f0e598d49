/**
 * What every listener shares: how an answer reaches the person, and the one edge handler that turns
 * refusals into ephemeral replies and logs (and apologises for) anything unexpected.
 */
import { randomUUID } from "node:crypto";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { RespondFn } from "@slack/bolt";
import { DomainError } from "../../domain/errors.js";
import type { ChatMessage } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { isStopping } from "../../infra/stopping.js";
import { errorText } from "../../views/error-text.js";
import { refusal, restartingReply, unexpectedErrorReply } from "../../views/replies.js";

/** How an answer reaches the person: the response_url in channels, their App Home in the Home tab. */
export type Answer = (message: ChatMessage) => Promise<void>;

/** An ephemeral reply, leaving the original message alone. */
function ephemeral(message: ChatMessage) {
  return { response_type: "ephemeral", replace_original: false, text: message.text, blocks: message.blocks as never };
}

/** An ephemeral reply through the interaction's response_url, with Bolt's `respond`. */
export async function reply(respond: RespondFn, message: ChatMessage): Promise<void> {
  await respond(ephemeral(message) as Parameters<RespondFn>[0]);
}

const RESPONSE_URL_TIMEOUT_MS = 10_000;
const keepAlive = { "http:": new HttpAgent({ keepAlive: true }), "https:": new HttpsAgent({ keepAlive: true }) };

/**
 * The same POST to the response_url as Bolt's `respond`, with node:http(s) on kept-alive connections
 * rather than the global fetch, whose streams cost more CPU than the rest of a denied click's work
 * after the ack (bench/PROFILING.md). Like `respond`, a status other than 2xx is an error.
 * https://api.slack.com/interactivity/handling#message_responses
 */
export function postToResponseUrl(responseUrl: string, payload: unknown): Promise<void> {
  const url = new URL(responseUrl);
  const send = url.protocol === "https:" ? httpsRequest : url.protocol === "http:" ? httpRequest : undefined;
  if (!send) return Promise.reject(new Error(`a response_url must be http(s), not ${url.protocol}`));
  const body = JSON.stringify(payload);
  return new Promise<void>((resolve, reject) => {
    const request = send(
      url,
      {
        method: "POST",
        agent: keepAlive[url.protocol as keyof typeof keepAlive],
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: RESPONSE_URL_TIMEOUT_MS,
      },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume();
        response.on("error", reject);
        response.on("end", () =>
          status >= 200 && status < 300
            ? resolve()
            : reject(new Error(`Slack answered ${status} to a post to the response_url`)),
        );
      },
    );
    request.on("timeout", () => request.destroy(new Error("the post to the response_url timed out")));
    request.on("error", reject);
    request.end(body);
  });
}

/** An ephemeral reply through a response_url. */
export function replyThrough(responseUrl: string): Answer {
  return (message) => postToResponseUrl(responseUrl, ephemeral(message));
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
      // Refusals are answered to the person and audited where they decide something (a denied click):
      // at debug, a burst of them costs no log line each.
      if (error.kind === "refusal") log.debug({ code: error.code }, "refused");
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
