/**
 * Wires every Slack listener into the Bolt app: one file each under commands/, actions/ and events/.
 * A listener acknowledges first (Slack allows 3 s), parses, calls one use case on the PromoteBot
 * facade and renders the answer with views/; refusals and the unexpected go through answer.ts.
 * Every button goes through one Bolt action listener (actions/on-button.ts), which finds its handler.
 */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../app/bot.js";
import type { Logger } from "../../infra/logger.js";
import { approveButton } from "./actions/approve.js";
import { cancelButton } from "./actions/cancel.js";
import { onButtons } from "./actions/on-button.js";
import { promoteButton } from "./actions/promote.js";
import { rejectButton } from "./actions/reject.js";
import { resolveUnknownButtons } from "./actions/resolve-unknown.js";
import { rollbackButton } from "./actions/rollback.js";
import { promoteCommand } from "./commands/promote.js";
import { appHomeOpened } from "./events/app-home-opened.js";
import { ignoreUnknownActions } from "./ignore-unknown-actions.js";

export function registerListeners(app: App, bot: PromoteBot, log: Logger): void {
  ignoreUnknownActions(app, log);
  promoteCommand(app, bot, log);
  onButtons(
    app,
    bot,
    log,
    new Map([
      promoteButton(bot),
      rollbackButton(bot),
      approveButton(bot),
      rejectButton(bot),
      cancelButton(bot),
      ...resolveUnknownButtons(bot),
    ]),
  );
  appHomeOpened(app, bot, log);
}
