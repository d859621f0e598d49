/**
 * `npm run bench`: measures the real bot (startBot from src/server.ts) on loopback against the test
 * stand-ins with 50 ms of latency on every Slack, Heroku and GitLab call, and its baselines, in one
 * run; prints one table and writes it to bench/RESULTS.md (issue 6).
 *
 * Processes: this one holds the stand-ins and drives the flows; the server under test (the product,
 * a bare Bolt app, a bare node:http server) runs in a child of its own, and autocannon in another, so
 * that neither shares an event loop with the other or with the stand-ins. One load runs at a time.
 *
 * Then issue 15's scale measures (measure-scale.ts): `/promote history` and a sweep pass on stores
 * of 100 and 1,000 pipelines' history, on SQLite and PostgreSQL, in this process; and issue 15's
 * Heroku budget and webhook intake (measure-heroku-targets.ts).
 */
import { join } from "node:path";
import { KyselyStore } from "../src/adapters/store/kysely-store.js";
import { ACTIONS } from "../src/views/action-ids.js";
import { postgresDatabase, sqliteDatabase, TEST_DATABASE_URL } from "../test/support/databases.js";
import { APPROVER_A, BYSTANDER, buttonValue, CHANNEL, REQUESTER, SIGNING_SECRET } from "../test/support/harness.js";
import { LoadGenerator, ServerChild } from "./children.js";
import { type AckRow, measureAcks } from "./measure-acks.js";
import { type CostResult, measureCost } from "./measure-cost.js";
import { herokuTargets } from "./measure-heroku-targets.js";
import { type ListResult, measureList } from "./measure-list.js";
import { measureProcess, type ProcessResult } from "./measure-process.js";
import { measureScale, type ScaleRun } from "./measure-scale.js";
import { measureWebhooks, type WebhookResult } from "./measure-webhooks.js";
import type { LoadResult, ServerStats } from "./protocol.js";
import { count, load, ms, type Row, ratio, table, verdict, writeResults } from "./report.js";
import {
  BENCH_LOG_LEVEL,
  benchWorld,
  clickTemplate,
  EXTERNAL_LATENCY_MS,
  manyPipelinesWorld,
  responseUrlPool,
  slashTemplate,
  unconfiguredBranchEvent,
} from "./worlds.js";

/** Seconds per measured Slack load; BENCH_DURATION_S shortens it for a quick try of the bench itself. */
const DURATION_S = Number(process.env.BENCH_DURATION_S) || 5;
const WARMUP_S = 1;
const CONCURRENCIES = [20, 50];
const WEBHOOK_TARGET_S = Math.max(2, DURATION_S + 1);
const MEMORY_DELIVERIES = 10_000;
const LIST_PIPELINES = 100;
const POOL_SIZE = 15_000;
const RESULTS = join(import.meta.dirname, "..", "..", "bench", "RESULTS.md");

const ACK_P99_MS = 100;
const BOLT_RATIO = 1.5;
const WEBHOOK_RPS = 2_000;
const WEBHOOK_P99_MS = 50;
const STARTUP_MS = 1_500;
const RSS_MB = 150;
const HEROKU_CALLS = 6;
const POLLS_30MIN = 40;
const LIST_ANSWER_MS = 3_000;
const BENCH_WALL_S = 180;

/**
 * BENCH_ONLY=scale or BENCH_ONLY=heroku runs those measures alone (quick iteration); BENCH_SCALE=0
 * and BENCH_HEROKU=0 leave them out.
 */
const ONLY = process.env.BENCH_ONLY || undefined;
const SCALE = ONLY === "scale" || (ONLY === undefined && process.env.BENCH_SCALE !== "0");
const HEROKU = ONLY === "heroku" || (ONLY === undefined && process.env.BENCH_HEROKU !== "0");
/**
 * Pipelines in each scale store, about 1,000 audit rows each: 100 and 1,000 by default (about 2 to 3
 * minutes for both databases); BENCH_SCALE_PIPELINES=100,1000,3000 adds a larger store.
 */
