/** Approve, on a request's message or in App Home. */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Logger } from "../../../infra/logger.js";
import { ACTIONS } from "../../../views/action-ids.js";
import { approvalCountedReply, decidedFromHomeNote } from "../../../views/replies.js";
import { onButton } from "./on-button.js";

export function approveAction(app: App, bot: PromoteBot, log: Logger): void {
  onButton(app, bot, log, ACTIONS.approve, async ({ value, user, answer, fromHome }) => {
    const result = await bot.approve(value, user);
    if (result.kind === "approved" && !result.promoting) await answer(approvalCountedReply(result));
    else if (fromHome) await bot.publishHome(user, decidedFromHomeNote(result));
  });
}
