/**
 * Issue 15's Heroku budget, counted from the Heroku stand-in's recorded calls (`world.heroku.calls`)
 * against the real bot in a child process, with 50 ms on every external call:
 *
 * - `/promote list` over N pipelines: first ever (a fresh process on a fresh store, run with
 *   HEROKU_WEBHOOK_SECRET unset, as before issue 15), again at once (warm, no events), cold after a
 *   restart (a new process on that store: topology and slug commits kept, no events), and warm while
 *   events flow (every app subscribed to the bot's /heroku/webhook and delivering a dyno event);
 * - App Home opened, without events and while events flow;
 * - a 30-minute promotion followed with and without release events, time compressed (see
 *   `measurePromotionFollow`), and the same computed from the follower's schedule with DEFAULT_TUNING;
 * - a bot with N pipelines left idle for a window at the default sweep interval (10 s), without events
 *   and while events flow, extrapolated to an hour.
 */
import { DEFAULT_TUNING, type Tuning } from "../src/app/context.js";
import { ACTIONS } from "../src/views/action-ids.js";
import type { RecordedCall } from "../stand-ins/http-stand-in.js";
import { homeOpenedBody, postSlack } from "../stand-ins/slack-requests.js";
import {
  APPROVER_A,
  buttonValue,
  CHANNEL,
  messageText,
  REQUESTER,
  SIGNING_SECRET,
  type World,
} from "../test/support/harness.js";
import { ServerChild } from "./children.js";
import { pollsFor } from "./measure-cost.js";
import { subscribeApp } from "./measure-heroku-webhooks.js";
import { type ListCall, measureList } from "./measure-list.js";
import { benchWorld, manyPipelinesWorld, pipelineName, settle } from "./worlds.js";

/** The secret the bench's bots and stand-in subscriptions share (HEROKU_WEBHOOK_SECRET, ≥ 32 characters). */
export const BENCH_HEROKU_SECRET = "bench-heroku-webhook-secret-0123456789abcdef";

/** Status reads of a promotion in flight. */
const PROMOTION_READ = /^\/pipeline-promotions\/[^/]+(\/promotion-targets)?$/;

export function normalizePath(path: string): string {
  return path
    .split("/")
    .map((part) => {
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part)) return ":id";
      if (/^[0-9a-f]{40}$/i.test(part)) return ":sha";
      if (/^\d+$/.test(part)) return ":n";
      if (/^svc-\d+(-staging|-prod)?$/.test(part)) return ":name";
      return part;
    })
    .join("/");
}