const SCALE_PIPELINES = (process.env.BENCH_SCALE_PIPELINES || "100,1000").split(",").map(Number);
const SCALE_AUDIT_PER_PIPELINE = 1_000;
/** Issue 15's size (1,000 pipelines, 1,000,000 audit rows) and its targets. */
const SCALE_TARGET_PIPELINES = 1_000;
const HISTORY_P99_MS = 200;
const SWEEP_MS = 1_000;

function step(text: string): void {
  process.stderr.write(`[bench ${process.uptime().toFixed(1)} s] ${text}\n`);
}

function loadFigure(r: LoadResult): string {
  const failures = r.non2xx + r.errors;
  return `${ms(r.p50)} / ${ms(r.p99)} / ${ms(r.max)} ms; ${count(r.rps)} req/s${failures > 0 ? ` (${failures} failed)` : ""}`;
}

function ackRows(rows: AckRow[]): Row[] {
  const out: Row[] = [];
  const label = { help: "Signed `/promote help`", click: "Signed Approve click, denied (bystander)" };
  for (const row of rows) {
    const at50 = row.connections === 50;
    const failed = row.product.non2xx + row.product.errors > 0;
    out.push({
      item: "1",
      measure: `${label[row.kind]}, c=${row.connections}: ack p50 / p99 / max; throughput`,
      figure: loadFigure(row.product),
      target: at50 ? `p99 < ${ACK_P99_MS} ms at c=50` : "—",
      verdict: at50 ? verdict(row.product.p99 < ACK_P99_MS && !failed) : "—",
    });
    const p99Ratio = row.product.p99 / Math.max(row.bolt.p99, 0.001);
    out.push({
      item: "3",
      measure: `… same load, product / bare Bolt: p99; req/s`,
      figure: `${ratio(row.product.p99, row.bolt.p99)} (${ms(row.product.p99)} / ${ms(row.bolt.p99)} ms); ${ratio(row.product.rps, row.bolt.rps)} (${count(row.product.rps)} / ${count(row.bolt.rps)})`,
      target: `p99 within ${BOLT_RATIO}x of bare Bolt`,
      verdict: verdict(p99Ratio <= BOLT_RATIO),
    });
    out.push({
      item: "3",
      measure: `… same load, product / bare node:http: p99; req/s`,
      figure: `${ratio(row.product.p99, row.http.p99)} (${ms(row.product.p99)} / ${ms(row.http.p99)} ms); ${ratio(row.product.rps, row.http.rps)} (${count(row.product.rps)} / ${count(row.http.rps)})`,
      target: "—",
      verdict: "—",
    });
  }
  return out;
}

function webhookRows(results: WebhookResult[]): Row[] {
  const out: Row[] = [];
  for (const { backend, load, check } of results) {
    const sqlite = backend === "sqlite";
    const name = sqlite ? "SQLite" : "PostgreSQL";
    out.push({
      item: "2",
      measure: `GitLab webhook ingestion, ${name}, c=50: throughput; p50 / p99`,
      figure: `${count(load.rps)} deliveries/s; ${ms(load.p50)} / ${ms(load.p99)} ms (${count(load.requests)} sent)`,
      target: sqlite ? `≥ ${count(WEBHOOK_RPS)}/s and p99 < ${WEBHOOK_P99_MS} ms` : "— (no target for PostgreSQL)",
      verdict: sqlite ? verdict(load.rps >= WEBHOOK_RPS && load.p99 < WEBHOOK_P99_MS && load.non2xx === 0) : "—",
    });
    out.push({
      item: "2",
      measure: `… ${name}: recorded once, processed once, none lost (checked after the run)`,
      figure: `${count(check.rows)} rows for ${count(check.distinctKeysAcked)} distinct keys; ${check.lost} lost, ${check.processedTwice} processed twice, ${check.notDone} not done; ${count(check.duplicateAnswers)} of ${count(check.duplicatesSent)} redeliveries answered "duplicate"; all processed ${ms(check.drainMs)} ms after the load`,
      target: "no event lost or processed twice",
      verdict: verdict(check.ok),
    });
  }
  if (!results.some((r) => r.backend === "postgres")) {
    out.push({
      item: "2",
      measure: "GitLab webhook ingestion, PostgreSQL",
      figure: "not measured: TEST_DATABASE_URL is not set",
      target: "—",
      verdict: "not measured",
    });
  }
  return out;
}

