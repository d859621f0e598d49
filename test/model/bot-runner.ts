/**
 * The real bot under the model: one in-process bot on SQLite (the `npm test` tier), or real bot
 * processes (`test/support/bot-process.mjs` over dist/) on one PostgreSQL, killed with SIGKILL and
 * started again. Both expose the same small surface to the commands: where to send a request, how to
 * crash and restart, and how to wait until the bot has done what it was asked.
 */
import type { KyselyStore } from "../../src/adapters/store/kysely-store.js";
import type { Tuning } from "../../src/app/context.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/infra/logger.js";
import { type RunningBot, startBot } from "../../src/server.js";
import type { TestDatabase } from "../support/databases.js";
import { FAST_TUNING, LogCapture, type PipelineOptions, startWorld, type World } from "../support/harness.js";
import { type BotProcess, openStore, PROCESS_TUNING, spawnBot } from "../support/processes.js";
import { TcpProxy } from "../support/tcp-proxy.js";

export interface BotRunner {
  world: World;
  /** How many bots serve requests (each command picks one). */
  readonly count: number;
  url(index: number): string;
  /** Stops bot `index` without a goodbye (SIGKILL for processes; no grace in-process) and starts it again. */
  crash(index: number): Promise<void>;
  /**
   * Sets bot `index`'s clock `offsetMs` off the real time (at most ±2 minutes, as two dynos' clocks may
   * be): at once in-process (a jump), through a restart with the skewed clock for processes.
   */
  setClock(index: number, offsetMs: number): Promise<void>;
  /** Sets every bot's clock right again (each history starts on true clocks, so that it replays alone). */
  resetClocks(): Promise<void>;
  /** Resolves when the bots have finished what they were asked (or after `capMs`). */
  quiesce(capMs: number): Promise<void>;
  /** A connection to the store, used only to let time pass for a request (see the expire command). */
  store(): KyselyStore;
  /** The log lines since the last call (in-process only; processes' output otherwise). */
  takeLogs(): string;
  close(): Promise<void>;
}

/** The bot's Slack call timeout in the model: with 3 retries a Slack call takes at most 4 × 1 + 3.5 s. */
const SLACK_TIMEOUT_MS = 1_000;
/** Longer than that bound, as the defaults are (60 s against 43.5 s). */
export const MESSAGE_GRACE_MS = 8_000;

/** Model timings: fast, and short enough that a history's recovery fits in seconds. */
export const MODEL_TUNING: Partial<Tuning> = {
  ...FAST_TUNING,
  // A request whose message could not be posted (Slack down) is posted by the sweep after this long,
  // which outlasts the bot's own Slack retries (slackCallBoundMs); shorter, and a slow Slack makes two.
  messageGraceMs: MESSAGE_GRACE_MS,
  slackTimeoutMs: SLACK_TIMEOUT_MS,
  promotionTraceWindowMs: 1_000,
  followLimitMs: 15_000,
};

/** The secret of the Heroku webhook variant's subscriptions. */
const HEROKU_WEBHOOK_SECRET = "model-heroku-webhook-secret-0123456789";

export interface InProcessOptions {
  /**
   * Heroku's app webhooks set up (issue 15): both apps subscribed to the bot's /heroku/webhook, the
   * follower woken by release events and polling Heroku at most every `eventPollMaxMs` meanwhile.
   * While the bot restarts, Heroku's deliveries fail and are retried (or given up): missed events.
   */
  herokuEvents?: boolean;
}

