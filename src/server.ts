/**
 * Builds the running bot from a Config: store, clients, Bolt app, HTTP server with the Slack, GitLab
 * and health routes, and the background worker. `main.ts` calls it; tests call it too (port 0).
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { App, LogLevel } from "@slack/bolt";
import { WebClient } from "@slack/web-api";
import { GitLabAdapter } from "./adapters/gitlab/gitlab-adapter.js";
import { HerokuAdapter } from "./adapters/heroku/heroku-adapter.js";
import { botAuthorization } from "./adapters/slack/bot-authorization.js";
import { SlackChat } from "./adapters/slack/slack-chat.js";
import { KyselyStore } from "./adapters/store/kysely-store.js";
import { PromoteBot } from "./app/bot.js";
import { type AppContext, DEFAULT_TUNING, SLACK_RETRIES, slackCallBoundMs, type Tuning } from "./app/context.js";
import type { Config } from "./config.js";
import { boltLogger, type Logger } from "./infra/logger.js";
import { abortableSleep } from "./infra/stopping.js";
import { TtlCache } from "./infra/ttl-cache.js";
import { handleGitLabWebhook } from "./transport/gitlab/webhook-route.js";
import { handleHerokuWebhook } from "./transport/heroku/webhook-route.js";
import { sendJson } from "./transport/http.js";
import { registerListeners } from "./transport/slack/index.js";
import { handleSlackEvents } from "./transport/slack/slack-intake.js";
import { SlackEventsReceiver } from "./transport/slack/slack-receiver.js";

export interface RunningBot {
  url: string;
  server: Server;
  store: KyselyStore;
  bot: PromoteBot;
  heroku: HerokuAdapter;
  gitlab: GitLabAdapter;
  chat: SlackChat;
  /** Stops accepting, finishes in-flight requests, releases leases, closes the store. */
  close(graceMs?: number): Promise<void>;
}

export { slackCallBoundMs } from "./app/context.js";