function processRows(inProcessStartupMs: number, p: ProcessResult): Row[] {
  return [
    {
      item: "4",
      measure: "Start-up: startBot called → first healthy /healthz (fresh SQLite, migrations included)",
      figure: `${ms(inProcessStartupMs)} ms`,
      target: `< ${STARTUP_MS / 1000} s`,
      verdict: verdict(inProcessStartupMs < STARTUP_MS),
    },
    {
      item: "4",
      measure: "Start-up: `node main.js` spawned → first healthy /healthz (module loading included)",
      figure: `${ms(p.startupMs)} ms`,
      target: `< ${STARTUP_MS / 1000} s`,
      verdict: verdict(p.startupMs < STARTUP_MS),
    },
    {
      item: "4",
      measure: `Resident memory of that process after ${count(p.deliveries)} webhook deliveries (ps rss)`,
      figure: `${p.rssAfterMb.toFixed(0)} MB (${p.rssAtStartMb.toFixed(0)} MB after start-up; ${count(p.load.rps)} deliveries/s, ${p.unprocessed} unprocessed)`,
      target: `< ${RSS_MB} MB`,
      verdict: verdict(p.rssAfterMb < RSS_MB && p.unprocessed === 0 && p.load.non2xx === 0),
    },
  ];
}

function costRows(c: CostResult): Row[] {
  const promotion = (f: CostResult["cold"]) => f.request.heroku + f.approveAndPromote.heroku;
  const worst = Math.max(promotion(c.cold), promotion(c.warm));
  return [
    {
      item: "5",
      measure: "Staging-ready message: Heroku / GitLab calls (cold process; warm)",
      figure: `${c.cold.stagingReady.heroku} / ${c.cold.stagingReady.gitlab}; ${c.warm.stagingReady.heroku} / ${c.warm.stagingReady.gitlab}`,
      target: "—",
      verdict: "—",
    },
    {
      item: "5",
      measure:
        "Promotion (request from the Promote button + approval + execution): Heroku calls besides polls and the drift check (cold; warm)",
      figure: `${promotion(c.cold)} (${c.cold.request.heroku} + ${c.cold.approveAndPromote.heroku}); ${promotion(c.warm)} (${c.warm.request.heroku} + ${c.warm.approveAndPromote.heroku})`,
      target: `≤ ${HEROKU_CALLS}`,
      verdict: verdict(worst <= HEROKU_CALLS),
    },
    {
      item: "5",
      measure: "… the drift check's Heroku calls (issue 16: at the request, and before acting; 4 per app)",
      figure: `${c.cold.request.herokuDrift} + ${c.cold.approveAndPromote.herokuDrift}; ${c.warm.request.herokuDrift} + ${c.warm.approveAndPromote.herokuDrift}`,
      target: "—",
      verdict: "—",
    },
    {
      item: "5",
      measure: "Promotion: GitLab calls (cold; warm)",
      figure: `${c.cold.request.gitlab + c.cold.approveAndPromote.gitlab}; ${c.warm.request.gitlab + c.warm.approveAndPromote.gitlab}`,
      target: "—",
      verdict: "—",
    },
    {
      item: "5",
      measure: "Status polls of a promotion that takes 30 minutes (DEFAULT_TUNING backoff, computed)",
      figure: `${c.pollsFor30Min} (${c.pollSchedule})`,
      target: `≤ ${POLLS_30MIN}`,
      verdict: verdict(c.pollsFor30Min <= POLLS_30MIN),
    },
  ];
}