export async function inProcessRunner(pipeline: PipelineOptions, options: InProcessOptions = {}): Promise<BotRunner> {
  const world = await startWorld({
    pipeline,
    ...(options.herokuEvents ? { env: { HEROKU_WEBHOOK_SECRET } } : {}),
  });
  const logs = new LogCapture();
  const config = loadConfig(world.env);
  let bot: RunningBot;
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const tuning: Partial<Tuning> = options.herokuEvents ? { ...MODEL_TUNING, eventPollMaxMs: 2_000 } : MODEL_TUNING;
  // Each bot reaches Slack's Web API through a proxy of its own that its crash cuts: a process killed
  // with SIGKILL makes no call afterwards, but in one process the stopped bot's WebClient would go on
  // retrying a slow call and land an old render after the new bot's (found by the model: seed
  // 349707776, a "pending" from before the crash landing after "succeeded").
  const slackApi = new URL(config.slack.apiUrl);
  let proxy: TcpProxy | undefined;
  const boot = async () => {
    const log = createLogger({ level: "debug", secrets: config.secrets, destination: logs });
    proxy = new TcpProxy(slackApi.hostname, Number(slackApi.port));
    const port = await proxy.start();
    const apiUrl = `http://127.0.0.1:${port}${slackApi.pathname}`;
    bot = await startBot({
      config: { ...config, slack: { ...config.slack, apiUrl } },
      log,
      tuning,
      host: "127.0.0.1",
      port: 0,
      clock,
    });
    world.url = bot.url;
    if (options.herokuEvents) await subscribe(world);
  };
  await boot();
  return {
    world,
    count: 1,
    url: () => world.url,
    async crash() {
      // In one process a real crash cannot be had; stopping with no grace interrupts every wait and
      // in-flight call at once, which is the nearest thing (the process variant uses SIGKILL); the
      // bot's Slack proxy is cut first, so that nothing it still had going reaches Slack.
      proxy?.cut();
      await bot.close(0);
      await proxy?.close();
      await boot();
    },
    async setClock(_index, offset) {
      offsetMs = offset;
    },
    async resetClocks() {
      offsetMs = 0;
    },
    async quiesce(capMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        bot.bot.worker.idle(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, capMs);
        }),
      ]);
      clearTimeout(timer);
    },
    store: () => bot.store,
    takeLogs() {
      const text = logs.lines.join("\n");
      logs.lines.length = 0;
      return text;
    },
    async close() {
      await bot.close(2_000);
      await proxy?.close();
      await world.close();
    },
  };
}

/** `count` bot processes on one database (PostgreSQL for more than one), crashed with SIGKILL. */
export async function processRunner(pipeline: PipelineOptions, db: TestDatabase, count: number): Promise<BotRunner> {
  const world = await startWorld({ pipeline, db });
  // The model's Slack timeout, as in-process: the sweep's grace and its settling of a message both wait
  // at least as long as a Slack call can take (4 × 1 s + 3.5 s here; 43.5 s with the 10 s default, longer
  // than a history's wrap-up allows).
  const tuning: Partial<Tuning> = {
    ...PROCESS_TUNING,
    messageGraceMs: MESSAGE_GRACE_MS,
    slackTimeoutMs: SLACK_TIMEOUT_MS,
    followLimitMs: 15_000,
  };
  const bots: BotProcess[] = await Promise.all(Array.from({ length: count }, () => spawnBot(world, tuning)));
  const skews: number[] = bots.map(() => 0);
  const crash = async (index: number) => {
    const i = index % count;
    await bots[i]!.kill("SIGKILL");
    bots[i] = await spawnBot(world, tuning, { clockSkewMs: skews[i] ?? 0 });
    world.url = bots[0]!.url;
  };
  world.url = bots[0]!.url;
  const store = openStore(world);
  const lastCallCount = () => world.heroku.calls.length + world.slack.calls.length + world.gitlab.calls.length;
  return {
    world,
    count,
    url: (index) => bots[index % count]!.url,
    crash,
    async setClock(index, offsetMs) {
      skews[index % count] = offsetMs;
      await crash(index);
    },
    async resetClocks() {
      for (let i = 0; i < count; i++) {
        if (skews[i] === 0) continue;
        skews[i] = 0;
        await crash(i);
      }
    },
    async quiesce(capMs) {
      // No window into another process: done when no stand-in has been called for a while.
      const deadline = Date.now() + capMs;
      let seen = lastCallCount();
      let quietSince = Date.now();
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        const now = lastCallCount();
        if (now !== seen) {
          seen = now;
          quietSince = Date.now();
        } else if (Date.now() - quietSince >= 300) return;
      }
    },
    store: () => store,
    takeLogs: () => bots.map((b, i) => `--- process ${i}\n${b.output().slice(-20_000)}`).join("\n"),
    async close() {
      await Promise.all(bots.map((b) => b.kill("SIGKILL")));
      await store.close();
      await world.close();
      await db.drop();
    },
  };
}

/** Points both apps' Heroku webhooks at the bot (a restart gives it a new port): created once, then moved. */
async function subscribe(world: World): Promise<void> {
  const url = `${world.url}/heroku/webhook`;
  for (const appId of [world.ids.staging, world.ids.production]) {
    const existing = world.heroku.webhooks.list(appId);
    if (existing.length > 0) {
      for (const subscription of existing) subscription.url = url;
      continue;
    }
    const response = await fetch(`${world.heroku.url}/apps/${appId}/webhooks`, {
      method: "POST",
      headers: {
        Accept: "application/vnd.heroku+json; version=3",
        Authorization: "Bearer heroku-test-token",
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ include: ["api:release", "dyno"], level: "sync", url, secret: HEROKU_WEBHOOK_SECRET }),
    });
    if (!response.ok) throw new Error(`could not subscribe app ${appId}: ${response.status} ${await response.text()}`);
  }
}
