/** The App Home tab opened: publish what the person can see and decide there. */
import type { App } from "@slack/bolt";
import type { PromoteBot } from "../../../app/bot.js";
import type { Logger } from "../../../infra/logger.js";

export function appHomeOpened(app: App, bot: PromoteBot, log: Logger): void {
  app.event("app_home_opened", async ({ event }) => {
    if (event.tab !== "home") return;
    try {
      await bot.worker.holdStopFor(() => bot.publishHome(event.user));
    } catch (error) {
      log.error({ err: error, slackUser: event.user }, "could not publish the App Home tab");
    }
  });
}