function listRows(l: ListResult): Row[] {
  if (!l.available) {
    if (l.kind === "unavailable") {
      return [
        {
          item: "6",
          measure: `\`/promote list\` with ${LIST_PIPELINES} pipelines, 50 ms per external call`,
          figure: "not measured: /promote list not available",
          target: `acked at once; full answer < ${LIST_ANSWER_MS / 1000} s`,
          verdict: "not measured",
        },
      ];
    }
    return [
      {
        item: "6",
        measure: `\`/promote list\` with ${LIST_PIPELINES} pipelines, 50 ms per external call`,
        figure: `no list: ${l.reason}`,
        target: `acked at once; full answer < ${LIST_ANSWER_MS / 1000} s`,
        verdict: "missed",
      },
    ];
  }
  const full = (c: typeof l.cold) => (c.fullAnswerMs === null ? "none" : `${count(c.fullAnswerMs)} ms`);
  return [
    {
      item: "6",
      measure: `\`/promote list\` with ${l.pipelines} pipelines: ack (cold; warm)`,
      figure: `${ms(l.cold.ackMs)} ms; ${ms(l.warm.ackMs)} ms`,
      target: `acked at once (< ${ACK_P99_MS} ms)`,
      verdict: verdict(l.cold.ackMs < ACK_P99_MS && l.warm.ackMs < ACK_P99_MS && l.cold.ackStatus === 200),
    },
    {
      item: "6",
      measure: "… full answer through the response_url (cold; warm)",
      figure: `${full(l.cold)} (${l.cold.answers} message(s), ${l.cold.pipelinesNamed}/${l.pipelines} pipelines named, ${l.cold.herokuCalls} Heroku + ${l.cold.gitlabCalls} GitLab calls); ${full(l.warm)} (${l.warm.herokuCalls} + ${l.warm.gitlabCalls} calls)`,
      target: `< ${LIST_ANSWER_MS / 1000} s, every pipeline listed`,
      verdict: verdict(
        l.cold.fullAnswerMs !== null &&
          l.cold.fullAnswerMs < LIST_ANSWER_MS &&
          l.warm.fullAnswerMs !== null &&
          l.warm.fullAnswerMs < LIST_ANSWER_MS &&
          l.cold.pipelinesNamed === l.pipelines,
      ),
    },
  ];
}

const BACKEND_NAMES = { sqlite: "SQLite", postgres: "PostgreSQL" } as const;

function scaleRows(runs: ScaleRun[]): Row[] {
  const out: Row[] = [];
  for (const backend of ["sqlite", "postgres"] as const) {
    const name = BACKEND_NAMES[backend];
    const mine = runs.filter((r) => r.backend === backend).sort((a, b) => a.size.pipelines - b.size.pipelines);
    if (mine.length === 0) {
      out.push({
        item: "15",
        measure: `\`/promote history\` and one sweep pass at scale, ${name}`,
        figure: backend === "postgres" ? "not measured: TEST_DATABASE_URL is not set" : "not measured",
        target: `history p99 < ${HISTORY_P99_MS} ms; a sweep pass < ${SWEEP_MS / 1000} s (issue 15)`,
        verdict: "not measured",
      });
      continue;
    }
    for (const run of mine) {
      const atTarget = run.size.pipelines >= SCALE_TARGET_PIPELINES;
      // A measure that called out or logged a warning did not measure the store at rest.
      const clean = run.externalCalls === 0 && run.problemsLogged === 0;
      const h = run.history;
      out.push({
        item: "15",
        measure: `\`/promote history <pipeline>\`, ${name}, ${count(run.size.pipelines)} pipelines (${count(run.rows.audit)} audit rows, ${count(run.rows.requests)} requests): p50 / p99 / max (10 requests, the default); p99 with 50`,
        figure: `${ms(h.p50)} / ${ms(h.p99)} / ${ms(h.max)} ms; ${ms(run.history50.p99)} ms (${count(h.calls)} + ${count(run.history50.calls)} calls)`,
        target: atTarget ? `p99 < ${HISTORY_P99_MS} ms (issue 15)` : "—",
        verdict: atTarget ? verdict(h.p99 < HISTORY_P99_MS && run.history50.p99 < HISTORY_P99_MS && clean) : "—",
      });
      out.push({
        item: "15",
        measure: `… one sweep pass (Worker.sweep) on that store: median / max of ${run.sweep.passes}`,
        figure: `${ms(run.sweep.medianMs)} / ${ms(run.sweep.maxMs)} ms`,
        target: atTarget ? `< ${SWEEP_MS / 1000} s (issue 15)` : "—",
        verdict: atTarget ? verdict(run.sweep.maxMs < SWEEP_MS && clean) : "—",
      });
    }
    const small = mine[0] as ScaleRun;
    for (const large of mine.slice(1)) {
      out.push({
        item: "15",
        measure: `… growth on ${name} from ${count(small.size.pipelines)} to ${count(large.size.pipelines)} pipelines (${ratio(large.rows.audit, small.rows.audit)} the audit rows): history p50, p99; p99 with 50; sweep median`,
        figure: `${ratio(large.history.p50, small.history.p50)}, ${ratio(large.history.p99, small.history.p99)}; ${ratio(large.history50.p99, small.history50.p99)}; ${ratio(large.sweep.medianMs, small.sweep.medianMs)} (${ms(small.sweep.medianMs)} → ${ms(large.sweep.medianMs)} ms)`,
        target: "say how each figure grows (issue 15)",
        verdict: "—",
      });
    }
  }
  return out;
}

