/**
 * Issue 15's Heroku targets in `npm run bench`: runs measure-heroku-budget.ts (list, App Home, a
 * promotion followed, idle) and measure-heroku-webhooks.ts (intake on SQLite and PostgreSQL), and
 * turns them into rows next to the baselines: the same code with HEROKU_WEBHOOK_SECRET unset in this
 * run, and the figures of the last run before issue 15.
 */
import { postgresDatabase, TEST_DATABASE_URL } from "../test/support/databases.js";
import { LoadGenerator, ServerChild } from "./children.js";
import {
  BENCH_HEROKU_SECRET,
  type HerokuBudgetResult,
  type IdleResult,
  type ListSeen,
  measureHerokuBudget,
  type SizeResult,
  summarizeCalls,
} from "./measure-heroku-budget.js";
import { type HerokuWebhookResult, measureHerokuWebhooks } from "./measure-heroku-webhooks.js";
import type { LoadResult, ServerStats } from "./protocol.js";
import { count, ms, type Row, verdict } from "./report.js";
import { benchWorld } from "./worlds.js";

const ISSUE = "(issue 15)";
const LIST_ANSWER_MS = 3_000;
const POLLS_WITH_EVENTS = 10;
const IDLE_PER_HOUR = 100;
const WEBHOOK_RPS = 2_000;
const WEBHOOK_P99_MS = 50;
/** The run before issue 15's changes: bench/RESULTS.md as committed in a07abed (run of 2026-11-27), item 6. */
const BEFORE = {
  commit: "a07abed",
  date: "2026-11-27",
  cold: 800,
  warm: 200,
  coldGitlab: 200,
  coldMs: 1_835,
  warmMs: 406,
};

/** Pipelines of the sizes measured (the largest is the issue's 100); BENCH_HEROKU_PIPELINES=10,100. */
const SIZES = (process.env.BENCH_HEROKU_PIPELINES || "10,100").split(",").map(Number);
/** Seconds of each idle window; BENCH_HEROKU_IDLE_S. */
const IDLE_S = Number(process.env.BENCH_HEROKU_IDLE_S) || 60;
/** Time compression of the 30-minute promotion; BENCH_HEROKU_SCALE. */
const SCALE = Number(process.env.BENCH_HEROKU_SCALE) || 60;

const answered = (l: ListSeen) => (l.fullAnswerMs === null ? "no answer" : `${count(l.fullAnswerMs)} ms`);
const fast = (l: ListSeen) => l.fullAnswerMs !== null && l.fullAnswerMs < LIST_ANSWER_MS && l.pipelinesNamed > 0;
const perPipeline = (calls: number, pipelines: number) => (calls / pipelines).toFixed(2).replace(/\.?0+$/, "");

function listFigure(l: ListSeen, pipelines: number): string {
  return `${count(l.heroku.length)} Heroku calls (${perPipeline(l.heroku.length, pipelines)} per pipeline); answered in ${answered(l)}, ${l.pipelinesNamed}/${pipelines} pipelines named; ${count(l.gitlabCalls)} GitLab calls`;
}

