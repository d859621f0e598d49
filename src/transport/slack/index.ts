/**
 * Wires every Slack listener into the Bolt app: one file each under commands/, actions/ and events/.
 * A listener acknowledges first (Slack allows 3 s), parses, calls one use case on the PromoteBot
 * facade and renders the answer with views/; refusals and the unexpected go through answer.ts.
 */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../app/bot.js";
import type { Logger } from "../../infra/logger.js";
import { approveAction } from "./actions/approve.js";
import { cancelAction } from "./actions/cancel.js";
import { promoteAction } from "./actions/promote.js";
import { rejectAction } from "./actions/reject.js";
import { resolveUnknownActions } from "./actions/resolve-unknown.js";
import { rollbackAction } from "./actions/rollback.js";
import { promoteCommand } from "./commands/promote.js";
import { appHomeOpened } from "./events/app-home-opened.js";
import { ignoreUnknownActions } from "./ignore-unknown-actions.js";

export function registerListeners(app: App, bot: PromoteBot, log: Logger): void {
  ignoreUnknownActions(app, log);
  promoteCommand(app, bot, log);
  promoteAction(app, bot, log);
  rollbackAction(app, bot, log);
  approveAction(app, bot, log);
  rejectAction(app, bot, log);
  cancelAction(app, bot, log);
  resolveUnknownActions(app, bot, log);
  appHomeOpened(app, bot, log);
}