function scaleNotes(runs: ScaleRun[]): string[] {
  return [
    "Scale stores (issue 15, bench/measure-scale.ts): for each database and size, a fresh database (a schema of its own on PostgreSQL) brought up to date by the product's migrations, then filled through the store's Kysely handle with multi-row INSERTs (at most 30,000 parameters each) on one connection, committed every 250,000 rows. Each pipeline has about 1,000 audit rows (half to one and a half times that) over two years, in time order across pipelines: requests in every state (72% succeeded, 12% expired, 8% cancelled, 4% failed, 3% rejected, 1% dry run; 3% rollbacks, a tenth of the pipelines playing a GitLab job), with their 1 or 2 approvals, a denied click on one in five, the staging candidate each promotes (and a superseded one for three in ten) with its staging_ready audit row, and three processed GitLab deliveries per candidate (one in a thousand failed for good, its body kept). The newest request is active in about 3% of the pipelines (pending), 0.5% (promoting, under another process's lease) and 0.5% (unknown); every message is posted and settled. PostgreSQL gets a VACUUM ANALYZE after the build, as its autovacuum would do; SQLite gets no ANALYZE, as the product never runs one.",
    "Scale measures, in the bench process on that store (no server): `/promote history <pipeline> [N]` as its listener runs it after the ack (PromoteBot.history, i.e. pipelineHistory: recentRequests and auditFor for each request, then the historyMessage view), over random pipelines after 20 warm-up calls; and one sweep pass as the worker's interval starts it (Worker.sweep, awaited with Worker.idle). The store is at rest, as between events: nothing is due, so a pass costs its queries alone. Heroku, GitLab and Slack are ports that refuse and count calls.",
    ...runs.map((run) => {
      const steps = run.sweep.steps
        .slice(0, 3)
        .map((s) => `${s.method} ${ms(s.meanMs)} ms`)
        .join(", ");
      return `Scale, ${BACKEND_NAMES[run.backend]}, ${count(run.size.pipelines)} pipelines: ${count(run.rows.requests)} requests (${run.active.pending} pending, ${run.active.promoting} promoting, ${run.active.unknown} unknown), ${count(run.rows.approvals)} approvals, ${count(run.rows.audit)} audit rows, ${count(run.rows.candidates)} candidates, ${count(run.rows.deliveries)} deliveries; built in ${run.buildS.toFixed(1)} s${run.backend === "postgres" ? ` (then VACUUM ANALYZE ${run.analyzeS.toFixed(1)} s)` : ""}, ${count(run.databaseMb)} MB. A sweep pass's slowest store calls (mean per pass): ${steps}. ${run.externalCalls} external calls, ${run.problemsLogged} warnings or errors logged.`;
    }),
  ];
}

function costNotes(c: CostResult): string[] {
  const list = (calls: string[]) => (calls.length > 0 ? calls.join(", ") : "none");
  return [
    `Calls of the cold staging-ready message: Heroku ${list(c.cold.stagingReady.herokuCalls)}; GitLab ${list(c.cold.stagingReady.gitlabCalls)}; Slack ${c.cold.stagingReady.slack} calls.`,
    `Calls of the cold request (Promote click): Heroku ${list(c.cold.request.herokuCalls)}; GitLab ${list(c.cold.request.gitlabCalls)}.`,
    `Calls of the cold approval and execution: Heroku ${list(c.cold.approveAndPromote.herokuCalls)} plus ${c.cold.approveAndPromote.herokuPolls} status poll(s) (the stand-in settles a promotion on its second poll); GitLab ${list(c.cold.approveAndPromote.gitlabCalls)}. The GET /apps/:id/releases before the POST is the hotfix fence (issue 13: production must not have changed since the request), added after issue 6 set "≤ 6"; it is what makes 7.`,
    `Warm flow, Heroku: staging-ready ${list(c.warm.stagingReady.herokuCalls)}; request ${list(c.warm.request.herokuCalls)}; approval and execution ${list(c.warm.approveAndPromote.herokuCalls)}.`,
    "Polls for 30 minutes are computed with execute-promotion.ts's schedule (read at once, then after each delay; delay × pollFactor, rounded, capped at pollMaxMs) from DEFAULT_TUNING; the 50 ms each read takes is not counted, which can only lower the figure slightly.",
  ];
}

