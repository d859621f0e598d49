/**
 * What every button listener does first: acknowledge, check that the value is one of the bot's ids,
 * then run its use case with an answer that reaches the clicker (the response_url in channels, the
 * refreshed tab in App Home, where clicks carry no response_url).
 */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import { DomainError } from "../../../domain/errors.js";
import type { ChatMessage } from "../../../domain/ports.js";
import type { Logger } from "../../../infra/logger.js";
import { NOT_MY_BUTTON } from "../../../views/replies.js";
import { type Answer, guarded, reply, replyThrough } from "../answer.js";

export interface ButtonClick {
  /** The button's value: one of the bot's ids (a request or a staging candidate). */
  value: string;
  user: string;
  answer: Answer;
  /** The click came from the App Home tab. */
  fromHome: boolean;
}

/** Button values are the bot's own UUIDs; anything else is refused before it reaches the store. */
function isOpaqueId(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
}

/** The mrkdwn of a one-section message, for a notice at the top of the Home tab. */
function firstText(message: ChatMessage): string {
  const block = message.blocks[0] as { text?: { text?: string } } | undefined;
  return block?.text?.text ?? message.text;
}

export function onButton(
  app: App,
  bot: PromoteBot,
  log: Logger,
  actionId: string,
  run: (click: ButtonClick) => Promise<void>,
): void {
  app.action(actionId, async ({ ack, body, action, respond }) => {
    await ack();
    const user = body.user.id;
    const value = action.type === "button" ? action.value : undefined;
    const clickLog = log.child({ slackUser: user, action: actionId, id: isOpaqueId(value) ? value : undefined });
    const fromHome = (body as { container?: { type?: string } }).container?.type === "view";
    const responseUrl = (body as { response_url?: unknown }).response_url;
    const answer: Answer = fromHome
      ? (message) => bot.publishHome(user, firstText(message))
      : typeof responseUrl === "string"
        ? replyThrough(responseUrl)
        : (message) => reply(respond, message);
    await bot.worker.holdStopFor(() =>
      guarded(clickLog, answer, async () => {
        if (!isOpaqueId(value)) throw new DomainError("BAD_INPUT", NOT_MY_BUTTON);
        await run({ value, user, answer, fromHome });
      }),
    );
  });
}
