/**
 * The sandbox: the real bot (dist/main.js in a child process, SQLite store) on a simulated world
 * (the test stand-ins of Slack, Heroku and GitLab, one implementation for both), and a local web page
 * that shows the channel as Slack would and acts as the people and services around the bot.
 *
 * Everything the page does reaches the bot as the real services would send it: slash commands and
 * button clicks as signed `/slack/events` requests with Slack's payloads, CI results as GitLab
 * Pipeline Hook deliveries. Nothing in src/ knows it runs here.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { RecordedCall } from "../stand-ins/http-stand-in.js";
import type { SlackMessage } from "../stand-ins/slack.js";
import {
  blockActionBody,
  homeClickBody,
  homeOpenedBody,
  signSlackRequest,
  slashCommandBody,
} from "../stand-ins/slack-requests.js";
import type { TestDatabase } from "../test/support/databases.js";
import {
  APPROVER_GROUP,
  APPROVER_GROUP_HANDLE,
  CHANNEL,
  CHANNEL_NAME,
  PEOPLE,
  type PipelineOptions,
  PROJECT_ID,
  SIGNING_SECRET,
  startWorld,
  type World,
} from "../test/support/harness.js";
import { BotSupervisor } from "./bot-supervisor.js";

export interface SandboxOptions {
  /** Port of the web page (0: any free port). */
  port?: number;
  /** The demo pipeline's approval rules. */
  pipeline?: PipelineOptions;
  /** Receives the bot's log lines (pino JSON), e.g. to print them. */
  onBotLine?: (line: string) => void;
}

export interface Sandbox {
  /** The web page. */
  url: string;
  world: World;
  bot: BotSupervisor;
  /** The store's file (SQLite), removed on close. */
  storePath: string;
  close(): Promise<void>;
}

interface Activity {
  at: number;
  service: "Heroku" | "GitLab" | "Slack" | "sandbox";
  line: string;
}

/** The secret of the sandbox's Heroku webhook subscriptions. */
const SANDBOX_HEROKU_SECRET = "sandbox-heroku-webhook-secret-0123456789";
/** Slack's own words when a slash command or button cannot reach the app. */
const DISPATCH_FAILED = "dispatch_failed";
const OPERATION_TIMEOUT = "operation_timeout";
/** Slack waits this long for the app's acknowledgement. */
const SLACK_ACK_TIMEOUT_MS = 3_000;
const MAX_ACTIVITY = 40;

/** Commits a pushed change may carry, in turn. */
const CHANGES: Array<{ title: string; author: string }> = [
  { title: "Show delivery estimates at checkout", author: "Ada Lovelace" },
  { title: "Retry card authorisation once on gateway timeout", author: "Grace Hopper" },
  { title: "Cache the product catalogue for 60 seconds", author: "Alan Turing" },
  { title: "Fix the rounding of VAT on discounted items", author: "Katherine Johnson" },
  { title: "Send the order confirmation email in the background", author: "Edsger Dijkstra" },
  { title: "Add an index on orders.customer_id", author: "Barbara Liskov" },
];

const RELEASE_PHASE_FAILURE = {
  error_message: "Release command failed: the release phase exited with status 1",
  output: [
    "Running release command...",
    "Migrating to AddShippingZones (20261127101500)",
    'PG::UndefinedTable: ERROR:  relation "zones" does not exist',
    "rake aborted!",
  ].join("\n"),
};

/** The repository root: the nearest directory up from here holding package.json. */
function repositoryRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find the repository root (package.json)");
    dir = parent;
  }
  return dir;
}