function statsNote(name: string, s: ServerStats, elapsedS: number): string {
  const cpu = (s.cpuUserMs + s.cpuSystemMs) / 1000 / elapsedS;
  return `${name} process: ${Math.round(cpu * 100)}% of a CPU, event-loop delay p99 ${ms(s.loopDelayP99Ms)} / max ${ms(s.loopDelayMaxMs)} ms, ${s.gcCount} GC pauses (${ms(s.gcTotalMs)} ms in all, longest ${ms(s.gcMaxMs)} ms), RSS ${Math.round(s.rssBytes / 1024 ** 2)} MB.`;
}

function loadNote(name: string, r: LoadResult): string {
  const codes = Object.entries(r.statusCodes)
    .map(([code, n]) => `${code}: ${count(n)}`)
    .join(", ");
  return `${name}: ${count(r.requests)} requests in ${r.elapsedS.toFixed(1)} s (${codes || "no answers"}), mean ${ms(r.mean)} ms, ${r.errors} connection errors, ${r.timeouts} timeouts.`;
}

/** Items 1 to 6 (issue 6) and the wall time they take, which issue 6's target is about. */
async function productMeasures(rows: Row[], notes: string[]): Promise<number> {
  const started = process.uptime();
  const gen = new LoadGenerator();
  notes.push(
    `Every Slack, Heroku and GitLab stand-in call has ${EXTERNAL_LATENCY_MS} ms of injected latency. The product is startBot (src/server.ts) with DEFAULT_TUNING, configured from the environment by loadConfig, LOG_LEVEL=${BENCH_LOG_LEVEL} (production's default) into a null sink, on a fresh SQLite database unless said otherwise.`,
    "Processes: the stand-ins and the flows in the bench process; the server under test (product, bare Bolt, bare node:http) in a child of its own; autocannon (as a library) in another child; one load at a time. Both baselines run in the same conditions as the product; the stand-ins answering the product's background calls share the 2 CPUs, which the baselines never make.",
    `Slack loads: ${DURATION_S} s per measured run after a ${WARMUP_S} s warm-up per server; every request is signed when sent (fresh timestamp) and carries its own response_url, as Slack's do, so the product's background answers succeed as in production. Approve clicks are a bystander's on a real pending request (created through /promote), denied and audited.`,
    "Webhook loads: pipeline events of the configured GitLab project on a branch no pipeline is configured for (verified, validated, recorded, deduplicated and processed to 'ignored', with no Heroku or Slack work), each with its own Idempotency-Key, X-Gitlab-Event-UUID and pipeline id; every 10th request is a redelivery (same key and body) of an earlier one. The measured run sends a fixed number, sized from a 1 s warm-up, so every request is answered before the store is checked.",
  );
  const world = await benchWorld();
  let product: ServerChild | undefined;
  try {
    step("starting the product (startBot) on SQLite");
    product = await ServerChild.start("product", world.env);
    world.url = product.url;
    const inProcessStartupMs = product.startupMs;

    step("item 5: cost of the staging-ready and promotion flows");
    const cost = await measureCost(world, product);

    step("items 1 and 3: Slack acknowledgements against the product and the baselines");
    const pending = cost.pendingMessage;
    const approveValue = buttonValue(pending, ACTIONS.approve) as string;
    gen.pool("help", responseUrlPool(world.slack, POOL_SIZE, { channel: CHANNEL, user: REQUESTER }));
    gen.pool(
      "click",
      responseUrlPool(world.slack, POOL_SIZE, { channel: pending.channel, user: BYSTANDER, messageTs: pending.ts }),
    );
    const acks = await measureAcks({
      world,
      gen,
      product,
      signingSecret: SIGNING_SECRET,
      templates: {
        help: slashTemplate(REQUESTER, CHANNEL, "help"),
        click: clickTemplate(BYSTANDER, pending, ACTIONS.approve, approveValue),
      },
      durationS: DURATION_S,
      warmupS: WARMUP_S,
      concurrencies: CONCURRENCIES,
    });
    rows.push(...ackRows(acks));
    const worstLoopDelay = Math.max(...acks.map((a) => a.stats.product.loopDelayMaxMs));
    notes.push(
      `Closed-loop loads: at concurrency c a saturated server's latency is about c / throughput. The max of a product run comes from the first requests of connections opened as the run starts, left waiting while the saturated server serves the established ones (in a trace of a help run at c=50 every request slower than 300 ms was such a first request); the product's event loop was never blocked longer than ${ms(worstLoopDelay)} ms in these runs.`,
    );
    const store = KyselyStore.connect(world.db.config);
    const stillPending = await store.getRequest(approveValue);
    await store.close();
    notes.push(
      `After the click loads the request is still \`${stillPending?.state}\` (${APPROVER_A} never clicked; every bystander click was denied).`,
      ...acks.map(
        (a) =>
          `${a.kind} c=${a.connections}: the product delivered ${count(a.productAnswers)} answers through response_urls (${count(a.expectedAnswers)} of them the expected ${a.kind === "help" ? "help" : "refusal"}) for ${count(a.product.requests)} requests acknowledged within the run (requests still in flight when the load stopped were answered too). ${loadNote("Product", a.product)} ${statsNote("Product", a.stats.product, a.product.elapsedS)} ${loadNote("Bare Bolt", a.bolt)} ${statsNote("Bare Bolt", a.stats.bolt, a.bolt.elapsedS)} ${loadNote("Bare node:http", a.http)} ${statsNote("Bare node:http", a.stats.http, a.http.elapsedS)}`,
      ),
    );

    step("item 2: GitLab webhook ingestion on SQLite");
    const event = unconfiguredBranchEvent(world);
    const webhooks: WebhookResult[] = [];
    webhooks.push(
      await measureWebhooks({
        gen,
        server: product,
        database: world.db.config,
        backend: "sqlite",
        event,
        connections: 50,
        targetS: WEBHOOK_TARGET_S,
        warmupS: WARMUP_S,
      }),
    );
    await product.stop();
    product = undefined;
    if (TEST_DATABASE_URL) {
      step("item 2: GitLab webhook ingestion on PostgreSQL");
      const db = await postgresDatabase();
      const onPostgres = await ServerChild.start("product", { ...world.env, DATABASE_URL: db.url });
      try {
        webhooks.push(
          await measureWebhooks({
            gen,
            server: onPostgres,
            database: db.config,
            backend: "postgres",
            event,
            connections: 50,
            targetS: WEBHOOK_TARGET_S,
            warmupS: WARMUP_S,
          }),
        );
      } finally {
        await onPostgres.stop();
        await db.drop();
      }
    }
    rows.push(...webhookRows(webhooks));
    notes.push(
      ...webhooks.map(
        (w) => `${loadNote(`Webhooks on ${w.backend}`, w.load)} ${statsNote("Product", w.stats, w.load.elapsedS)}`,
      ),
    );

    step("item 4: start-up and resident memory of the compiled process");
    const proc = await measureProcess({ world, gen, event, deliveries: MEMORY_DELIVERIES });
    rows.push(...processRows(inProcessStartupMs, proc));
    notes.push(
      `The start-up process is the compiled src/main.ts (next to this bench's build; dist/main.js is the same source compiled by \`npm run build\`), LOG_LEVEL=info with stdout to /dev/null, on a fresh SQLite file. ${loadNote("Its 10,000 deliveries", proc.load)} All processed ${ms(proc.drainMs)} ms after the load.`,
    );

    rows.push(...costRows(cost));
    notes.push(...costNotes(cost));
  } finally {
    await product?.stop();
    await world.close();
  }

  step(`item 6: /promote list with ${LIST_PIPELINES} pipelines`);
  const listWorld = await manyPipelinesWorld(LIST_PIPELINES, CHANNEL, APPROVER_A);
  let list: ListResult;
  try {
    const bot = await ServerChild.start("product", listWorld.env);
    try {
      list = await measureList(listWorld, bot, LIST_PIPELINES);
    } finally {
      await bot.stop();
    }
  } finally {
    await listWorld.close();
  }
  rows.push(...listRows(list));
  if (!list.available) notes.push(`/promote list: ${list.reason}.`);
  await gen.close();
  return process.uptime() - started;
}

