/** Approve, on a request's message or in App Home. */
import type { PromoteBot } from "../../../app/bot.js";
import { ACTIONS, type ActionId } from "../../../views/action-ids.js";
import { approvalCountedReply, decidedFromHomeNote } from "../../../views/replies.js";
import type { ButtonHandler } from "./on-button.js";

export function approveButton(bot: PromoteBot): [ActionId, ButtonHandler] {
  return [
    ACTIONS.approve,
    async ({ value, user, answer, fromHome }) => {
      const result = await bot.approve(value, user);
      if (result.kind === "approved" && !result.promoting) await answer(approvalCountedReply(result));
      else if (fromHome) await bot.publishHome(user, decidedFromHomeNote(result));
    },
  ];
}