/** "GET /pipelines/:id/latest-releases ×100, …", most frequent first. */
export function summarizeCalls(calls: RecordedCall[]): string {
  if (calls.length === 0) return "none";
  const counts = new Map<string, number>();
  for (const call of calls) {
    const key = `${call.method} ${normalizePath(call.path)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => (n > 1 ? `${key} ×${n}` : key))
    .join(", ");
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The configured apps of a many-pipelines world: whitewave's and each svc-NNN's staging and production. */
function appsOf(pipelines: number): string[] {
  const names = ["whitewave", ...Array.from({ length: pipelines - 1 }, (_, i) => pipelineName(i + 1))];
  return names.flatMap((name) => [`${name}-staging`, `${name}-prod`]);
}

async function subscribeAll(world: World, server: ServerChild, apps: string[]): Promise<void> {
  for (let i = 0; i < apps.length; i += 25) {
    await Promise.all(apps.slice(i, i + 25).map((app) => subscribeApp(world, app, server.url, BENCH_HEROKU_SECRET)));
  }
}

/** Every app reports a dyno state: its events now flow (the bot trusts its view for HEROKU_EVENTS_FRESH_FOR). */
async function dynoRound(world: World, server: ServerChild, apps: string[], state = "up"): Promise<void> {
  for (const app of apps) world.heroku.emitDynoState(app, { type: "web", state });
  await world.heroku.webhooksIdle();
  await server.idle();
}

function withoutSecret(env: Record<string, string>): Record<string, string> {
  const { HEROKU_WEBHOOK_SECRET: _unset, ...rest } = env;
  return rest;
}

// ------------------------------------------------------------------ list and App Home

export interface ListSeen extends ListCall {
  heroku: RecordedCall[];
}

export interface HomeSeen {
  /** From the event sent to the view published. */
  publishedMs: number | null;
  heroku: RecordedCall[];
  gitlabCalls: number;
}

/** `/promote list` twice in a row (measure-list.ts), with the Heroku calls of each. */
async function listTwice(
  world: World,
  server: ServerChild,
  pipelines: number,
): Promise<{ first: ListSeen; second: ListSeen }> {
  const from = world.heroku.calls.length;
  const result = await measureList(world, server, pipelines);
  if (!result.available) throw new Error(`/promote list did not answer with a list: ${result.reason}`);
  const cut = from + result.cold.herokuCalls;
  return {
    first: { ...result.cold, heroku: world.heroku.calls.slice(from, cut) },
    second: { ...result.warm, heroku: world.heroku.calls.slice(cut, cut + result.warm.herokuCalls) },
  };
}

async function homeOpen(world: World, server: ServerChild, user: string): Promise<HomeSeen> {
  const published = () => world.slack.homeViews.filter((v) => v.user === user).length;
  const before = published();
  const heroku0 = world.heroku.calls.length;
  const gitlab0 = world.gitlab.calls.length;
  const started = Date.now();
  const answer = await postSlack(server.url, SIGNING_SECRET, homeOpenedBody(user), {
    headers: { "content-type": "application/json" },
  });
  if (answer.status !== 200) throw new Error(`app_home_opened was answered ${answer.status}`);
  let publishedMs: number | null = null;
  try {
    await world.slack.waitFor(() => published() > before, 15_000);
    publishedMs = (world.slack.homeViews.at(-1)?.at ?? Date.now()) - started;
  } catch {
    publishedMs = null;
  }
  await server.idle();
  await settle(world);
  return { publishedMs, heroku: world.heroku.calls.slice(heroku0), gitlabCalls: world.gitlab.calls.length - gitlab0 };
}

export interface SizeResult {
  pipelines: number;
  /** (a) the first list ever: fresh process, empty store, HEROKU_WEBHOOK_SECRET unset (no events, as before issue 15). */
  firstEver: ListSeen;
  /** (d) the same process again at once: warm, no events. */
  warmNoEvents: ListSeen;
  homeNoEvents: HomeSeen;
  /** (b) a new process on that store (topology and commits kept), no events. */
  coldAfterRestart: ListSeen;
  /** (c) while every app's events flow: two lists in a row. */
  warmEvents: [ListSeen, ListSeen];
  homeEvents: HomeSeen;
  /** What subscribing and the first dyno round cost the bot in Heroku calls (none expected). */
  eventsSetUpCalls: RecordedCall[];
}

/**
 * One world of `pipelines` pipelines through (a), (d), App Home, a restart, (b), events, (c), App
 * Home again. Returns the world and its last bot, still running with events flowing, for the idle window.
 */
async function budgetAt(
  pipelines: number,
  step: (text: string) => void,
): Promise<{ result: SizeResult; world: World; server: ServerChild }> {
  const world = await manyPipelinesWorld(pipelines, CHANNEL, APPROVER_A);
  world.env.HEROKU_WEBHOOK_SECRET = BENCH_HEROKU_SECRET;
  let server: ServerChild | undefined;
  try {
    step(`issue 15: /promote list and App Home, ${pipelines} pipelines, first process (no webhook secret)`);
    const first = await ServerChild.start("product", withoutSecret(world.env));
    let firstEver: ListSeen;
    let warmNoEvents: ListSeen;
    let homeNoEvents: HomeSeen;
    try {
      ({ first: firstEver, second: warmNoEvents } = await listTwice(world, first, pipelines));
      homeNoEvents = await homeOpen(world, first, APPROVER_A);
    } finally {
      await first.stop();
    }
    step(`issue 15: ${pipelines} pipelines, restarted with HEROKU_WEBHOOK_SECRET; then events`);
    server = await ServerChild.start("product", world.env);
    world.url = server.url;
    const { first: coldAfterRestart } = await listTwice(world, server, pipelines);
    const apps = appsOf(pipelines);
    await subscribeAll(world, server, apps);
    const subscribed = world.heroku.calls.length;
    await dynoRound(world, server, apps);
    await settle(world);
    const eventsSetUpCalls = world.heroku.calls.slice(subscribed);
    const { first: warm1, second: warm2 } = await listTwice(world, server, pipelines);
    const homeEvents = await homeOpen(world, server, APPROVER_A);
    return {
      result: {
        pipelines,
        firstEver,
        warmNoEvents,
        homeNoEvents,
        coldAfterRestart,
        warmEvents: [warm1, warm2],
        homeEvents,
        eventsSetUpCalls,
      },
      world,
      server,
    };
  } catch (error) {
    await server?.stop();
    await world.close();
    throw error;
  }
}

// ------------------------------------------------------------------ idle

export interface IdleResult {
  pipelines: number;
  events: boolean;
  windowS: number;
  /** Sweeps that ran in the window at the default interval. */
  sweeps: number;
  heroku: RecordedCall[];
  /** Calls at start-up (before the window; the no-events bot only). */
  startupHeroku: RecordedCall[];
  /** Events delivered to the bot during the window. */
  eventsDelivered: number;
  perHour: number;
}

/** A fresh bot with `pipelines` pipelines, never asked anything and sent no event, for `windowS`. */
async function idleWithoutEvents(pipelines: number, windowS: number): Promise<IdleResult> {
  const world = await manyPipelinesWorld(pipelines, CHANNEL, APPROVER_A);
  try {
    const from = world.heroku.calls.length;
    const server = await ServerChild.start("product", withoutSecret(world.env));
    try {
      await settle(world);
      const startupHeroku = world.heroku.calls.slice(from);
      const mark = world.heroku.calls.length;
      const started = performance.now();
      await sleep(windowS * 1000);
      await server.idle();
      const elapsedS = (performance.now() - started) / 1000;
      const heroku = world.heroku.calls.slice(mark);
      return {
        pipelines,
        events: false,
        windowS: elapsedS,
        sweeps: Math.floor((elapsedS * 1000) / DEFAULT_TUNING.sweepIntervalMs),
        heroku,
        startupHeroku,
        eventsDelivered: 0,
        perHour: (heroku.length * 3600) / elapsedS,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await world.close();
  }
}

/**
 * The bot of `budgetAt`, events flowing, for `windowS` with no command: two rounds of events during
 * the window (every app's dyno state, and a deploy to a tenth of the staging apps, which releases and
 * moves staging), as a live org sends them.
 */
async function idleWithEvents(
  world: World,
  server: ServerChild,
  pipelines: number,
  windowS: number,
): Promise<IdleResult> {
  const apps = appsOf(pipelines);
  const mark = world.heroku.calls.length;
  const delivered0 = world.heroku.webhooks.attempts.length;
  const started = performance.now();
  // Early in the window, so that the rounds fall while the promotion follows run, not during a load.
  const rounds = [2, Math.min(10, windowS / 2)];
  for (const [i, at] of rounds.entries()) {
    await sleep(at * 1000 - (performance.now() - started));
    for (const app of apps) world.heroku.emitDynoState(app, { type: "web", state: i % 2 === 0 ? "idle" : "up" });
    for (const app of apps.filter((a, j) => a.endsWith("-staging") && j % 20 === 0)) {
      world.heroku.deploy(app, `${i + 1}`.padStart(40, "a"));
    }
  }
  await sleep(windowS * 1000 - (performance.now() - started));
  await world.heroku.webhooksIdle();
  await server.idle();
  const elapsedS = (performance.now() - started) / 1000;
  const heroku = world.heroku.calls.slice(mark);
  return {
    pipelines,
    events: true,
    windowS: elapsedS,
    sweeps: Math.floor((elapsedS * 1000) / DEFAULT_TUNING.sweepIntervalMs),
    heroku,
    startupHeroku: [],
    eventsDelivered: world.heroku.webhooks.attempts.length - delivered0,
    perHour: (heroku.length * 3600) / elapsedS,
  };
}

// ------------------------------------------------------------------ a promotion followed

export interface FollowResult {
  events: boolean;
  scale: number;
  /** The promotion's length, in real (compressed) time and as it stands for. */
  durationMs: number;
  standsForMin: number;
  /** GET /pipeline-promotions/:id(/promotion-targets) after the POST, to the end. */
  polls: number;
  /** Every Heroku call after the POST to the end, polls included. */
  heroku: RecordedCall[];
  releaseEventsDelivered: number;
  outcome: string;
}

/**
 * A promotion that Heroku takes 30 minutes to finish, with time compressed by `scale`: the follower's
 * timings (pollFirstMs, pollMaxMs, eventPollMaxMs, followLimitMs) and the stand-ins' latency are
 * divided by it, and the stand-in settles the promotion (completePromotion) 30 min / scale after the
 * POST, however often it was polled. With events, both apps are subscribed and have delivered a dyno
 * event before; without, the bot runs with HEROKU_WEBHOOK_SECRET unset (the backoff of before issue 15).
 */
async function measurePromotionFollow(events: boolean, scale: number, minutes = 30): Promise<FollowResult> {
  const world = await benchWorld();
  const latency = Math.max(1, Math.round(50 / scale));
  for (const standIn of [world.slack, world.heroku, world.gitlab]) standIn.latencyMs = latency;
  world.heroku.promotionBehaviour.pollsUntilDone = 1_000_000_000;
  const tuning: Partial<Tuning> = {
    pollFirstMs: Math.round(DEFAULT_TUNING.pollFirstMs / scale),
    pollMaxMs: Math.round(DEFAULT_TUNING.pollMaxMs / scale),
    eventPollMaxMs: Math.round(DEFAULT_TUNING.eventPollMaxMs / scale),
    followLimitMs: Math.round(DEFAULT_TUNING.followLimitMs / scale),
  };
  const env = {
    ...(events ? { ...world.env, HEROKU_WEBHOOK_SECRET: BENCH_HEROKU_SECRET } : world.env),
    BENCH_TUNING: JSON.stringify(tuning),
  };
  const server = await ServerChild.start("product", env);
  world.url = server.url;
  try {
    if (events) {
      const apps = ["whitewave-staging", "whitewave-prod"];
      for (const app of apps) await subscribeApp(world, app, server.url, BENCH_HEROKU_SECRET);
      await dynoRound(world, server, apps);
    }
    const shipped = world.shipToStaging(`Bench: a ${minutes}-minute promotion`);
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(
      () =>
        world
          .channelMessages()
          .find((m) => !!buttonValue(m, ACTIONS.approve) && messageText(m).includes(shipped.sha.slice(0, 8))),
      20_000,
    );
    await server.idle();
    await settle(world, 100);
    const events0 = world.heroku.webhooks.attempts.length;
    await world.click(APPROVER_A, message, ACTIONS.approve);
    const promotion = await world.slack.waitFor(() => world.heroku.promotions[0], 20_000);
    const postedAt = performance.now();
    const after = world.heroku.calls.findIndex((c) => c.method === "POST" && c.path === "/pipeline-promotions") + 1;
    const durationMs = (minutes * 60_000) / scale;
    await sleep(durationMs - (performance.now() - postedAt));
    world.heroku.completePromotion(promotion.id);
    const done = await world.messageMatching(message.ts, /Promoted|failed|unknown/i, 60_000 + durationMs);
    await server.idle();
    await settle(world, 100);
    const heroku = world.heroku.calls.slice(after);
    return {
      events,
      scale,
      durationMs,
      standsForMin: minutes,
      polls: heroku.filter((c) => c.method === "GET" && PROMOTION_READ.test(c.path)).length,
      heroku,
      releaseEventsDelivered: world.heroku.webhooks.attempts
        .slice(events0)
        .filter((a) => a.succeeded && a.include === "api:release").length,
      outcome: /Promoted/.test(messageText(done)) ? "promoted" : "not promoted",
    };
  } finally {
    await server.stop();
    await world.close();
  }
}

/**
 * Reads of a promotion followed by events, from the follower's schedule (at-most-once.ts followUntil /
 * waitForEvents): a read at once, then one at most every `eventPollMaxMs` while no event comes, and
 * one at once when the event of the promotion's end arrives. The pending release's event, if it
 * arrives after the first read, adds one.
 */
export function eventPollsFor(durationMs: number, tuning: Pick<Tuning, "eventPollMaxMs">): number {
  return 1 + Math.ceil(durationMs / tuning.eventPollMaxMs);
}

// ------------------------------------------------------------------ the whole of it

export interface HerokuBudgetResult {
  sizes: SizeResult[];
  idle: IdleResult[];
  follow: FollowResult[];
  computed: { withoutEvents: number; withEvents: number; eventPollMaxMs: number };
}

export interface HerokuBudgetOptions {
  sizes: number[];
  idleS: number;
  scale: number;
  step: (text: string) => void;
  /** Runs while the idle windows are open (CPU-heavy loads may; they do not change a call count). */
  alongside?: () => Promise<void>;
}

/**
 * Idle bots make no noise: their windows run in the background, alongside the list measures (the
 * no-events ones), the promotion follows and `alongside` (the Heroku webhook loads). The promotion
 * follows run before `alongside`, so the loads never compete with their compressed timings.
 */
export async function measureHerokuBudget(options: HerokuBudgetOptions): Promise<HerokuBudgetResult> {
  const { step } = options;
  const idleQuiet = options.sizes.map((n) => idleWithoutEvents(n, options.idleS));
  // Unhandled until awaited below: keep a rejection from crashing the process meanwhile.
  for (const p of idleQuiet) p.catch(() => {});
  const idleBusy: Array<Promise<IdleResult>> = [];
  const running: Array<{ world: World; server: ServerChild }> = [];
  const sizes: SizeResult[] = [];
  try {
    for (const pipelines of options.sizes) {
      const { result, world, server } = await budgetAt(pipelines, step);
      sizes.push(result);
      running.push({ world, server });
      const busy = idleWithEvents(world, server, pipelines, options.idleS);
      busy.catch(() => {});
      idleBusy.push(busy);
    }
    step(`issue 15: a 30-minute promotion, time ÷ ${options.scale}, with and without events`);
    const follow = await Promise.all([
      measurePromotionFollow(true, options.scale),
      measurePromotionFollow(false, options.scale),
    ]);
    await options.alongside?.();
    step(`issue 15: waiting for the idle windows (${options.idleS} s each)`);
    const idle = [...(await Promise.all(idleQuiet)), ...(await Promise.all(idleBusy))];
    return {
      sizes,
      idle,
      follow,
      computed: {
        withoutEvents: pollsFor(30 * 60_000, DEFAULT_TUNING).polls,
        withEvents: eventPollsFor(30 * 60_000, DEFAULT_TUNING),
        eventPollMaxMs: DEFAULT_TUNING.eventPollMaxMs,
      },
    };
  } finally {
    await Promise.allSettled([...idleQuiet, ...idleBusy]);
    for (const { world, server } of running) {
      await server.stop();
      await world.close();
    }
  }
}