export async function startBot(options: {
  config: Config;
  log: Logger;
  tuning?: Partial<Tuning>;
  host?: string;
  port?: number;
  /**
   * This process's clock (default: the system clock). Tests inject a skewed or jumping one; leases and
   * the POST window do not depend on it (they use the database's clock).
   */
  clock?: { now(): Date };
}): Promise<RunningBot> {
  const { config, log } = options;
  const tuning: Tuning = {
    ...DEFAULT_TUNING,
    herokuEventsFreshForMs: config.heroku.eventsFreshForMs,
    ...options.tuning,
  };
  if (tuning.messageGraceMs <= slackCallBoundMs(tuning)) {
    log.warn(
      { messageGraceMs: tuning.messageGraceMs, slackCallBoundMs: slackCallBoundMs(tuning) },
      "messageGraceMs is not longer than a Slack call can take: a slow post may be posted twice",
    );
  }
  const store = await KyselyStore.open(config.database);
  // Retry waits inside the clients end at once on shutdown, like the worker's own waits.
  const shutdown = new AbortController();
  const sleep = abortableSleep(shutdown.signal);
  const heroku = new HerokuAdapter({
    token: config.heroku.apiToken,
    apiUrl: config.heroku.apiUrl,
    log,
    retry: tuning.herokuRetry,
    postTimeoutMs: tuning.promotionPostTimeoutMs,
    sleep,
  });
  const gitlab = new GitLabAdapter({
    token: config.gitlab.token,
    url: config.gitlab.url,
    log,
    retry: tuning.gitlabRetry,
    sleep,
  });

  const socketMode = config.slack.appToken !== undefined;
  // handleSlackEvents (transport/slack/slack-intake.ts) reads, verifies (with Bolt's own verifier,
  // stricter on timestamps) and parses every request once, then hands the body to this receiver,
  // which passes it to Bolt as HTTPReceiver would, without reading or parsing it again.
  const receiver = socketMode ? undefined : new SlackEventsReceiver(boltLogger(log));
  const clientOptions = {
    slackApiUrl: config.slack.apiUrl,
    // Rate limits (429) are waited out by the WebClient; other failures get a few quick retries.
    retryConfig: { retries: SLACK_RETRIES, factor: 2, minTimeout: 500, maxTimeout: 5_000 },
    timeout: tuning.slackTimeoutMs,
  };
  // The bot's own client (Bolt's app.client has no token when Bolt is given `authorize`).
  const slackClient = new WebClient(config.slack.botToken, {
    ...clientOptions,
    logger: boltLogger(log),
    logLevel: LogLevel.INFO,
  });
  const app = new App({
    // Not `token`: Bolt would check it once at start-up and keep a failure for good (bot-authorization.ts).
    authorize: botAuthorization(slackClient, config.slack.botToken),
    signingSecret: config.slack.signingSecret,
    logger: boltLogger(log),
    logLevel: LogLevel.INFO,
    clientOptions,
    ...(socketMode ? { socketMode: true, appToken: config.slack.appToken } : { receiver }),
    // Bolt's conversation store (context.conversation) is not used; it cost a lookup on every request.
    convoStore: false,
  });
  // Request messages are posted once, never retried blindly (SlackChat): a lost answer is followed by
  // a look in the channel instead. 429s come back to SlackChat, which waits them out.
  const postOnce = new WebClient(config.slack.botToken, {
    slackApiUrl: config.slack.apiUrl,
    logger: boltLogger(log),
    logLevel: LogLevel.INFO,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: tuning.slackTimeoutMs,
  });
  const chat = new SlackChat(slackClient, postOnce);

  const ctx: AppContext = {
    pipelines: config.pipelines,
    store,
    heroku,
    gitlab,
    chat,
    clock: options.clock ?? { now: () => new Date() },
    log,
    sleep,
    newId: randomUUID,
    tuning,
    instanceId: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    herokuAppsCache: new TtlCache(60_000, 500),
    driftCache: new TtlCache(60 * 60_000, 500),
    dryRun: config.dryRun,
  };
  if (config.dryRun) {
    log.warn(
      "DRY RUN: DRY_RUN is set, so approved requests will NOT promote, play jobs or roll back; they say in Slack what they would have done",
    );
  }
  const bot = new PromoteBot(ctx);
  registerListeners(app, bot, log);
  app.error(async (error) => {
    log.error({ err: error }, "Bolt reported an unhandled error");
  });

  let draining = false;
  const server = createHttpServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (draining) res.setHeader("connection", "close");
    if (path === "/healthz") {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error("store timeout")), 2_000).unref(),
      );
      Promise.race([store.ping(), timeout]).then(
        () => sendJson(res, 200, { status: "ok", store: store.dialect }),
        (error: unknown) => {
          log.warn({ err: error }, "health check: the store does not answer");
          sendJson(res, 503, { status: "unavailable", store: store.dialect });
        },
      );
      return;
    }
    if (path === "/gitlab/webhook") {
      handleGitLabWebhook(req, res, {
        secret: config.gitlab.webhookSecret,
        store,
        log,
        now: () => new Date(),
        skipReason: (event, body) => bot.skipReason(event, body),
        onRecorded: (id) => bot.deliveryRecorded(id),
      }).catch((error: unknown) => {
        log.error({ err: error }, "GitLab webhook handler failed");
        sendJson(res, 500, { error: "internal error" });
      });
      return;
    }
    if (path === "/heroku/webhook" && config.heroku.webhookSecret !== undefined) {
      handleHerokuWebhook(req, res, {
        secret: config.heroku.webhookSecret,
        store,
        log,
        now: () => new Date(),
        skipReason: (event) => bot.herokuSkipReason(event),
        onRecorded: (id) => bot.deliveryRecorded(id),
      }).catch((error: unknown) => {
        log.error({ err: error }, "Heroku webhook handler failed");
        sendJson(res, 500, { error: "internal error" });
      });
      return;
    }
    if (receiver && path === "/slack/events") {
      handleSlackEvents(req, res, {
        signingSecret: config.slack.signingSecret,
        log,
        now: Date.now,
        next: (body, request, response) => {
          receiver.handle(body, request, response).catch((error: unknown) => {
            log.error({ err: error }, "Slack receiver failed");
            sendJson(response, 500, { error: "internal error" });
          });
        },
      }).catch((error: unknown) => {
        log.error({ err: error }, "Slack intake failed");
        sendJson(res, 500, { error: "internal error" });
      });
      return;
    }
    sendJson(res, 404, { error: "not found" });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;

  const port = options.port ?? config.port;
  const host = options.host;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if (socketMode) await app.start();
  bot.start();
  const address = server.address() as AddressInfo;
  const url = `http://${host ?? "127.0.0.1"}:${address.port}`;
  log.info(
    { port: address.port, store: store.dialect, socketMode, pipelines: bot.pipelineNames },
    "promote-bot listening",
  );

  let closing: Promise<void> | undefined;
  const close = (graceMs = 20_000): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // In-flight requests finish; each keep-alive connection is closed as soon as it goes idle
      // (a request that began before the drain did not get `connection: close`).
      server.closeIdleConnections();
      const sweeper = setInterval(() => server.closeIdleConnections(), 50).unref();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs).unref();
      await closed;
      clearInterval(sweeper);
      clearTimeout(timer);
      // No more Slack work from the WebSocket either before waiting for what is in flight.
      if (socketMode) await app.stop().catch(() => {});
      shutdown.abort();
      await bot.stop(Math.min(graceMs, 10_000));
      await store.close();
      log.info("promote-bot stopped");
    })();
    return closing;
  };
  return { url, server, store, bot, heroku, gitlab, chat, close };
}