/** Issue 15's scale target: a store of each size on each database, built once for both measures. */
async function scaleMeasures(rows: Row[], notes: string[]): Promise<number> {
  const started = process.uptime();
  const backends = [
    { name: "sqlite" as const, create: sqliteDatabase },
    ...(TEST_DATABASE_URL ? [{ name: "postgres" as const, create: postgresDatabase }] : []),
  ];
  const runs: ScaleRun[] = [];
  for (const backend of backends) {
    for (const pipelines of SCALE_PIPELINES) {
      step(`issue 15: scale, ${backend.name}, ${count(pipelines)} pipelines`);
      const database = await backend.create();
      try {
        runs.push(
          await measureScale({
            backend: backend.name,
            database,
            size: { pipelines, auditPerPipeline: SCALE_AUDIT_PER_PIPELINE },
            step,
          }),
        );
      } finally {
        await database.drop();
      }
    }
  }
  rows.push(...scaleRows(runs));
  notes.push(...scaleNotes(runs));
  return process.uptime() - started;
}

/** Issue 15's Heroku budget and webhook intake, in bots of their own (measure-heroku-targets.ts). */
async function herokuMeasures(rows: Row[], notes: string[]): Promise<number> {
  const started = process.uptime();
  const heroku = await herokuTargets(step);
  rows.push(...heroku.rows);
  notes.push(...heroku.notes);
  return process.uptime() - started;
}

