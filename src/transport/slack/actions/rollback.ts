/** Roll back, on a promoted request's message: ask to roll production back to what it ran before. */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Logger } from "../../../infra/logger.js";
import { ACTIONS } from "../../../views/action-ids.js";
import { rollbackCreatedReply } from "../../../views/replies.js";
import { onButton } from "./on-button.js";

export function rollbackAction(app: App, bot: PromoteBot, log: Logger): void {
  onButton(app, bot, log, ACTIONS.rollback, async ({ value, user, answer }) => {
    const created = await bot.rollbackPromotion(value, user);
    await answer(rollbackCreatedReply(created.request, created.selfApprovalUnchecked));
  });
}
