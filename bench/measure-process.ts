/**
 * Item 4, as an operator runs it: the compiled entry point (`src/main.ts` compiled next to this file,
 * what `npm start` runs as dist/main.js) in its own process, on a fresh SQLite database. Start-up is
 * timed from spawn to the first healthy /healthz (module loading and migrations included); resident
 * memory is read with `ps` after 10,000 webhook deliveries were answered and processed.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { KyselyStore } from "../src/adapters/store/kysely-store.js";
import { sqliteDatabase } from "../test/support/databases.js";
import type { World } from "../test/support/harness.js";
import type { LoadGenerator } from "./children.js";
import { waitProcessed } from "./measure-webhooks.js";
import type { BodyTemplate, LoadResult } from "./protocol.js";

export const MAIN_JS = join(import.meta.dirname, "..", "src", "main.js");

export interface ProcessResult {
  startupMs: number;
  rssAtStartMb: number;
  rssAfterMb: number;
  deliveries: number;
  load: LoadResult;
  drainMs: number;
  unprocessed: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number): number {
  const kb = Number(execFileSync("ps", ["-o", "rss=", "-p", String(pid)], { encoding: "utf8" }).trim());
  return kb / 1024;
}

async function healthyAt(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the bot process exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error("the bot process did not become healthy");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function measureProcess(options: {
  world: World;
  gen: LoadGenerator;
  event: { headers: Record<string, string>; body: BodyTemplate };
  deliveries: number;
}): Promise<ProcessResult> {
  const db = await sqliteDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, [MAIN_JS], {
    env: { PATH: process.env.PATH ?? "", ...options.world.env, DATABASE_URL: db.url, PORT: String(port) },
    // Production logs at info to stdout; here stdout goes to /dev/null.
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const store = KyselyStore.connect(db.config);
  try {
    await healthyAt(url, child, 15_000);
    const startupMs = performance.now() - started;
    const pid = child.pid as number;
    const rssAtStartMb = rssMb(pid);
    const load = await options.gen.run({
      kind: "gitlab",
      url: `${url}/gitlab/webhook`,
      connections: 50,
      amount: options.deliveries,
      headers: options.event.headers,
      body: options.event.body,
      keyPrefix: "bench-rss-",
      duplicateEvery: 0,
    });
    const drainMs = await waitProcessed(store, "gitlab:bench-rss-");
    const row = await store.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("state", "!=", "done")
      .executeTakeFirstOrThrow();
    const rssAfterMb = rssMb(pid);
    return {
      startupMs,
      rssAtStartMb,
      rssAfterMb,
      deliveries: options.deliveries,
      load,
      drainMs,
      unprocessed: Number(row.n),
    };
  } finally {
    await store.close();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    await db.drop();
  }
}
