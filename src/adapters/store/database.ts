/**
 * The database handle every repository shares: the connection (SQLite, embedded default, WAL; or
 * PostgreSQL), the schema's migrations, the database's clock, and writing a change with its audit row.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, type SqliteDatabase, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { DatabaseConfig } from "../../config.js";
import type { AuditEntry, AuditNote } from "../../domain/ports.js";
import { type Dialect, migrateToLatest } from "./migrations.js";
import { iso } from "./rows.js";
import type { Database } from "./schema.js";

export function postgresSsl(url: string): pg.PoolConfig["ssl"] {
  const parsed = new URL(url);
  const mode = parsed.searchParams.get("sslmode");
  if (mode === "disable") return false;
  if (mode === "verify-full" || mode === "verify-ca") return { rejectUnauthorized: true };
  if (["localhost", "127.0.0.1", "::1", "[::1]"].includes(parsed.hostname) || parsed.hostname.startsWith("/")) {
    return mode === "require" ? { rejectUnauthorized: false } : false;
  }
  return { rejectUnauthorized: false };
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing is a tenth of the CPU of a webhook
 * delivery (bench/RESULTS.md). Statements are reusable, so keep the most recent ones.
 */
export function cachingStatements(database: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare: (sql: string) => {
      let statement = statements.get(sql);
      if (!statement) {
        statement = database.prepare(sql);
        statements.set(sql, statement);
        if (statements.size > 500) statements.delete(statements.keys().next().value as string);
      }
      return statement as unknown as ReturnType<SqliteDatabase["prepare"]>;
    },
  };
}

export class StoreDatabase {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
  ) {}

  static connect(config: DatabaseConfig): StoreDatabase {
    if (config.kind === "sqlite") {
      if (config.path !== ":memory:") mkdirSync(dirname(config.path), { recursive: true });
      const database = new BetterSqlite3(config.path);
      database.pragma("journal_mode = WAL");
      database.pragma("busy_timeout = 5000");
      database.pragma("foreign_keys = ON");
      database.pragma("synchronous = NORMAL");
      return new StoreDatabase(
        new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingStatements(database) }) }),
        "sqlite",
      );
    }
    const url = new URL(config.url);
    url.searchParams.delete("sslmode");
    const pool = new pg.Pool({
      connectionString: url.toString(),
      ssl: postgresSsl(config.url),
      max: 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
    });
    // A dropped connection must not crash the process: pg emits 'error' on the pool for idle clients
    // and on the client itself while it is checked out; the failing query rejects, the next reconnects.
    pool.on("error", () => {});
    pool.on("connect", (client) => {
      client.on("error", () => {});
    });
    return new StoreDatabase(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), "postgres");
  }

  async migrate(): Promise<string[]> {
    return migrateToLatest(this.db as unknown as Kysely<unknown>, this.dialect);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /**
   * The database's clock, `offsetMs` ahead, as the ISO text timestamps are stored in (so that they
   * compare as text). Leases and the POST window are timed by it, not by any process's clock: two
   * processes whose clocks disagree still agree on when a lease ran out.
   */
  dbTime(offsetMs = 0) {
    if (this.dialect === "sqlite") {
      return sql<string>`strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ${`${offsetMs >= 0 ? "+" : ""}${offsetMs / 1000} seconds`})`;
    }
    return sql<string>`to_char((clock_timestamp() + ${offsetMs} * interval '1 millisecond') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  }

  /**
   * Runs `write` and, when it changed a request (returned its row), writes the audit row of that
   * change in the same transaction: a crash keeps both or neither.
   */
  async atomically<T>(
    note: AuditNote | undefined,
    write: (db: Kysely<Database>) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    if (!note) return write(this.db);
    return this.db.transaction().execute(async (trx) => {
      const row = await write(trx);
      if (row) {
        await insertAudit(trx, {
          requestId: note.requestId,
          pipeline: note.pipeline,
          event: note.event,
          actor: note.actor,
          at: note.at,
          detail: note.detail ?? {},
        });
      }
      return row;
    });
  }
}

export async function insertAudit(db: Kysely<Database>, entry: AuditEntry): Promise<void> {
  await db
    .insertInto("audit")
    .values({
      request_id: entry.requestId,
      pipeline: entry.pipeline,
      event: entry.event,
      actor: entry.actor,
      at: iso(entry.at),
      detail: JSON.stringify(entry.detail),
    })
    .execute();
}