async function main(): Promise<void> {
  if (ONLY !== undefined && ONLY !== "scale" && ONLY !== "heroku")
    throw new Error(`BENCH_ONLY=${ONLY}: the parts that run alone are "scale" and "heroku"`);
  if (SCALE_PIPELINES.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(
      `BENCH_SCALE_PIPELINES=${process.env.BENCH_SCALE_PIPELINES}: expected pipeline counts such as 100,1000`,
    );
  }
  const date = new Date();
  const loadAtStart = load();
  const rows: Row[] = [];
  const notes: string[] = [];
  const productS = ONLY !== undefined ? undefined : await productMeasures(rows, notes);
  const herokuS = HEROKU ? await herokuMeasures(rows, notes) : undefined;
  const scaleS = SCALE ? await scaleMeasures(rows, notes) : undefined;

  const wallS = process.uptime();
  const parts = [
    ...(productS !== undefined ? [`items 1–6 ${productS.toFixed(1)} s`] : []),
    ...(herokuS !== undefined ? [`Heroku budget (issue 15) ${herokuS.toFixed(1)} s`] : []),
    ...(scaleS !== undefined ? [`scale (issue 15) ${scaleS.toFixed(1)} s`] : []),
  ];
  rows.push({
    item: "—",
    measure: "Wall time of the whole bench run (this process, start to end); issue 6's target is for items 1–6",
    figure: `${wallS.toFixed(1)} s (${parts.join(", ")})`,
    target: `< ${BENCH_WALL_S / 60} min for items 1–6`,
    verdict: productS !== undefined ? verdict(productS < BENCH_WALL_S) : "—",
  });
  const output = table(rows);
  process.stdout.write(`\n${output}\n\n`);
  // A partial run (BENCH_ONLY) would leave RESULTS.md without the other measures: it writes only
  // where BENCH_RESULTS says, if anywhere.
  const path = ONLY ? process.env.BENCH_RESULTS : RESULTS;
  if (path) {
    writeResults(path, { table: output, date, wallS, loadAtStart, notes });
    step(`wrote ${path}`);
  } else step(`BENCH_ONLY=${ONLY}: bench/RESULTS.md left as it is (set BENCH_RESULTS=<file> to write this run)`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
