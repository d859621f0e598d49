/**
 * A server under test, in its own process (argv[2] selects it):
 * - `product`: the real bot, `startBot` from src/server.ts, configured from the environment exactly as
 *   `npm start` is (loadConfig), logging at LOG_LEVEL into a null sink so the bench stays quiet while
 *   every log line is still built and serialized as in production;
 * - `bolt`: the baseline of a bare Bolt app on its own HTTPReceiver (`/slack/events`) whose command
 *   and action listeners only ack;
 * - `http`: the baseline of a bare node:http server that verifies the Slack signature with Bolt's
 *   exported `verifySlackRequest` and answers 200.
 * It reports `ready` with its URL and start-up time over IPC, then answers `idle`/`stats`/`stop`.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import { App, HTTPReceiver, LogLevel, verifySlackRequest } from "@slack/bolt";
import type { Tuning } from "../src/app/context.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/infra/logger.js";
import { type RunningBot, startBot } from "../src/server.js";
import { ACTIONS } from "../src/views/action-ids.js";
import type { FromServer, ServerMode, ServerStats, ToServer } from "./protocol.js";

function send(message: FromServer): void {
  process.send?.(message);
}

async function healthy(url: string): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Event-loop delay, garbage collection and CPU since the last call. */
function statsRecorder(): () => ServerStats {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let gc = { count: 0, totalMs: 0, maxMs: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count += 1;
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ["gc"] });
  let cpu = process.cpuUsage();
  return () => {
    const usage = process.memoryUsage();
    const used = process.cpuUsage(cpu);
    const stats: ServerStats = {
      rssBytes: usage.rss,
      heapUsedBytes: usage.heapUsed,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      gcCount: gc.count,
      gcTotalMs: gc.totalMs,
      gcMaxMs: gc.maxMs,
      cpuUserMs: used.user / 1000,
      cpuSystemMs: used.system / 1000,
    };
    loop.reset();
    gc = { count: 0, totalMs: 0, maxMs: 0 };
    cpu = process.cpuUsage();
    return stats;
  };
}

function urlOf(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function startProduct(): Promise<{ url: string; startupMs: number; bot: RunningBot }> {
  const config = loadConfig(process.env);
  const log = createLogger({ level: config.logLevel, secrets: config.secrets, destination: { write() {} } });
  const tuning = JSON.parse(process.env.BENCH_TUNING ?? "{}") as Partial<Tuning>;
  const started = performance.now();
  const bot = await startBot({ config, log, tuning, host: "127.0.0.1", port: 0 });
  await healthy(bot.url);
  return { url: bot.url, startupMs: performance.now() - started, bot };
}

async function startBareBolt(
  signingSecret: string,
): Promise<{ url: string; startupMs: number; stop: () => Promise<void> }> {
  const started = performance.now();
  const receiver = new HTTPReceiver({ signingSecret, endpoints: "/slack/events" });
  const app = new App({
    token: "xoxb-bench-baseline",
    // Known bot ids spare the baseline the one auth.test a single-workspace app makes on its first event.
    botId: "BBOT000001",
    botUserId: "UBOT000001",
    receiver,
    tokenVerificationEnabled: false,
    logLevel: LogLevel.ERROR,
  });
  app.command("/promote", async ({ ack }) => {
    await ack();
  });
  app.action(ACTIONS.approve, async ({ ack }) => {
    await ack();
  });
  const server = (await app.start({ port: 0, host: "127.0.0.1" })) as Server;
  return { url: urlOf(server), startupMs: performance.now() - started, stop: () => app.stop().then(() => {}) };
}

async function startBareHttp(
  signingSecret: string,
): Promise<{ url: string; startupMs: number; stop: () => Promise<void> }> {
  const started = performance.now();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        verifySlackRequest({
          signingSecret,
          body: Buffer.concat(chunks).toString("utf8"),
          headers: {
            "x-slack-signature": String(req.headers["x-slack-signature"] ?? ""),
            "x-slack-request-timestamp": Number(req.headers["x-slack-request-timestamp"]),
          },
        });
        res.writeHead(200, { "content-length": 0 });
      } catch {
        res.writeHead(401, { "content-length": 0 });
      }
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: urlOf(server),
    startupMs: performance.now() - started,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function main(): Promise<void> {
  const mode = process.argv[2] as ServerMode;
  const stats = statsRecorder();
  let bot: RunningBot | undefined;
  let stop: () => Promise<void>;
  let ready: { url: string; startupMs: number };
  if (mode === "product") {
    const product = await startProduct();
    bot = product.bot;
    ready = product;
    stop = () => product.bot.close(2_000);
  } else {
    const secret = process.env.SLACK_SIGNING_SECRET ?? "";
    const baseline = mode === "bolt" ? await startBareBolt(secret) : await startBareHttp(secret);
    ready = baseline;
    stop = baseline.stop;
  }
  process.on("message", (message: ToServer) => {
    if (message.type === "stop") {
      stop().finally(() => process.exit(0));
      return;
    }
    if (message.type === "stats") {
      send({ type: "stats", id: message.id, stats: stats() });
      return;
    }
    const id = message.id;
    (bot ? bot.bot.worker.idle() : Promise.resolve()).then(() => send({ type: "idle", id }));
  });
  send({ type: "ready", url: ready.url, startupMs: ready.startupMs });
}

main().catch((error: unknown) => {
  send({ type: "failed", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exit(1);
});
