/**
 * Middleware: a click on a button this version does not know (an old message, a forged payload) is
 * acknowledged at once and ignored, instead of Slack waiting 3 s for an answer that never comes.
 */
import type { App } from "@slack/bolt";
import type { Logger } from "../../infra/logger.js";
import { ACTIONS } from "../../views/action-ids.js";

const KNOWN_ACTIONS = new Set<string>(Object.values(ACTIONS));

export function ignoreUnknownActions(app: App, log: Logger): void {
  app.use(async ({ body, ack, next }) => {
    const payload = body as { type?: string; actions?: Array<{ action_id?: unknown }> };
    if (payload.type === "block_actions") {
      const ids = Array.isArray(payload.actions) ? payload.actions.map((action) => action?.action_id) : [];
      if (!ids.some((id) => typeof id === "string" && KNOWN_ACTIONS.has(id))) {
        log.info({ actions: ids.slice(0, 3).map(String) }, "unknown action ignored");
        if (ack) await ack();
        return;
      }
    }
    await next();
  });
}
