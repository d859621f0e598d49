/** Promote, on a staging-ready message: ask for the promotion of the release it announces. */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Logger } from "../../../infra/logger.js";
import { ACTIONS } from "../../../views/action-ids.js";
import { requestCreatedReply } from "../../../views/replies.js";
import { onButton } from "./on-button.js";

export function promoteAction(app: App, bot: PromoteBot, log: Logger): void {
  onButton(app, bot, log, ACTIONS.promote, async ({ value, user, answer }) => {
    const { request, selfApprovalUnchecked } = await bot.requestPromotion({ kind: "button", candidateId: value }, user);
    const pipeline = bot.pipeline(request.pipeline);
    if (pipeline) await answer(requestCreatedReply(request, pipeline, selfApprovalUnchecked));
  });
}