function sizeRows(sizes: SizeResult[]): Row[] {
  const out: Row[] = [];
  const big = sizes.at(-1);
  if (!big) return out;
  const n = big.pipelines;
  out.push(
    {
      item: "15",
      measure: `\`/promote list\`, ${n} pipelines, (a) first ever: a fresh process on an empty store, HEROKU_WEBHOOK_SECRET unset`,
      figure: listFigure(big.firstEver, n),
      target: `answered < ${LIST_ANSWER_MS / 1000} s ${ISSUE}; calls reported (nothing stored yet: the cold target is (b))`,
      verdict: verdict(fast(big.firstEver) && big.firstEver.pipelinesNamed === n),
    },
    {
      item: "15",
      measure: `… (b) cold after a restart: a new process on that store (topology and slug commits kept), no events`,
      figure: listFigure(big.coldAfterRestart, n),
      target: `≤ 1 Heroku call per pipeline, answered < ${LIST_ANSWER_MS / 1000} s ${ISSUE}`,
      verdict: verdict(big.coldAfterRestart.heroku.length <= n && fast(big.coldAfterRestart)),
    },
    {
      item: "15",
      measure: `… (c) warm while events flow (every app subscribed, a dyno event from each): two lists in a row`,
      figure: `${big.warmEvents.map((l) => count(l.heroku.length)).join(" and ")} Heroku calls; answered in ${big.warmEvents.map(answered).join(" and ")}; ${big.warmEvents.map((l) => count(l.gitlabCalls)).join(" and ")} GitLab calls`,
      target: `0 Heroku calls, answered < ${LIST_ANSWER_MS / 1000} s ${ISSUE}`,
      verdict: verdict(big.warmEvents.every((l) => l.heroku.length === 0 && fast(l))),
    },
    {
      item: "15",
      measure: "… (d) warm without events: (a)'s process again at once",
      figure: listFigure(big.warmNoEvents, n),
      target: "— (today's warm without webhooks)",
      verdict: "—",
    },
    {
      item: "15",
      measure: `… side by side, Heroku calls of a list over ${n} pipelines: before issue 15 (run of ${BEFORE.date}, commit ${BEFORE.commit}) → this run without events (HEROKU_WEBHOOK_SECRET unset) → this run with events`,
      figure: `cold ${count(BEFORE.cold)} → ${count(big.firstEver.heroku.length)} first ever, ${count(big.coldAfterRestart.heroku.length)} after a restart; warm ${count(BEFORE.warm)} → ${count(big.warmNoEvents.heroku.length)} → ${count(big.warmEvents[1].heroku.length)}`,
      target: `side by side with the baselines ${ISSUE}`,
      verdict: "—",
    },
  );
  for (const small of sizes.slice(0, -1)) {
    const m = small.pipelines;
    const growth = (pick: (s: SizeResult) => ListSeen) =>
      `${count(pick(small).heroku.length)} → ${count(pick(big).heroku.length)}`;
    out.push({
      item: "15",
      measure: `… growth of the list from ${m} to ${n} pipelines: Heroku calls (a); (b); (c); (d); answer time (a), (c)`,
      figure: `${growth((s) => s.firstEver)}; ${growth((s) => s.coldAfterRestart)}; ${growth((s) => s.warmEvents[1])}; ${growth((s) => s.warmNoEvents)}; ${answered(small.firstEver)} → ${answered(big.firstEver)}, ${answered(small.warmEvents[1])} → ${answered(big.warmEvents[1])}`,
      target: `say how each figure grows ${ISSUE}`,
      verdict: "—",
    });
  }
  const home = (h: SizeResult["homeEvents"]) =>
    `${count(h.heroku.length)} Heroku calls, published in ${h.publishedMs === null ? "— (not published)" : `${count(h.publishedMs)} ms`}`;
  out.push({
    item: "15",
    measure: `App Home opened, ${n} pipelines, warm: while events flow; without events (the same bot before its restart, secret unset)`,
    figure: `${home(big.homeEvents)}; ${home(big.homeNoEvents)}`,
    target: `0 Heroku calls warm (events flowing) ${ISSUE}`,
    verdict: verdict(big.homeEvents.heroku.length === 0 && big.homeEvents.publishedMs !== null),
  });
  for (const small of sizes.slice(0, -1)) {
    out.push({
      item: "15",
      measure: `… growth of App Home from ${small.pipelines} to ${n} pipelines: Heroku calls with events; without`,
      figure: `${small.homeEvents.heroku.length} → ${big.homeEvents.heroku.length}; ${small.homeNoEvents.heroku.length} → ${big.homeNoEvents.heroku.length}`,
      target: `say how each figure grows ${ISSUE}`,
      verdict: "—",
    });
  }
  return out;
}

function followRows(b: HerokuBudgetResult): Row[] {
  const withEvents = b.follow.find((f) => f.events);
  const without = b.follow.find((f) => !f.events);
  const out: Row[] = [];
  if (withEvents) {
    out.push({
      item: "15",
      measure: `A 30-minute promotion followed while release events arrive: Heroku status polls, measured (time ÷ ${withEvents.scale}); computed from DEFAULT_TUNING`,
      figure: `${withEvents.polls} measured (${withEvents.releaseEventsDelivered} release events delivered; ${withEvents.outcome}); ${b.computed.withEvents} computed (+1 if the pending release's event comes after the first read)`,
      target: `≤ ${POLLS_WITH_EVENTS} ${ISSUE}`,
      verdict: verdict(
        withEvents.polls <= POLLS_WITH_EVENTS &&
          b.computed.withEvents + 1 <= POLLS_WITH_EVENTS &&
          withEvents.outcome === "promoted",
      ),
    });
  }
  if (without) {
    out.push({
      item: "15",
      measure: `… the same promotion without events (HEROKU_WEBHOOK_SECRET unset: the backoff of before): measured (time ÷ ${without.scale}); computed (item 5)`,
      figure: `${without.polls} measured (${without.outcome}); ${b.computed.withoutEvents} computed`,
      target: "— (the baseline; issue 6's ≤ 40 is item 5's row)",
      verdict: "—",
    });
  }
  return out;
}

