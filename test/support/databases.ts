/**
 * The store backends every store-dependent test runs against: SQLite always, PostgreSQL when
 * TEST_DATABASE_URL is set. Under CI (CI=true) PostgreSQL is mandatory: a run that would skip it fails.
 * Each PostgreSQL use gets its own schema, so test files never see each other's rows.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { DatabaseConfig } from "../../src/config.js";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || undefined;

// Checked in test runs only: the sandbox (sandbox/) uses the same world without PostgreSQL.
const inTestRun = process.env.VITEST !== undefined;
if (inTestRun && process.env.CI === "true" && !TEST_DATABASE_URL) {
  throw new Error("CI=true but TEST_DATABASE_URL is not set: the PostgreSQL store tests are mandatory in CI");
}
if (inTestRun && !TEST_DATABASE_URL && !(globalThis as { __pgNote?: boolean }).__pgNote) {
  (globalThis as { __pgNote?: boolean }).__pgNote = true;
  console.warn("NOTE: TEST_DATABASE_URL is not set; PostgreSQL store tests are skipped (SQLite only).");
}

export interface TestDatabase {
  name: "sqlite" | "postgres";
  config: DatabaseConfig;
  /** The DATABASE_URL a server process would be given. */
  url: string;
  drop(): Promise<void>;
}

export async function sqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "promote-bot-"));
  const path = join(dir, "store.db");
  return {
    name: "sqlite",
    config: { kind: "sqlite", path },
    url: `sqlite:${path}`,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function postgresDatabase(): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) throw new Error("TEST_DATABASE_URL is not set");
  const schema = `t_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set("options", `-c search_path=${schema}`);
  return {
    name: "postgres",
    config: { kind: "postgres", url: url.toString() },
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

/** The backends to run a suite on: [sqlite] or [sqlite, postgres]. */
export const BACKENDS: Array<{ name: "sqlite" | "postgres"; create: () => Promise<TestDatabase> }> = [
  { name: "sqlite", create: sqliteDatabase },
  ...(TEST_DATABASE_URL ? [{ name: "postgres" as const, create: postgresDatabase }] : []),
];
