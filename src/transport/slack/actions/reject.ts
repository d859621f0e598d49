/** Reject, on a request's message or in App Home. */
import type { PromoteBot } from "../../../app/bot.js";
import { ACTIONS, type ActionId } from "../../../views/action-ids.js";
import { decidedFromHomeNote } from "../../../views/replies.js";
import type { ButtonHandler } from "./on-button.js";

export function rejectButton(bot: PromoteBot): [ActionId, ButtonHandler] {
  return [
    ACTIONS.reject,
    async ({ value, user, fromHome }) => {
      const result = await bot.end(value, user, "reject");
      // In a channel the request's message shows it; in App Home the tab is refreshed with a note.
      if (fromHome) await bot.publishHome(user, decidedFromHomeNote(result));
    },
  ];
}