function idleRows(idle: IdleResult[]): Row[] {
  const out: Row[] = [];
  const sizes = [...new Set(idle.map((i) => i.pipelines))].sort((a, b) => a - b);
  const n = sizes.at(-1);
  for (const events of [false, true]) {
    const big = idle.find((i) => i.pipelines === n && i.events === events);
    if (!big) continue;
    out.push({
      item: "15",
      measure: `Idle, ${n} pipelines, ${events ? "events flowing (two rounds of a dyno event from every app and a deploy to a tenth of the staging apps)" : "no events (no webhook secret, never a command)"}: Heroku calls in a ${big.windowS.toFixed(0)} s window (${big.sweeps} sweeps at the default 10 s), per hour`,
      figure: `${big.heroku.length} in ${big.windowS.toFixed(0)} s${big.heroku.length > 0 ? ` (${summarizeCalls(big.heroku)})` : ""} → ${count(big.perHour)} an hour${events ? `; ${count(big.eventsDelivered)} events delivered` : `; ${big.startupHeroku.length} at start-up`}`,
      target: `≤ ${IDLE_PER_HOUR} an hour ${ISSUE}`,
      verdict: verdict(big.perHour <= IDLE_PER_HOUR),
    });
  }
  for (const m of sizes.slice(0, -1)) {
    const pick = (size: number | undefined, events: boolean) =>
      idle.find((i) => i.pipelines === size && i.events === events);
    const figure = [false, true]
      .map(
        (events) =>
          `${events ? "events" : "no events"} ${count(pick(m, events)?.perHour ?? 0)} → ${count(pick(n, events)?.perHour ?? 0)}`,
      )
      .join("; ");
    out.push({
      item: "15",
      measure: `… growth of idle from ${m} to ${n} pipelines: Heroku calls an hour`,
      figure,
      target: `say how each figure grows ${ISSUE}`,
      verdict: "—",
    });
  }
  return out;
}

const NAMES = { sqlite: "SQLite", postgres: "PostgreSQL" } as const;

function webhookRows(results: HerokuWebhookResult[]): Row[] {
  const out: Row[] = [];
  for (const r of results) {
    const sqlite = r.backend === "sqlite";
    const c = r.check;
    out.push(
      {
        item: "15",
        measure: `Heroku webhook intake, ${NAMES[r.backend]}, c=50 (signed release events, one in ten a new attempt of an earlier event): throughput; p50 / p99`,
        figure: `${count(r.load.rps)} deliveries/s; ${ms(r.load.p50)} / ${ms(r.load.p99)} ms (${count(r.load.requests)} sent); ${r.herokuCallsDuringLoad.length} Heroku calls while processing`,
        target: sqlite
          ? `≥ ${count(WEBHOOK_RPS)}/s and p99 < ${WEBHOOK_P99_MS} ms ${ISSUE}`
          : "— (as for GitLab's: no target for PostgreSQL)",
        verdict: sqlite
          ? verdict(r.load.rps >= WEBHOOK_RPS && r.load.p99 < WEBHOOK_P99_MS && r.load.non2xx === 0)
          : "—",
      },
      {
        item: "15",
        measure: `… ${NAMES[r.backend]}: every distinct event recorded once and processed (deliveries 'done'), none lost (checked after the run)`,
        figure: `${count(c.rows)} rows for ${count(c.distinctKeysAcked)} distinct event ids; ${c.lost} lost, ${c.processedTwice} processed twice, ${c.notDone} not done; ${count(c.duplicateAnswers)} of ${count(c.duplicatesSent)} new attempts answered "duplicate"; all processed ${ms(c.drainMs)} ms after the load`,
        target: "no event lost or processed twice",
        verdict: verdict(c.ok),
      },
    );
  }
  if (!results.some((r) => r.backend === "postgres")) {
    out.push({
      item: "15",
      measure: "Heroku webhook intake, PostgreSQL",
      figure: "not measured: TEST_DATABASE_URL is not set",
      target: "—",
      verdict: "not measured",
    });
  }
  return out;
}

function loadNote(r: LoadResult): string {
  const codes = Object.entries(r.statusCodes)
    .map(([code, n]) => `${code}: ${count(n)}`)
    .join(", ");
  return `${count(r.requests)} requests in ${r.elapsedS.toFixed(1)} s (${codes || "no answers"}), mean ${ms(r.mean)} ms, ${r.errors} connection errors, ${r.timeouts} timeouts`;
}

