/** Reject, on a request's message or in App Home. */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Logger } from "../../../infra/logger.js";
import { ACTIONS } from "../../../views/action-ids.js";
import { decidedFromHomeNote } from "../../../views/replies.js";
import { onButton } from "./on-button.js";

export function rejectAction(app: App, bot: PromoteBot, log: Logger): void {
  onButton(app, bot, log, ACTIONS.reject, async ({ value, user, fromHome }) => {
    const result = await bot.end(value, user, "reject");
    // In a channel the request's message shows it; in App Home the tab is refreshed with a note.
    if (fromHome) await bot.publishHome(user, decidedFromHomeNote(result));
  });
}
