/** Roll back, on a promoted request's message: ask to roll production back to what it ran before. */
import type { PromoteBot } from "../../../app/bot.js";
import { ACTIONS, type ActionId } from "../../../views/action-ids.js";
import { rollbackCreatedReply } from "../../../views/replies.js";
import type { ButtonHandler } from "./on-button.js";

export function rollbackButton(bot: PromoteBot): [ActionId, ButtonHandler] {
  return [
    ACTIONS.rollback,
    async ({ value, user, answer }) => {
      const created = await bot.rollbackPromotion(value, user);
      await answer(rollbackCreatedReply(created.request, created.selfApprovalUnchecked));
    },
  ];
}
