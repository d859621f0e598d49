/**
 * The one Bolt action listener of every button: it finds the button's handler by action_id,
 * acknowledges, checks that the value is one of the bot's ids, then runs the handler's use case with
 * an answer that reaches the clicker (the response_url in channels, the refreshed tab in App Home,
 * where clicks carry no response_url). One listener rather than one a button: Bolt runs every
 * listener's middleware chain for every request, and ten of them cost 9% of a denied click's CPU
 * (bench/PROFILING.md).
 */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import { DomainError } from "../../../domain/errors.js";
import type { ChatMessage } from "../../../domain/ports.js";
import { type Logger, lazyChild } from "../../../infra/logger.js";
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

/** What a button does once its click is acknowledged and its value checked. */
export type ButtonHandler = (click: ButtonClick) => Promise<void>;

export function onButtons(app: App, bot: PromoteBot, log: Logger, handlers: ReadonlyMap<string, ButtonHandler>): void {
  // No constraint: Bolt's would compare the action_id with each button's; the map lookup does the same
  // (a payload without a string action_id, or with another one, finds no handler and is left alone).
  app.action({}, async ({ ack, body, action, respond }) => {
    const actionId = (action as { action_id?: unknown }).action_id;
    const run = typeof actionId === "string" ? handlers.get(actionId) : undefined;
    if (!run) return;
    await ack();
    const user = body.user.id;
    const value = action.type === "button" ? action.value : undefined;
    const clickLog = lazyChild(log, { slackUser: user, action: actionId, id: isOpaqueId(value) ? value : undefined });
    const fromHome = (body as { container?: { type?: string } }).container?.type === "view";
    const responseUrl = (body as { response_url?: unknown }).response_url;
    const answer: Answer = fromHome
      ? (message) => bot.publishHome(user, firstText(message))
      : typeof responseUrl === "string"
        ? replyThrough(responseUrl)
        : (message) => reply(respond, message);
    // Not awaited: Bolt keeps the request (its parsed body, the HTTP request and response, the
    // listener's arguments) until its listeners settle, which would keep them alive through the work
    // and the response_url round trip (garbage collection was the largest cost of a denied click after
    // the ack's write, bench/PROFILING.md). The worker still waits for the work on shutdown.
    void bot.worker
      .holdStopFor(() =>
        guarded(clickLog, answer, async () => {
          if (!isOpaqueId(value)) throw new DomainError("BAD_INPUT", NOT_MY_BUTTON);
          await run({ value, user, answer, fromHome });
        }),
      )
      .catch((error: unknown) => clickLog.error({ err: error }, "unexpected error after a click was acknowledged"));
  });
}
