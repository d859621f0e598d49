/** Promote, on a staging-ready message: ask for the promotion of the release it announces. */
import type { PromoteBot } from "../../../app/bot.js";
import { ACTIONS, type ActionId } from "../../../views/action-ids.js";
import { requestCreatedReply } from "../../../views/replies.js";
import type { ButtonHandler } from "./on-button.js";

export function promoteButton(bot: PromoteBot): [ActionId, ButtonHandler] {
  return [
    ACTIONS.promote,
    async ({ value, user, answer }) => {
      const { request, selfApprovalUnchecked } = await bot.requestPromotion(
        { kind: "button", candidateId: value },
        user,
      );
      const pipeline = bot.pipeline(request.pipeline);
      if (pipeline) await answer(requestCreatedReply(request, pipeline, selfApprovalUnchecked));
    },
  ];
}
