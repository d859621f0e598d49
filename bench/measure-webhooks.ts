/**
 * Item 2: GitLab webhook ingestion at concurrency 50, each delivery with its own Idempotency-Key and
 * one in ten a redelivery of an earlier one; then, once the bot has processed them all, the store is
 * checked against what the load generator saw answered: one row per distinct key, every row `done`
 * after exactly one processing attempt, no acknowledged key missing, no redelivery recorded twice.
 */
import { sql } from "kysely";
import { KyselyStore } from "../src/adapters/store/kysely-store.js";
import type { DatabaseConfig } from "../src/config.js";
import type { LoadGenerator, ServerChild } from "./children.js";
import type { BodyTemplate, LoadResult, ServerStats } from "./protocol.js";

export interface IntegrityCheck {
  distinctKeysAcked: number;
  rows: number;
  /** Acknowledged keys without a row. */
  lost: number;
  /** Rows whose key was never acknowledged (e.g. answered with an error). */
  unexpected: number;
  notDone: number;
  /** Rows processed more than once (attempts > 1). */
  processedTwice: number;
  duplicatesSent: number;
  duplicateAnswers: number;
  acceptedAnswers: number;
  /** Time from the end of the load to every delivery processed. */
  drainMs: number;
  ok: boolean;
}

export interface WebhookResult {
  backend: "sqlite" | "postgres";
  load: LoadResult;
  check: IntegrityCheck;
  /** The bot's process during the measured load. */
  stats: ServerStats;
}

export interface WebhookOptions {
  gen: LoadGenerator;
  server: ServerChild;
  database: DatabaseConfig;
  backend: "sqlite" | "postgres";
  event: { headers: Record<string, string>; body: BodyTemplate };
  connections: number;
  /** The measured run sends a fixed number of deliveries sized from the warm-up's rate to last about this long. */
  targetS: number;
  warmupS: number;
}

async function keyStates(
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

async function unfinished(store: KyselyStore, prefix: string): Promise<number> {
  const row = await store.db
    .selectFrom("deliveries")
    .select(sql<number>`count(*)`.as("n"))
    .where("id", "like", `${prefix}%`)
    .where("state", "!=", "done")
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function waitProcessed(store: KyselyStore, prefix: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while ((await unfinished(store, prefix)) > 0) {
    if (Date.now() - started > timeoutMs) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}

export async function measureWebhooks(options: WebhookOptions): Promise<WebhookResult> {
  const { gen, server, backend, event } = options;
  const url = `${server.url}/gitlab/webhook`;
  const store = KyselyStore.connect(options.database);
  try {
    const warmup = await gen.run({
      kind: "gitlab",
      url,
      connections: options.connections,
      durationS: options.warmupS,
      headers: event.headers,
      body: event.body,
      keyPrefix: `bench-${backend}-warm-`,
      duplicateEvery: 0,
    });
    await waitProcessed(store, `gitlab:bench-${backend}-warm-`);
    await server.idle();

    const amount = Math.min(40_000, Math.max(2_000, Math.round((warmup.rps * options.targetS) / 100) * 100));
    const keyPrefix = `bench-${backend}-run-`;
    await server.stats();
    const load = await gen.run({
      kind: "gitlab",
      url,
      connections: options.connections,
      amount,
      headers: event.headers,
      body: event.body,
      keyPrefix,
      duplicateEvery: 10,
    });
    const stats = await server.stats();
    const drainMs = await waitProcessed(store, `gitlab:${keyPrefix}`);
    await server.idle();

    const tally = load.gitlab;
    if (!tally) throw new Error("the GitLab load reported no tally");
    const acked = new Set(tally.ackedKeys.map((k) => `gitlab:${k}`));
    const rows = await keyStates(store, `gitlab:${keyPrefix}`);
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
    return { backend, load, check, stats };
  } finally {
    await store.close();
  }
}