const STATIC: Record<string, string> = {
  "/": "index.html",
  "/index.html": "index.html",
  "/app.js": "app.js",
  "/style.css": "style.css",
};
const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const root = repositoryRoot();
  if (!existsSync(join(root, "dist", "main.js"))) {
    throw new Error("dist/main.js is missing: run `npm run build` (npm ci does it) first");
  }
  const storeDir = mkdtempSync(join(tmpdir(), "promote-bot-sandbox-"));
  const storePath = join(storeDir, "sandbox.db");
  const db: TestDatabase = {
    name: "sqlite",
    config: { kind: "sqlite", path: storePath },
    url: `sqlite:${storePath}`,
    async drop() {
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
  const world = await startWorld({
    db,
    pipeline: options.pipeline ?? {},
    env: { LOG_LEVEL: "info", HEROKU_WEBHOOK_SECRET: SANDBOX_HEROKU_SECRET },
  });

  const activity: Activity[] = [];
  const note = (service: Activity["service"], line: string) => {
    activity.push({ at: Date.now(), service, line });
    if (activity.length > MAX_ACTIVITY) activity.splice(0, activity.length - MAX_ACTIVITY);
    changed();
  };

  // ------------------------------------------------------------ the simulated world
  const titles = new Map<string, string>();
  for (const commit of world.gitlab.history(PROJECT_ID, "main")) titles.set(commit.id, commit.title);
  let changeIndex = 0;
  const nextChange = () => {
    const change = CHANGES[changeIndex % CHANGES.length] as { title: string; author: string };
    changeIndex += 1;
    return change;
  };
  // Staging starts two commits ahead of production, so there is something to promote at once.
  for (let i = 0; i < 2; i++) ship(nextChange());

  function ship(change: { title: string; author: string }) {
    const commit = world.gitlab.commit(PROJECT_ID, "main", change.title, { authorName: change.author });
    titles.set(commit.id, commit.title);
    const ci = world.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "success" });
    const release = world.heroku.deploy(world.ids.staging, commit.id);
    return { commit, pipelineId: ci.id, release };
  }

  let failNextPromotion = false;
  let driftIndex = 0;
  // Heroku finishes a promotion on its own, a moment after the POST (and says so by webhook).
  world.heroku.promotionBehaviour.settleAfterMs = 1_500;
  const rateLimitBudget = world.heroku.rateLimitRemaining;
  let rateLimited = false;

  world.heroku.onCall((call, status) => {
    if (failNextPromotion && call.method === "POST" && call.path === "/pipeline-promotions" && status === 201) {
      // The stand-in took its failure plan when it created this promotion; the next one succeeds.
      failNextPromotion = false;
      world.heroku.promotionBehaviour.failTargets = {};
    }
    note("Heroku", describeCall(call, status));
  });
  world.gitlab.onCall((call, status) => note("GitLab", describeCall(call, status)));
  world.slack.onCall((call, status) => {
    note("Slack", call.path.startsWith("/response/") ? `POST response_url → ${status}` : describeCall(call, status));
  });

  async function deliver(pipelineId: number): Promise<string> {
    const delivery = world.gitlab.pipelineEvent(PROJECT_ID, pipelineId);
    try {
      const response = await world.sendGitLab(delivery, bot.url);
      return `GitLab sent a Pipeline Hook; the bot answered ${response.status}`;
    } catch {
      // GitLab keeps a failed delivery in the webhook's recent events; the sandbox just says so.
      return "GitLab could not deliver the Pipeline Hook: the bot is not answering";
    }
  }

  const worldActions: Record<string, (body: Record<string, unknown>) => Promise<string>> = {
    "push-commit": async () => {
      const shipped = ship(nextChange());
      note(
        "sandbox",
        `pushed ${shipped.commit.short_id} "${shipped.commit.title}": CI passed, staging runs v${shipped.release.version}`,
      );
      return deliver(shipped.pipelineId);
    },
    "fail-ci": async () => {
      const change = nextChange();
      const commit = world.gitlab.commit(PROJECT_ID, "main", change.title, { authorName: change.author });
      titles.set(commit.id, commit.title);
      const ci = world.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "failed" });
      note("sandbox", `pushed ${commit.short_id} "${commit.title}": CI failed, staging not deployed`);
      return deliver(ci.id);
    },
    "fail-next-promotion": async () => {
      failNextPromotion = true;
      world.heroku.promotionBehaviour.failTargets = { "whitewave-prod": RELEASE_PHASE_FAILURE };
      note("sandbox", "the next promotion will fail in production's release phase");
      return "The next promotion will fail in production's release phase.";
    },
    "rate-limit": async (body) => {
      rateLimited = body.on === true;
      world.heroku.rateLimitRemaining = rateLimited ? 0 : rateLimitBudget;
      note("sandbox", rateLimited ? "Heroku answers every call with 429 rate_limit" : "Heroku's rate limit is reset");
      return rateLimited ? "Heroku now answers 429 to every call." : "Heroku answers normally again.";
    },
    "restart-bot": async () => {
      note("sandbox", `killing the bot (SIGKILL, pid ${bot.pid ?? "-"}) and starting it again on the same store`);
      await bot.restart();
      await subscribeToHeroku();
      note("sandbox", `the bot is back (pid ${bot.pid ?? "-"})`);
      return `The bot was killed and started again (pid ${bot.pid ?? "-"}).`;
    },
    "hotfix-production": async () => {
      const change = nextChange();
      const commit = world.gitlab.commit(PROJECT_ID, "main", `Hotfix: ${change.title}`, { authorName: change.author });
      titles.set(commit.id, commit.title);
      const release = world.heroku.deploy(world.ids.production, commit.id);
      note(
        "sandbox",
        `someone pushed ${commit.short_id} straight to production with git: whitewave-prod runs v${release.version}`,
      );
      return `whitewave-prod now runs v${release.version}, made outside the bot: Heroku's webhook tells it.`;
    },
    "config-var-drift": async () => {
      const key = `FEATURE_${String.fromCharCode(65 + (driftIndex++ % 26))}`;
      world.heroku.setConfigVars(world.ids.staging, { [key]: "on" });
      note("sandbox", `staging got the config var ${key}; production does not have it`);
      return `Staging now has ${key} and production does not: the next request shows the drift.`;
    },
  };

  // ------------------------------------------------------------ acting as Slack
  const nameOf = (user: string) => PEOPLE.find((p) => p.id === user)?.name ?? user;
  const isPerson = (user: unknown): user is string => PEOPLE.some((p) => p.id === user);

  /** POSTs a signed request to the bot as Slack does, with Slack's 3-second limit and its error names. */
  async function toBot(body: string): Promise<{ ok: true; body: string } | { ok: false; error: string }> {
    try {
      const response = await fetch(`${bot.url}/slack/events`, {
        method: "POST",
        headers: signSlackRequest(SIGNING_SECRET, body),
        body,
        signal: AbortSignal.timeout(SLACK_ACK_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status !== 200) return { ok: false, error: `${DISPATCH_FAILED} (HTTP ${response.status})` };
      return { ok: true, body: text };
    } catch (error) {
      const timedOut = error instanceof Error && error.name === "TimeoutError";
      return { ok: false, error: timedOut ? OPERATION_TIMEOUT : DISPATCH_FAILED };
    }
  }

  async function command(user: string, line: string): Promise<Result> {
    const match = /^\s*(\/\S+)\s*(.*)$/s.exec(line);
    if (!match) return { ok: false, error: "Type a slash command, e.g. /promote whitewave" };
    const [, name, text] = match as unknown as [string, string, string];
    if (name !== "/promote") return { ok: false, error: `${name} is not a valid command. This app only has /promote.` };
    note("sandbox", `${nameOf(user)} typed ${name} ${text}`.trim());
    const body = slashCommandBody({
      userId: user,
      userName: nameOf(user),
      channelId: CHANNEL,
      channelName: CHANNEL_NAME,
      text: text.trim(),
      responseUrl: world.slack.responseUrl({ channel: CHANNEL, user }),
    });
    const sent = await toBot(body);
    if (!sent.ok) return { ok: false, error: `/promote failed with the error "${sent.error}"` };
    const answer = sent.body.trim();
    if (answer) {
      const message = answer.startsWith("{") ? (JSON.parse(answer) as Record<string, unknown>) : { text: answer };
      world.slack.acknowledgement({ channel: CHANNEL, user }, message);
      changed();
    }
    return { ok: true };
  }

  /** The user opened the app's Home tab: Slack sends `app_home_opened`, and the bot publishes the view. */
  async function openHome(user: string): Promise<Result> {
    note("sandbox", `${nameOf(user)} opened the app's Home tab`);
    const sent = await toBot(homeOpenedBody(user));
    return sent.ok ? { ok: true } : { ok: false, error: `The app's Home could not be loaded (${sent.error}).` };
  }

  async function click(user: string, body: Record<string, unknown>): Promise<Result> {
    const { actionId, value } = body;
    if (typeof actionId !== "string" || typeof value !== "string") return { ok: false, error: "no such button" };
    let payload: string;
    if (body.view === "home") {
      const view = world.slack.homeOf(user);
      if (!view) return { ok: false, error: "Open the Home tab first." };
      payload = homeClickBody({
        userId: user,
        userName: nameOf(user),
        actionId,
        value,
        view: { id: "VHOME", blocks: view.blocks },
      });
    } else if (typeof body.ts === "string") {
      const message = world.slack.messages.find((m) => m.channel === CHANNEL && m.ts === body.ts);
      if (!message) return { ok: false, error: "That message is gone." };
      payload = blockActionBody({
        userId: user,
        userName: nameOf(user),
        channelId: CHANNEL,
        channelName: CHANNEL_NAME,
        messageTs: message.ts,
        message,
        actionId,
        value,
        responseUrl: world.slack.responseUrl({ channel: CHANNEL, user, messageTs: message.ts }),
      });
    } else if (typeof body.ephemeralId === "number" && world.slack.ephemerals[body.ephemeralId]?.user === user) {
      const entry = world.slack.ephemerals[body.ephemeralId];
      payload = blockActionBody({
        userId: user,
        userName: nameOf(user),
        channelId: CHANNEL,
        channelName: CHANNEL_NAME,
        messageTs: ephemeralTs(entry?.at ?? Date.now()),
        isEphemeral: true,
        actionId,
        value,
        responseUrl: world.slack.responseUrl({ channel: CHANNEL, user, isEphemeral: true }),
      });
    } else {
      return { ok: false, error: "That message is gone." };
    }
    note("sandbox", `${nameOf(user)} clicked ${actionId}`);
    const sent = await toBot(payload);
    // Slack shows a failed interaction as a warning next to the message.
    return sent.ok ? { ok: true } : { ok: false, error: `This app is not responding (${sent.error}). Try again.` };
  }

  // ------------------------------------------------------------ what the page shows
  function state(user: string) {
    const toView = (m: SlackMessage) => ({
      ts: m.ts,
      at: m.history[0]?.at ?? 0,
      text: m.text,
      blocks: m.blocks,
      edited: m.edited !== undefined,
    });
    const staging = world.heroku.currentRelease(world.ids.staging);
    const production = world.heroku.currentRelease(world.ids.production);
    const releaseView = (release: typeof staging) => {
      const sha = release?.slug ? world.heroku.slugCommit(release.slug.id) : null;
      return {
        version: release?.version ?? null,
        commit: sha ? sha.slice(0, 8) : null,
        title: sha ? (titles.get(sha) ?? null) : null,
      };
    };
    return {
      users: PEOPLE,
      groups: [{ id: APPROVER_GROUP, handle: APPROVER_GROUP_HANDLE }],
      channel: { id: CHANNEL, name: CHANNEL_NAME },
      me: user,
      messages: world.slack.topLevel(CHANNEL).map((m) => ({
        ...toView(m),
        replies: world.slack.replies(CHANNEL, m.ts).map(toView),
      })),
      ephemerals: world.slack.ephemerals.flatMap((e, id) =>
        e.user === user &&
        e.channel === CHANNEL &&
        e.response_type !== "in_channel" &&
        !e.replace_original &&
        !e.delete_original
          ? [{ id, at: e.at, text: e.text, blocks: e.blocks, threadTs: e.thread_ts }]
          : [],
      ),
      home: world.slack.homeOf(user) ?? null,
      bot: { status: bot.status, pid: bot.pid, restarts: bot.restarts },
      world: {
        rateLimited,
        failNextPromotion,
        staging: releaseView(staging),
        production: releaseView(production),
      },
      activity,
    };
  }

  // ------------------------------------------------------------ live updates (server-sent events)
  const clients = new Set<{ res: ServerResponse; user: string }>();
  let pendingPush: NodeJS.Timeout | undefined;
  function changed(): void {
    if (pendingPush) return;
    pendingPush = setTimeout(() => {
      pendingPush = undefined;
      for (const client of clients) sendState(client.res, client.user);
    }, 25);
  }
  function sendState(res: ServerResponse, user: string): void {
    res.write(`event: state\ndata: ${JSON.stringify(state(user))}\n\n`);
  }

  // ------------------------------------------------------------ the web server
  const webDir = join(root, "sandbox", "web");
  const server: Server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      process.stderr.write(`sandbox: ${req.method} ${req.url} failed: ${String(error)}\n`);
      if (!res.headersSent) json(res, 500, { ok: false, error: "The sandbox hit an error; see its terminal." });
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://sandbox");
    const file = STATIC[url.pathname];
    if (req.method === "GET" && file) {
      const type = CONTENT_TYPES[file.split(".").pop() ?? ""] ?? "text/plain";
      res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
      res.end(readFileSync(join(webDir, file)));
      return;
    }
    const user = url.searchParams.get("user") ?? "";
    if (req.method === "GET" && url.pathname === "/api/state") {
      if (!isPerson(user)) return json(res, 400, { ok: false, error: "unknown user" });
      return json(res, 200, state(user));
    }
    if (req.method === "GET" && url.pathname === "/api/events") {
      if (!isPerson(user)) return json(res, 400, { ok: false, error: "unknown user" });
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      const client = { res, user };
      clients.add(client);
      req.once("close", () => clients.delete(client));
      sendState(res, user);
      return;
    }
    if (req.method !== "POST") return json(res, 404, { ok: false, error: "not found" });
    const body = await readJson(req);
    if (!body) return json(res, 400, { ok: false, error: "the body must be a JSON object" });
    if (url.pathname === "/api/command" || url.pathname === "/api/action" || url.pathname === "/api/home") {
      if (!isPerson(body.user)) return json(res, 400, { ok: false, error: "unknown user" });
      if (bot.status === "stopped") {
        return json(res, 200, { ok: false, error: 'The bot is not running: it exited. Use "Restart the bot".' });
      }
      if (bot.status !== "running") {
        return json(res, 200, { ok: false, error: `The bot is ${bot.status}; try again in a moment.` });
      }
      const result =
        url.pathname === "/api/command"
          ? await command(body.user, typeof body.text === "string" ? body.text : "")
          : url.pathname === "/api/home"
            ? await openHome(body.user)
            : await click(body.user, body);
      return json(res, 200, result);
    }
    const action = url.pathname.startsWith("/api/world/") ? worldActions[url.pathname.slice(11)] : undefined;
    if (!action) return json(res, 404, { ok: false, error: "not found" });
    try {
      return json(res, 200, { ok: true, detail: await action(body) });
    } catch (error) {
      const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
      note("sandbox", `failed: ${message}`);
      return json(res, 200, { ok: false, error: message });
    }
  }

  const bot = new BotSupervisor({
    root,
    env: world.env,
    onLine: options.onBotLine,
    onStatus: () => changed(),
    onUnexpectedExit: (how, lastOutput) => {
      note("sandbox", `the bot exited on its own (${how}); "Restart the bot" starts it again`);
      process.stderr.write(
        `sandbox: the bot exited on its own (${how}). Its last output:\n${lastOutput.slice(-4_000)}\n`,
      );
    },
  });
  await bot.start();
  world.url = bot.url;
  /** Heroku's app webhooks, as `npm run setup-heroku-webhooks` makes them, pointed at the bot's port. */
  async function subscribeToHeroku(): Promise<void> {
    const url = `${bot.url}/heroku/webhook`;
    for (const appId of [world.ids.staging, world.ids.production]) {
      const existing = world.heroku.webhooks.list(appId);
      if (existing.length > 0) {
        for (const subscription of existing) subscription.url = url;
        continue;
      }
      await fetch(`${world.heroku.url}/apps/${appId}/webhooks`, {
        method: "POST",
        headers: {
          Accept: "application/vnd.heroku+json; version=3",
          Authorization: `Bearer ${world.env.HEROKU_API_TOKEN}`,
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ include: ["api:release", "dyno"], level: "sync", url, secret: SANDBOX_HEROKU_SECRET }),
      });
    }
  }
  await subscribeToHeroku();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    world,
    bot,
    storePath,
    async close() {
      if (pendingPush) clearTimeout(pendingPush);
      for (const client of clients) client.res.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bot.stop();
      await world.close();
      await db.drop();
    },
  };
}

type Result = { ok: true } | { ok: false; error: string };

function ephemeralTs(at: number): string {
  return `${Math.floor(at / 1000)}.${String((at % 1000) * 1000).padStart(6, "0")}`;
}

function describeCall(call: RecordedCall, status: number): string {
  const query = call.query.toString();
  const target = decodeURIComponent(`${call.path}${query ? `?${query}` : ""}`)
    // Ids and SHAs shortened as people read them.
    .replaceAll(/\b([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, "$1…")
    .replaceAll(/\b([0-9a-f]{8})[0-9a-f]{32}\b/g, "$1");
  return `${call.method} ${target} → ${status}`;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
