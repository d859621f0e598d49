/**
 * The approvers' way out of "outcome unknown": record that it went through, that it did not, or try
 * again (the bot first looks for what the earlier attempt did). Three buttons, one use case.
 */
import type { PromoteBot } from "../../../app/bot.js";
import type { Resolution } from "../../../app/resolve-unknown.js";
import { ACTIONS, type ActionId } from "../../../views/action-ids.js";
import { resolvedReply } from "../../../views/replies.js";
import type { ButtonHandler } from "./on-button.js";

const BUTTONS: Array<{ actionId: ActionId; resolution: Resolution }> = [
  { actionId: ACTIONS.recordSucceeded, resolution: "succeeded" },
  { actionId: ACTIONS.recordFailed, resolution: "failed" },
  { actionId: ACTIONS.retryUnknown, resolution: "retry" },
];

export function resolveUnknownButtons(bot: PromoteBot): Array<[ActionId, ButtonHandler]> {
  return BUTTONS.map(({ actionId, resolution }) => [
    actionId,
    async ({ value, user, answer }) => {
      await answer(resolvedReply(await bot.resolveUnknown(value, user, resolution), resolution));
    },
  ]);
}
