import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KyselyStore } from "../../../../src/adapters/store/kysely-store.js";
import type { AppRelease } from "../../../../src/domain/ports.js";
import { BACKENDS, type TestDatabase } from "../../../support/databases.js";

function release(app: { id: string; name: string }, version: number, overrides: Partial<AppRelease> = {}): AppRelease {
  return {
    id: `rel-${app.id}-${version}`,
    version,
    status: "succeeded",
    slugId: `slug-${version}`,
    current: true,
    createdAt: `2026-12-01T10:00:${String(version % 60).padStart(2, "0")}Z`,
    updatedAt: `2026-12-01T10:00:${String(version % 60).padStart(2, "0")}Z`,
    description: `Deploy ${version}`,
    outputStreamUrl: null,
    eligibleForRollback: true,
    madeBy: "ada@example.com",
    app,
    ...overrides,
  };
}

describe.each(BACKENDS)("release view on $name", ({ create }) => {
  let db: TestDatabase;
  let store: KyselyStore;
  const newApp = () => ({ id: randomUUID(), name: `app-${randomUUID().slice(0, 6)}` });

  beforeAll(async () => {
    db = await create();
    store = await KyselyStore.open(db.config);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it("keeps the newest succeeded release as current, whatever order the reports come in", async () => {
    const app = newApp();
    const at = new Date();
    const first = await store.recordRelease(release(app, 12), "event", at);
    expect(first.moved?.to.version).toBe(12);
    expect(first.moved?.from).toBeUndefined();
    const older = await store.recordRelease(release(app, 11), "event", at);
    expect(older).toEqual({ applied: true, moved: null });
    // The same report again moves nothing.
    expect((await store.recordRelease(release(app, 12), "event", at)).moved).toBeNull();
    // A pending release above it is not current until it succeeds.
    const pending = await store.recordRelease(release(app, 13, { status: "pending", current: false }), "event", at);
    expect(pending.moved).toBeNull();
    const done = await store.recordRelease(release(app, 13, { updatedAt: "2026-12-01T10:01:00Z" }), "event", at);
    expect(done.moved?.from?.version).toBe(12);
    expect(done.moved?.to.version).toBe(13);
    await store.recordRelease(release(app, 13, { status: "pending", current: false }), "event", at);
    const view = (await store.appViews([app.id])).get(app.id);
    expect(view?.current?.version).toBe(13);
    expect(view?.newest?.version).toBe(13);
    expect(view?.releaseEvents).toBe(6);
    expect(view?.lastEventAt?.getTime()).toBe(at.getTime());
  });

  it("never moves a release back: an older report (by Heroku's updated_at) or a pending one after its end is ignored", async () => {
    const app = newApp();
    const at = new Date();
    const done = release(app, 5, { status: "failed", current: false, updatedAt: "2026-12-01T10:05:00Z" });
    expect((await store.recordRelease(done, "event", at)).applied).toBe(true);
    const stale = release(app, 5, { status: "pending", current: false, updatedAt: "2026-12-01T10:01:00Z" });
    expect((await store.recordRelease(stale, "read", at)).applied).toBe(false);
    const sameTimePending = release(app, 5, { status: "pending", current: false, updatedAt: "2026-12-01T10:05:00Z" });
    expect((await store.recordRelease(sameTimePending, "event", at)).applied).toBe(false);
    // Heroku's form without milliseconds and the same time with them are one time.
    const sameTimeMs = release(app, 5, { status: "pending", current: false, updatedAt: "2026-12-01T10:05:00.000Z" });
    expect((await store.recordRelease(sameTimeMs, "event", at)).applied).toBe(false);
    const view = (await store.appViews([app.id])).get(app.id);
    expect(view?.newest?.status).toBe("failed");
    expect(view?.current).toBeUndefined();
  });

  it("counts events and reads apart: a read does not make events look as if they flow", async () => {
    const app = newApp();
    await store.recordRelease(release(app, 1), "read", new Date());
    const marks = await store.eventMarks([app.id]);
    expect(marks.get(app.id)).toEqual({ lastEventAt: null, releaseEvents: 0 });
    const dynoAt = new Date();
    await store.markAppEvent(app, dynoAt);
    expect((await store.eventMarks([app.id])).get(app.id)?.lastEventAt?.getTime()).toBe(dynoAt.getTime());
  });

  it("claims an outside release once per app and version, never an older one, and hands a claim back", async () => {
    const app = newApp();
    await store.recordRelease(release(app, 7), "event", new Date());
    expect(await store.claimOutsideRelease(app.id, 7)).toBe(true);
    expect(await store.claimOutsideRelease(app.id, 7)).toBe(false);
    expect(await store.claimOutsideRelease(app.id, 6)).toBe(false);
    await store.releaseOutsideClaim(app.id, 7);
    expect(await store.claimOutsideRelease(app.id, 7)).toBe(true);
    expect(await store.claimOutsideRelease(app.id, 8)).toBe(true);
  });

  it("keeps slug commits and pipeline topologies", async () => {
    const slug = randomUUID();
    await store.recordSlugCommit(slug, "c".repeat(40));
    await store.recordSlugCommit(slug, "d".repeat(40));
    expect((await store.slugCommits([slug])).get(slug)).toBe("c".repeat(40));
    const name = `p-${randomUUID().slice(0, 6)}`;
    const side = { pipelineId: "hp", source: { id: "s", name: "s-app" }, targets: [{ id: "t", name: "t-app" }] };
    const at = new Date("2026-12-01T10:00:00Z");
    await store.recordPipelineTopology(name, side, at);
    expect(await store.pipelineTopology(name)).toEqual({ side, readAt: at });
  });
});
