/**
 * Issue 15, webhook intake: signed Heroku app webhook deliveries to `POST /heroku/webhook` at
 * concurrency 50, each a release event with its own event id, one in ten a new attempt of an earlier
 * event (new attempt id, so a new body and signature, as Heroku retries). Then, once the bot has
 * processed them all, the deliveries table is checked against what the load generator saw answered:
 * one row per distinct event id, each `done` after one processing attempt, none lost.
 *
 * The events are release events of an app that is in no configured pipeline, all of one release the
 * bot has already recorded: each is verified, parsed, recorded, deduplicated and processed (the release
 * view upserts the same release, sees that nothing moved and stops), without Slack work; Heroku calls
 * made meanwhile are counted, since such processing should make none.
 */
import { KyselyStore } from "../src/adapters/store/kysely-store.js";
import type { DatabaseConfig } from "../src/config.js";
import type { RecordedCall } from "../stand-ins/http-stand-in.js";
import type { World } from "../test/support/harness.js";
import type { LoadGenerator, ServerChild } from "./children.js";
import type { IntegrityCheck } from "./measure-webhooks.js";
import { waitProcessed } from "./measure-webhooks.js";
import type { LoadResult, ServerStats } from "./protocol.js";

export interface HerokuWebhookResult {
  backend: "sqlite" | "postgres";
  load: LoadResult;
  check: IntegrityCheck;
  stats: ServerStats;
  /** Heroku calls the bot made while the warm-up and the measured load were processed. */
  herokuCallsDuringLoad: RecordedCall[];
  /** Heroku calls the bot made processing the first real event of the unconfigured app (before the load). */
  herokuCallsFirstEvent: RecordedCall[];
}

export interface HerokuWebhookOptions {
  world: World;
  gen: LoadGenerator;
  server: ServerChild;
  database: DatabaseConfig;
  backend: "sqlite" | "postgres";
  secret: string;
  connections: number;
  targetS: number;
  warmupS: number;
}

/** Subscribes an app to the bot as `npm run setup-heroku-webhooks` does, through the stand-in's API. */
export async function subscribeApp(world: World, app: string, botUrl: string, secret: string): Promise<void> {
  const response = await fetch(`${world.heroku.url}/apps/${encodeURIComponent(app)}/webhooks`, {
    method: "POST",
    headers: {
      Accept: "application/vnd.heroku+json; version=3.webhooks",
      Authorization: `Bearer ${world.env.HEROKU_API_TOKEN}`,
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ include: ["api:release", "dyno"], level: "sync", url: `${botUrl}/heroku/webhook`, secret }),
  });
  await response.arrayBuffer();
  if (response.status >= 300) throw new Error(`subscribing ${app} was answered ${response.status}`);
}

/**
 * A release event of an app outside every pipeline, as the stand-in delivered it (its first event,
 * processed by the bot for real), with its event id and attempt id made slots.
 */
async function unconfiguredReleaseTemplate(
  world: World,
  server: ServerChild,
  backend: string,
  secret: string,
): Promise<{ template: string; calls: RecordedCall[] }> {
  const name = `bench-outside-${backend}`;
  const app = world.heroku.addApp(name);
  await subscribeApp(world, name, server.url, secret);
  const from = world.heroku.calls.length;
  world.heroku.deploy(app.id, "0123456789abcdef0123456789abcdef01234567");
  await world.heroku.webhooksIdle();
  await server.idle();
  const attempt = world.heroku.webhooks.attempts.filter((a) => a.succeeded && a.rawBody.includes(app.id)).at(-1);
  if (!attempt) throw new Error(`no delivery of ${name}'s release event reached the bot`);
  const template = attempt.rawBody
    .replaceAll(attempt.eventId, "__EVENT_ID__")
    .replaceAll(attempt.attemptId, "__ATTEMPT_ID__");
  return { template, calls: world.heroku.calls.slice(from) };
}

async function eventStates(
  store: KyselyStore,
  prefix: string,
): Promise<Array<{ id: string; state: string; attempts: number }>> {
  const rows = await store.db
    .selectFrom("deliveries")
    .select(["id", "state", "attempts"])
    .where("id", "like", `${prefix}%`)
    .execute();
  return rows.map((r) => ({ id: r.id, state: r.state, attempts: Number(r.attempts) }));
}

export async function measureHerokuWebhooks(options: HerokuWebhookOptions): Promise<HerokuWebhookResult> {
  const { world, gen, server, backend, secret } = options;
  const url = `${server.url}/heroku/webhook`;
  const first = await unconfiguredReleaseTemplate(world, server, backend, secret);
  const store = KyselyStore.connect(options.database);
  try {
    const from = world.heroku.calls.length;
    const warmPrefix = `bench-${backend}-warm-`;
    const warmup = await gen.run({
      kind: "heroku",
      url,
      connections: options.connections,
      durationS: options.warmupS,
      secret,
      template: first.template,
      eventPrefix: warmPrefix,
      duplicateEvery: 0,
    });
    await waitProcessed(store, `heroku:${warmPrefix}`);
    await server.idle();

    const amount = Math.min(40_000, Math.max(2_000, Math.round((warmup.rps * options.targetS) / 100) * 100));
    const eventPrefix = `bench-${backend}-run-`;
    await server.stats();
    const load = await gen.run({
      kind: "heroku",
      url,
      connections: options.connections,
      amount,
      secret,
      template: first.template,
      eventPrefix,
      duplicateEvery: 10,
    });
    const stats = await server.stats();
    const drainMs = await waitProcessed(store, `heroku:${eventPrefix}`);
    await server.idle();

    const tally = load.heroku;
    if (!tally) throw new Error("the Heroku load reported no tally");
    const acked = new Set(tally.ackedKeys.map((k) => `heroku:${k}`));
    const rows = await eventStates(store, `heroku:${eventPrefix}`);
    const rowIds = new Set(rows.map((r) => r.id));
    const check: IntegrityCheck = {
      distinctKeysAcked: acked.size,
      rows: rows.length,
      lost: [...acked].filter((k) => !rowIds.has(k)).length,
      unexpected: rows.filter((r) => !acked.has(r.id)).length,
      notDone: rows.filter((r) => r.state !== "done").length,
      processedTwice: rows.filter((r) => r.attempts > 1).length,
      duplicatesSent: tally.duplicatesSent,
      duplicateAnswers: tally.duplicateAnswers,
      acceptedAnswers: tally.acceptedAnswers,
      drainMs,
      ok: false,
    };
    check.ok =
      load.non2xx === 0 &&
      load.errors === 0 &&
      check.lost === 0 &&
      check.unexpected === 0 &&
      check.rows === check.distinctKeysAcked &&
      check.notDone === 0 &&
      check.processedTwice === 0 &&
      check.duplicateAnswers === check.duplicatesSent &&
      check.acceptedAnswers === check.distinctKeysAcked;
    return {
      backend,
      load,
      check,
      stats,
      herokuCallsDuringLoad: world.heroku.calls.slice(from),
      herokuCallsFirstEvent: first.calls,
    };
  } finally {
    await store.close();
  }
}
