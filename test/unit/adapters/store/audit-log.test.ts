import { randomUUID } from "node:crypto";
import type { KyselyPlugin } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuditLog, MAX_AUDIT_BATCH, MAX_REMEMBERED_AUDITS } from "../../../../src/adapters/store/audit-log.js";
import { StoreDatabase } from "../../../../src/adapters/store/database.js";
import { KyselyStore } from "../../../../src/adapters/store/kysely-store.js";
import type { AuditEntry } from "../../../../src/domain/ports.js";
import { BACKENDS, sqliteDatabase, type TestDatabase } from "../../../support/databases.js";

const WINDOW_MS = 60_000;

/** Counts the statements that reach the database. */
function countingStatements(): { plugin: KyselyPlugin; count: () => number } {
  let statements = 0;
  return {
    plugin: {
      transformQuery: (args) => {
        statements += 1;
        return args.node;
      },
      transformResult: async (args) => args.result,
    },
    count: () => statements,
  };
}

describe.each(BACKENDS)("the audit log on $name", ({ create }) => {
  let db: TestDatabase;
  let database: StoreDatabase;
  let counter: ReturnType<typeof countingStatements>;
  let log: AuditLog;
  let requestId: string;

  const denial = (actor: string, at: Date, id = requestId): AuditEntry => ({
    requestId: id,
    pipeline: "whitewave",
    event: "denied",
    actor,
    at,
    detail: { code: "NOT_APPROVER" },
  });
  const deniedActors = async () =>
    (await log.auditFor(requestId)).filter((e) => e.event === "denied").map((e) => e.actor);

  beforeAll(async () => {
    db = await create();
    await (await KyselyStore.open(db.config)).close();
    database = StoreDatabase.connect(db.config);
  });

  afterAll(async () => {
    await database?.close();
    await db?.drop();
  });

  beforeEach(() => {
    counter = countingStatements();
    log = new AuditLog(new StoreDatabase(database.db.withPlugin(counter.plugin), database.dialect));
    // audit.request_id is a plain column: a denial's row needs no request row.
    requestId = randomUUID();
  });

  it("writes the denials of one tick in one statement", async () => {
    const at = new Date();
    const actors = Array.from({ length: 20 }, (_, i) => `U${i}`);
    const written = await Promise.all(actors.map((actor) => log.auditUnlessRecent(denial(actor, at), WINDOW_MS)));
    expect(written).toEqual(actors.map(() => true));
    expect(counter.count()).toBe(1);
    expect((await deniedActors()).sort()).toEqual([...actors].sort());
  });

  it("keeps writing after a drain found nothing to write (a flush of an empty queue, or a tick after the queue emptied)", async () => {
    // A drain that found the queue empty used to keep its finished promise as the one in progress,
    // so every later denial waited for a write that never came (a click's answer, and the worker's
    // idle, hung: promotion.test.ts "30 Approve clicks … on postgres", about one run in three).
    await log.flush();
    const answered = await Promise.race([
      log.auditUnlessRecent(denial("U1", new Date()), WINDOW_MS),
      new Promise((resolve) => setTimeout(() => resolve("hung"), 2_000)),
    ]);
    expect(answered).toBe(true);
    expect(await deniedActors()).toEqual(["U1"]);
  });

  it("writes a burst of one person's clicks once, and answers the repeats from memory", async () => {
    const at = new Date();
    const burst = await Promise.all(
      Array.from({ length: 5 }, (_, i) => log.auditUnlessRecent(denial("U1", new Date(at.getTime() + i)), WINDOW_MS)),
    );
    expect(burst).toEqual([true, false, false, false, false]);
    const statements = counter.count();
    expect(await log.auditUnlessRecent(denial("U1", new Date(at.getTime() + 30_000)), WINDOW_MS)).toBe(false);
    expect(counter.count()).toBe(statements);
    // Past the window the person's next denial is written again.
    expect(await log.auditUnlessRecent(denial("U1", new Date(at.getTime() + WINDOW_MS + 1)), WINDOW_MS)).toBe(true);
    expect(await deniedActors()).toEqual(["U1", "U1"]);
  });

  it("counts a recent row another process wrote", async () => {
    const other = new AuditLog(database);
    const at = new Date();
    expect(await other.auditUnlessRecent(denial("U1", at), WINDOW_MS)).toBe(true);
    expect(await log.auditUnlessRecent(denial("U1", new Date(at.getTime() + 1_000)), WINDOW_MS)).toBe(false);
    expect(await deniedActors()).toEqual(["U1"]);
  });

  it("writes a click whose window misses the other process's row, though it follows one that did not", async () => {
    const other = new AuditLog(database);
    const at = new Date();
    await other.auditUnlessRecent(denial("U1", at), WINDOW_MS);
    const [within, past] = await Promise.all([
      log.auditUnlessRecent(denial("U1", new Date(at.getTime() + 50_000)), WINDOW_MS),
      log.auditUnlessRecent(denial("U1", new Date(at.getTime() + 70_000)), WINDOW_MS),
    ]);
    expect([within, past]).toEqual([false, true]);
    expect(await deniedActors()).toEqual(["U1", "U1"]);
  });

  it("writes a large burst of different people in batches of a bounded size", async () => {
    const at = new Date();
    const actors = Array.from({ length: MAX_AUDIT_BATCH * 2 + 1 }, (_, i) => `U${i}`);
    const written = await Promise.all(actors.map((actor) => log.auditUnlessRecent(denial(actor, at), WINDOW_MS)));
    expect(written.every(Boolean)).toBe(true);
    expect(counter.count()).toBe(3);
    expect(await deniedActors()).toHaveLength(actors.length);
  });

  it("forgets the oldest rows past its bound, and the database still refuses their repeats", async () => {
    const at = new Date();
    const first = denial("U-first", at);
    await log.auditUnlessRecent(first, WINDOW_MS);
    await Promise.all(
      Array.from({ length: MAX_REMEMBERED_AUDITS }, (_, i) =>
        log.auditUnlessRecent(denial("U1", at, `request-${i}`), WINDOW_MS),
      ),
    );
    const statements = counter.count();
    expect(await log.auditUnlessRecent({ ...first, at: new Date(at.getTime() + 1) }, WINDOW_MS)).toBe(false);
    expect(counter.count()).toBe(statements + 1);
    expect(await deniedActors()).toEqual(["U-first"]);
  });

  it("writes what is queued when flushed (the store's close), before the database goes", async () => {
    const at = new Date();
    const pending = log.auditUnlessRecent(denial("U1", at), WINDOW_MS);
    await log.flush();
    expect(counter.count()).toBe(1);
    expect(await pending).toBe(true);
  });

  it("rejects the batch's callers when the database refuses the statement", async () => {
    const broken = new AuditLog(
      new StoreDatabase(
        database.db.withPlugin({
          transformQuery: () => {
            throw new Error("database unavailable");
          },
          transformResult: async (args) => args.result,
        }),
        database.dialect,
      ),
    );
    const at = new Date();
    await expect(broken.auditUnlessRecent(denial("U1", at), WINDOW_MS)).rejects.toThrow("database unavailable");
    // Nothing was remembered: the next try goes to the database again.
    expect(await log.auditUnlessRecent(denial("U1", at), WINDOW_MS)).toBe(true);
  });
});

describe("the store's close", () => {
  it("writes a denial still queued before it closes the database", async () => {
    const db = await sqliteDatabase();
    try {
      const store = await KyselyStore.open(db.config);
      const requestId = randomUUID();
      const entry = { requestId, pipeline: "whitewave", event: "denied", actor: "U1", at: new Date(), detail: {} };
      const written = store.auditUnlessRecent(entry, WINDOW_MS);
      await store.close();
      expect(await written).toBe(true);
      const reopened = KyselyStore.connect(db.config);
      expect((await reopened.auditFor(requestId)).map((e) => e.actor)).toEqual(["U1"]);
      await reopened.close();
    } finally {
      await db.drop();
    }
  });
});