function statsNote(s: ServerStats, elapsedS: number): string {
  const cpu = (s.cpuUserMs + s.cpuSystemMs) / 1000 / elapsedS;
  return `product process ${Math.round(cpu * 100)}% of a CPU, event-loop delay p99 ${ms(s.loopDelayP99Ms)} / max ${ms(s.loopDelayMaxMs)} ms, RSS ${Math.round(s.rssBytes / 1024 ** 2)} MB`;
}

function notes(b: HerokuBudgetResult, webhooks: HerokuWebhookResult[]): string[] {
  const out: string[] = [];
  const big = b.sizes.at(-1);
  out.push(
    `Issue 15, list and App Home (bench/measure-heroku-budget.ts): item 6's world (whitewave and svc-001…, each staging one commit ahead, CI passed; sizes ${b.sizes.map((s) => s.pipelines).join(" and ")}), 50 ms on every external call, Heroku calls counted from the stand-in's record. (a) and (d): a fresh process on a fresh SQLite store with HEROKU_WEBHOOK_SECRET unset (today's code as it runs without webhooks: the baseline in this run), the list twice (measure-list.ts), then App Home opened by an approver (\`app_home_opened\`, signed, over HTTP). (b): that process stopped, a new one on the same store with HEROKU_WEBHOOK_SECRET set, the list. (c): every configured app then subscribed to the bot's /heroku/webhook through the stand-in's API (include api:release and dyno, level sync, the secret), a dyno event delivered from each, the list twice, App Home again. The side-by-side "before" figures are item 6 of bench/RESULTS.md as committed in ${BEFORE.commit} (run of ${BEFORE.date}: ${BEFORE.cold} Heroku + ${BEFORE.coldGitlab} GitLab calls cold in ${count(BEFORE.coldMs)} ms, ${BEFORE.warm} warm in ${BEFORE.warmMs} ms), not rerun.`,
  );
  if (big) {
    out.push(
      `Issue 15, calls of the lists over ${big.pipelines} pipelines: (a) ${summarizeCalls(big.firstEver.heroku)}; (d) ${summarizeCalls(big.warmNoEvents.heroku)}; (b) ${summarizeCalls(big.coldAfterRestart.heroku)}; (c) ${summarizeCalls(big.warmEvents[0].heroku)} then ${summarizeCalls(big.warmEvents[1].heroku)}. App Home without events: ${summarizeCalls(big.homeNoEvents.heroku)}; with events: ${summarizeCalls(big.homeEvents.heroku)}. Subscribing and the first dyno round made the bot call Heroku: ${summarizeCalls(big.eventsSetUpCalls)}.`,
    );
  }
  const followWith = b.follow.find((f) => f.events);
  const followWithout = b.follow.find((f) => !f.events);
  out.push(
    `Issue 15, a promotion followed: a real request (\`/promote whitewave\`, approved by a click) on its own world and bot, time compressed ÷ ${followWith?.scale ?? "?"}: the follower's pollFirstMs, pollMaxMs, eventPollMaxMs and followLimitMs from DEFAULT_TUNING divided by it (BENCH_TUNING), every stand-in's latency 50 ms ÷ ${followWith?.scale ?? "?"} (at least 1 ms), and the stand-in settling the promotion ${((followWith?.durationMs ?? 0) / 1000).toFixed(0)} s after the POST (completePromotion; no number of polls settles it), standing for 30 minutes. Polls are the GET /pipeline-promotions/:id(/promotion-targets) after the POST. With events: HEROKU_WEBHOOK_SECRET set, both apps subscribed, a dyno event from each before; all Heroku calls after the POST: ${followWith ? summarizeCalls(followWith.heroku) : "—"}. Without: HEROKU_WEBHOOK_SECRET unset; ${followWithout ? summarizeCalls(followWithout.heroku) : "—"}. Both run at once, before any load. Computed: without events item 5's schedule (${b.computed.withoutEvents} reads); with events a read at once, one every eventPollMaxMs (${b.computed.eventPollMaxMs / 60_000} min) while nothing happens and one when the event of the end arrives: 1 + ⌈30 / ${b.computed.eventPollMaxMs / 60_000}⌉ = ${b.computed.withEvents}.`,
    `Issue 15, idle: for each size, a fresh bot (HEROKU_WEBHOOK_SECRET unset) started, then left alone for the window, no command and no event (its start-up calls are counted apart); and the bot of the list measures, events flowing, left without commands for the window while two rounds of events arrive 2 s and 10 s into it (every app's dyno state; a deploy to every tenth staging app, which releases and moves staging). Sweeps at the default 10 s interval (DEFAULT_TUNING). The windows run at the same time as each other, the promotion follows and the webhook loads: a count of calls does not depend on CPU. Per hour = calls × 3,600 / window; anything on a slower schedule than the window is not seen (the sweep steps read only the store).${
      b.idle.some((i) => i.heroku.length > 0)
        ? ` Calls seen: ${b.idle
            .filter((i) => i.heroku.length > 0)
            .map((i) => `${i.pipelines} pipelines ${i.events ? "with" : "without"} events: ${summarizeCalls(i.heroku)}`)
            .join("; ")}.`
        : ""
    }`,
  );
  for (const w of webhooks) {
    out.push(
      `Issue 15, Heroku webhook intake on ${w.backend} (bench/measure-heroku-webhooks.ts): a bot with HEROKU_WEBHOOK_SECRET on a fresh store; an app in no configured pipeline subscribed and deployed once (its first event processed for real: Heroku calls ${summarizeCalls(w.herokuCallsFirstEvent)}); that delivery's body is the template: each request a new event id, a new attempt id, signed when sent; every 10th a new attempt of an event sent 5 requests earlier (new body, new signature). The events all carry that one release, which the view already holds: processing upserts it and stops (nothing moved). 1 s warm-up, then a fixed number sized from it. ${loadNote(w.load)}; ${statsNote(w.stats, w.load.elapsedS)}. Heroku calls during warm-up and load: ${summarizeCalls(w.herokuCallsDuringLoad)}. The idle bots' windows were open meanwhile (an idle bot sleeps; the event rounds of the busy ones come 2 s and 10 s into their windows, while the promotion follows run).`,
    );
  }
  return out;
}

