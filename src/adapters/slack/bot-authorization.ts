/**
 * Bolt's authorize for the bot's one token. Given `token`, Bolt checks it with `auth.test` as the app
 * is built and keeps that first answer for good: when Slack cannot be reached at start-up, the
 * rejection is unhandled (which ends a Node.js process) and every later event is refused until a
 * restart (bolt-js `App.js` `singleAuthorization`). Here the check runs at the first event, and only
 * a success is kept: a failure fails that event, and the next one checks again.
 */
import type { Authorize } from "@slack/bolt";
import type { WebClient } from "@slack/web-api";

export function botAuthorization(client: WebClient, botToken: string): Authorize<boolean> {
  let identity: Promise<{ botId: string; botUserId: string }> | undefined;
  return async () => {
    identity ??= client.auth.test({ token: botToken }).then((result) => ({
      botId: result.bot_id as string,
      botUserId: result.user_id as string,
    }));
    const pending = identity;
    try {
      return { botToken, ...(await pending) };
    } catch (error) {
      if (identity === pending) identity = undefined;
      throw error;
    }
  };
}
