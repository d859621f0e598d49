/**
 * The approvers' way out of "outcome unknown": record that it went through, that it did not, or try
 * again (the bot first looks for what the earlier attempt did). Three buttons, one use case.
 */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Resolution } from "../../../app/resolve-unknown.js";
import type { Logger } from "../../../infra/logger.js";
import { ACTIONS } from "../../../views/action-ids.js";
import { resolvedReply } from "../../../views/replies.js";
import { onButton } from "./on-button.js";

const BUTTONS: Array<{ actionId: string; resolution: Resolution }> = [
  { actionId: ACTIONS.recordSucceeded, resolution: "succeeded" },
  { actionId: ACTIONS.recordFailed, resolution: "failed" },
  { actionId: ACTIONS.retryUnknown, resolution: "retry" },
];

export function resolveUnknownActions(app: App, bot: PromoteBot, log: Logger): void {
  for (const { actionId, resolution } of BUTTONS) {
    onButton(app, bot, log, actionId, async ({ value, user, answer }) => {
      await answer(resolvedReply(await bot.resolveUnknown(value, user, resolution), resolution));
    });
  }
}