async function webhookLoads(gen: LoadGenerator, step: (text: string) => void): Promise<HerokuWebhookResult[]> {
  const results: HerokuWebhookResult[] = [];
  const world = await benchWorld();
  world.env.HEROKU_WEBHOOK_SECRET = BENCH_HEROKU_SECRET;
  try {
    step("issue 15: Heroku webhook intake on SQLite");
    const onSqlite = await ServerChild.start("product", world.env);
    try {
      results.push(
        await measureHerokuWebhooks({
          world,
          gen,
          server: onSqlite,
          database: world.db.config,
          backend: "sqlite",
          secret: BENCH_HEROKU_SECRET,
          connections: 50,
          targetS: 6,
          warmupS: 1,
        }),
      );
    } finally {
      await onSqlite.stop();
    }
    if (TEST_DATABASE_URL) {
      step("issue 15: Heroku webhook intake on PostgreSQL");
      const db = await postgresDatabase();
      const onPostgres = await ServerChild.start("product", { ...world.env, DATABASE_URL: db.url });
      try {
        results.push(
          await measureHerokuWebhooks({
            world,
            gen,
            server: onPostgres,
            database: db.config,
            backend: "postgres",
            secret: BENCH_HEROKU_SECRET,
            connections: 50,
            targetS: 6,
            warmupS: 1,
          }),
        );
      } finally {
        await onPostgres.stop();
        await db.drop();
      }
    }
  } finally {
    await world.close();
  }
  return results;
}

/** Every issue 15 Heroku measure, as rows and notes for bench/RESULTS.md. */
export async function herokuTargets(step: (text: string) => void): Promise<{ rows: Row[]; notes: string[] }> {
  if (SIZES.some((n) => !Number.isInteger(n) || n < 2)) {
    throw new Error(`BENCH_HEROKU_PIPELINES=${process.env.BENCH_HEROKU_PIPELINES}: expected sizes such as 10,100`);
  }
  const gen = new LoadGenerator();
  let webhooks: HerokuWebhookResult[] = [];
  try {
    const budget = await measureHerokuBudget({
      sizes: [...SIZES].sort((a, b) => a - b),
      idleS: IDLE_S,
      scale: SCALE,
      step,
      alongside: async () => {
        webhooks = await webhookLoads(gen, step);
      },
    });
    return {
      rows: [...sizeRows(budget.sizes), ...followRows(budget), ...idleRows(budget.idle), ...webhookRows(webhooks)],
      notes: notes(budget, webhooks),
    };
  } finally {
    await gen.close();
  }
}
