import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KyselyStore } from "../../../../src/adapters/store/kysely-store.js";
import type { NewRequest } from "../../../../src/domain/ports.js";
import type { Candidate } from "../../../../src/domain/records.js";
import { BACKENDS, type TestDatabase } from "../../../support/databases.js";

function newRequest(overrides: Partial<NewRequest> = {}): NewRequest {
  const now = new Date();
  return {
    id: randomUUID(),
    pipeline: `p-${randomUUID().slice(0, 8)}`,
    herokuPipelineId: "hp-1",
    sourceApp: { id: "app-staging", name: "whitewave-staging" },
    sourceReleaseId: "rel-1",
    sourceReleaseVersion: 12,
    slugId: "slug-1",
    commitSha: "a".repeat(40),
    commitTitle: "Fix the thing",
    commitsBehind: 3,
    targetApps: [{ id: "app-prod", name: "whitewave-prod" }],
    requester: "U0REQ",
    requiredApprovals: 2,
    createdAt: now,
    expiresAt: new Date(now.getTime() + 3_600_000),
    channel: "C0CHAN",
    messageTs: null,
    candidateId: null,
    overrideReason: null,
    overrideGate: null,
    kind: "promotion",
    ...overrides,
  } as NewRequest;
}

describe.each(BACKENDS)("store on $name", ({ create }) => {
  let db: TestDatabase;
  let store: KyselyStore;

  beforeAll(async () => {
    db = await create();
    store = await KyselyStore.open(db.config);
  });

  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  it("answers ping and migrates idempotently", async () => {
    await store.ping();
    expect(await store.migrate()).toEqual([]);
  });

  it("records a delivery once and lets one claimer process it", async () => {
    const id = randomUUID();
    const receivedAt = new Date();
    expect(await store.recordDelivery({ id, event: "Pipeline Hook", body: "{}", receivedAt })).toBe(true);
    expect(await store.recordDelivery({ id, event: "Pipeline Hook", body: "{}", receivedAt })).toBe(false);
    const now = new Date();
    expect(await store.unfinishedDeliveries(now, 100)).toContain(id);
    const claims = await Promise.all([
      store.claimDelivery(id, "a", now, 60_000),
      store.claimDelivery(id, "b", now, 60_000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.unfinishedDeliveries(now, 100)).not.toContain(id);
    // A lease that ran out can be taken over (the first processor died).
    const later = new Date(now.getTime() + 61_000);
    expect(await store.unfinishedDeliveries(later, 100)).toContain(id);
    expect((await store.claimDelivery(id, "c", later, 60_000))?.attempts).toBe(2);
    await store.finishDelivery(id, "done");
    expect(await store.unfinishedDeliveries(new Date(later.getTime() + 120_000), 100)).not.toContain(id);
  });

  it("hands a failed delivery back for a later attempt, with why, counting its attempts", async () => {
    const id = randomUUID();
    const now = new Date();
    await store.recordDelivery({ id, event: "Job Hook", body: "{}", receivedAt: now });
    expect((await store.claimDelivery(id, "a", now, 60_000))?.attempts).toBe(1);
    const retryAt = new Date(now.getTime() + 30_000);
    // Only the process that holds it can hand it back.
    await store.retryDeliveryLater(id, "b", retryAt, "not mine");
    await store.retryDeliveryLater(id, "a", retryAt, "GitLab did not answer");
    expect(await store.unfinishedDeliveries(now, 100)).not.toContain(id);
    expect(await store.claimDelivery(id, "c", now, 60_000)).toBeUndefined();
    const later = new Date(retryAt.getTime() + 1);
    expect(await store.unfinishedDeliveries(later, 100)).toContain(id);
    const again = await store.claimDelivery(id, "c", later, 60_000);
    expect(again?.attempts).toBe(2);
    expect(again?.lastError).toBe("GitLab did not answer");
  });

  it("writes a repeated audit row once per actor, request and window", async () => {
    const input = newRequest();
    await store.createRequest(input);
    const at = new Date();
    const row = (actor: string, when: Date) => ({
      requestId: input.id,
      pipeline: input.pipeline,
      event: "denied",
      actor,
      at: when,
      detail: { code: "NOT_APPROVER" },
    });
    expect(await store.auditUnlessRecent(row("U1", at), 60_000)).toBe(true);
    expect(await store.auditUnlessRecent(row("U1", new Date(at.getTime() + 1_000)), 60_000)).toBe(false);
    expect(await store.auditUnlessRecent(row("U2", at), 60_000)).toBe(true);
    expect(await store.auditUnlessRecent(row("U1", new Date(at.getTime() + 61_000)), 60_000)).toBe(true);
    const denied = (await store.auditFor(input.id)).filter((e) => e.event === "denied");
    expect(denied.map((e) => e.actor)).toEqual(["U1", "U2", "U1"]);
    expect(denied[0]?.detail).toEqual({ code: "NOT_APPROVER" });
  });

  it("keeps one active request per pipeline and returns the existing one", async () => {
    const first = newRequest();
    const second = newRequest({ pipeline: first.pipeline });
    const [a, b] = await Promise.all([store.createRequest(first), store.createRequest(second)]);
    const created = [a, b].filter((r) => r.created);
    expect(created).toHaveLength(1);
    const refused = [a, b].find((r) => !r.created);
    expect(refused && !refused.created && refused.existing.pipeline).toBe(first.pipeline);
    // Once the first is final, a new one can be created.
    const active = await store.activeRequest(first.pipeline);
    expect(active).toBeDefined();
    await store.transitionRequest(active?.id ?? "", ["pending"], "cancelled", { decidedBy: "U1" });
    const third = await store.createRequest(newRequest({ pipeline: first.pipeline }));
    expect(third.created).toBe(true);
  });

  it("round-trips every request field", async () => {
    const input = newRequest();
    const result = await store.createRequest(input);
    if (!result.created) throw new Error("not created");
    const loaded = await store.getRequest(input.id);
    expect(loaded).toMatchObject({
      ...input,
      state: "pending",
      promotionId: null,
      outcome: null,
    });
    expect(loaded?.createdAt.toISOString()).toBe(input.createdAt.toISOString());
  });

  it("moves a request to promoting exactly once under concurrent transitions", async () => {
    const input = newRequest();
    await store.createRequest(input);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.transitionRequest(input.id, ["pending"], "promoting")),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.getRequest(input.id))?.state).toBe("promoting");
    const outcome = {
      targets: [
        {
          app: { id: "app-prod", name: "whitewave-prod" },
          status: "succeeded" as const,
          releaseId: "r9",
          releaseVersion: 9,
          errorMessage: null,
          outputTail: null,
        },
      ],
      error: null,
    };
    const done = await store.transitionRequest(input.id, ["promoting"], "succeeded", {
      outcome,
      finishedAt: new Date(),
    });
    expect(done?.outcome).toEqual(outcome);
  });

  it("counts each approver once", async () => {
    const input = newRequest();
    await store.createRequest(input);
    const at = new Date();
    const added = await Promise.all([
      store.addApproval({ requestId: input.id, approver: "U1", at }),
      store.addApproval({ requestId: input.id, approver: "U1", at }),
      store.addApproval({ requestId: input.id, approver: "U2", at }),
    ]);
    expect(added.filter(Boolean)).toHaveLength(2);
    expect((await store.approvals(input.id)).map((a) => a.approver).sort()).toEqual(["U1", "U2"]);
  });

  it("lists pending requests past their expiry", async () => {
    const past = newRequest({ expiresAt: new Date(Date.now() - 1_000) });
    const future = newRequest();
    await store.createRequest(past);
    await store.createRequest(future);
    const ids = (await store.expiredRequests(new Date())).map((r) => r.id);
    expect(ids).toContain(past.id);
    expect(ids).not.toContain(future.id);
  });

  it("leases a promoting request to one owner until the lease runs out, on the database's clock", async () => {
    const input = newRequest();
    await store.createRequest(input);
    await store.transitionRequest(input.id, ["pending"], "promoting");
    const claims = await Promise.all([
      store.claimPromotion("a", 30_000, input.id),
      store.claimPromotion("b", 30_000, input.id),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const owner = claims[0] ? "a" : "b";
    const other = owner === "a" ? "b" : "a";
    expect(await store.claimPromotion(other, 30_000, input.id)).toBeUndefined();
    expect(await store.renewPromotionLease(input.id, owner, 30_000)).toBe(true);
    expect(await store.renewPromotionLease(input.id, other, 30_000)).toBe(false);
    // A short lease runs out by the database's clock; the owner can no longer renew it or mark a start.
    expect(await store.renewPromotionLease(input.id, owner, 150)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await store.renewPromotionLease(input.id, owner, 30_000)).toBe(false);
    expect(await store.markPromotionStarted(input.id, owner, {})).toBeUndefined();
    expect(await store.claimPromotion(other, 30_000, input.id)).toBeDefined();
    const started = await store.markPromotionStarted(input.id, other, { app: 3 });
    const dbNow = await store.databaseNow();
    expect(started?.baseline).toEqual({ app: 3 });
    expect(Math.abs((started?.promotionStartedAt?.getTime() ?? 0) - dbNow.getTime())).toBeLessThan(5_000);
    await store.releasePromotionLease(input.id, other);
    expect(await store.claimPromotion(owner, 30_000, input.id)).toBeDefined();
  });

  it("supersedes live candidates with a compare-and-set", async () => {
    const pipeline = `p-${randomUUID().slice(0, 8)}`;
    const candidate: Candidate = {
      id: randomUUID(),
      pipeline,
      herokuPipelineId: "hp",
      sourceAppId: "a",
      sourceAppName: "whitewave-staging",
      releaseId: "r1",
      releaseVersion: 1,
      slugId: "s1",
      commitSha: "b".repeat(40),
      commitTitle: "t",
      commitAuthor: "Ada",
      ciPipelineId: 3_000_000_001,
      ciPipelineUrl: "https://gitlab.example/p/-/pipelines/1",
      channel: "C1",
      messageTs: "1.1",
      state: "live",
      supersededBy: null,
      createdAt: new Date(),
      gitlabJob: null,
    };
    await store.insertCandidate(candidate);
    expect(await store.getCandidate(candidate.id)).toEqual(candidate);
    expect((await store.liveCandidates(pipeline)).map((c) => c.id)).toEqual([candidate.id]);
    const [x, y] = await Promise.all([
      store.transitionCandidate(candidate.id, ["live"], "superseded", { supersededBy: 2 }),
      store.transitionCandidate(candidate.id, ["live"], "requested"),
    ]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
    expect(await store.liveCandidates(pipeline)).toEqual([]);
  });

  it("stores each kind of request as its own type: a Heroku promotion, a GitLab job, a rollback without a commit", async () => {
    const promotion = newRequest();
    const job = newRequest({ kind: "gitlab-job", gitlabJob: { id: 77, name: "deploy_production", pipelineId: 5 } });
    const rollback = newRequest({
      kind: "rollback",
      commitSha: null,
      rollbackTo: [
        { app: { id: "a1", name: "whitewave-prod" }, releaseId: "r1", version: 40, slugId: null, fromVersion: 41 },
      ],
    });
    for (const r of [promotion, job, rollback]) {
      await store.createRequest(r);
      await store.transitionRequest(r.id, ["pending"], "cancelled");
    }
    const read = await Promise.all([promotion, job, rollback].map((r) => store.getRequest(r.id)));
    expect(read.map((r) => r?.kind)).toEqual(["promotion", "gitlab-job", "rollback"]);
    expect(read[1]).toMatchObject({
      kind: "gitlab-job",
      gitlabJob: { id: 77, name: "deploy_production", pipelineId: 5 },
    });
    expect(read[2]).toMatchObject({
      kind: "rollback",
      commitSha: null,
      rollbackTo: [{ releaseId: "r1", version: 40 }],
    });
    expect(read[0]).not.toHaveProperty("gitlabJob");
    expect(read[0]).not.toHaveProperty("rollbackTo");
  });

  it("finds pending requests with enough approvals, and requests whose message was never posted", async () => {
    const full = newRequest({ requiredApprovals: 2 });
    const partial = newRequest({ requiredApprovals: 2 });
    await store.createRequest(full);
    await store.createRequest(partial);
    const at = new Date();
    await store.addApproval({ requestId: full.id, approver: "U1", at });
    await store.addApproval({ requestId: full.id, approver: "U2", at });
    await store.addApproval({ requestId: partial.id, approver: "U1", at });
    const ids = (await store.fullyApprovedPending()).map((r) => r.id);
    expect(ids).toContain(full.id);
    expect(ids).not.toContain(partial.id);

    // A grace of −60 s: every request created up to a minute from now counts as old enough.
    const orphans = (await store.requestsWithoutMessage(-60_000)).map((r) => r.id);
    expect(orphans).toEqual(expect.arrayContaining([full.id, partial.id]));
    const claims = await Promise.all([
      store.claimMessagePosting(full.id, 30_000),
      store.claimMessagePosting(full.id, 30_000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(claims.find(Boolean)?.messageTs).toBeNull();
    await store.updateRequest(full.id, { messageTs: "1.2" });
    expect((await store.requestsWithoutMessage(-60_000)).map((r) => r.id)).not.toContain(full.id);
  });

  it("times a claim on posting a message by the database's clock: it goes stale after the grace, whatever the processes' clocks", async () => {
    const r = newRequest({ createdAt: new Date(Date.now() - 120_000) });
    await store.createRequest(r);
    expect((await store.requestsWithoutMessage(60_000)).map((x) => x.id)).toContain(r.id);
    expect(await store.claimMessagePosting(r.id, 60_000)).toBeDefined();
    // Held: within the grace nobody takes it over, and the sweep does not list it.
    expect(await store.claimMessagePosting(r.id, 60_000)).toBeUndefined();
    expect((await store.requestsWithoutMessage(60_000)).map((x) => x.id)).not.toContain(r.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Past a 10 ms grace it is stale: listed, and taken over once.
    expect((await store.requestsWithoutMessage(10)).map((x) => x.id)).toContain(r.id);
    expect(await store.claimMessagePosting(r.id, 10)).toBeDefined();
    // A stale claim is listed by the database's clock alone, whatever the creating process's clock
    // said the request's creation was (here: an hour ahead).
    await store.db
      .updateTable("requests")
      .set({ created_at: new Date(Date.now() + 3_600_000).toISOString() })
      .where("id", "=", r.id)
      .execute();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await store.requestsWithoutMessage(10)).map((x) => x.id)).toContain(r.id);
    // A claim made before the claim's time was recorded (an upgrade) counts as stale.
    await store.db.updateTable("requests").set({ message_claimed_at: null }).where("id", "=", r.id).execute();
    expect(await store.claimMessagePosting(r.id, 60_000)).toBeDefined();
  });

  it("writes a change and its audit row together: both when the change happens, neither when it does not or the audit fails", async () => {
    const r = newRequest();
    const note = (event: string, detail: Record<string, unknown> = {}) => ({
      requestId: r.id,
      pipeline: r.pipeline,
      event,
      actor: "U0A",
      at: new Date(),
      detail,
    });
    const created = await store.createRequest(r, note("requested"));
    expect(created.created).toBe(true);
    // A second request for the pipeline is refused, and audits nothing.
    expect((await store.createRequest(newRequest({ pipeline: r.pipeline }), note("requested"))).created).toBe(false);

    expect(await store.addApproval({ requestId: r.id, approver: "U0A", at: new Date() }, note("approved"))).toBe(true);
    expect(await store.addApproval({ requestId: r.id, approver: "U0A", at: new Date() }, note("approved"))).toBe(false);

    // An audit row that cannot be written (its detail does not serialise) undoes the move.
    await expect(
      store.transitionRequest(r.id, ["pending"], "promoting", {}, note("promoting", { n: 1n })),
    ).rejects.toThrow();
    expect((await store.getRequest(r.id))?.state).toBe("pending");

    expect(await store.transitionRequest(r.id, ["pending"], "promoting", {}, note("promoting"))).toBeDefined();
    expect(await store.transitionRequest(r.id, ["pending"], "promoting", {}, note("promoting"))).toBeUndefined();
    expect((await store.auditFor(r.id)).map((e) => e.event)).toEqual(["requested", "approved", "promoting"]);
  });

  it("lists requests whose message was not settled since their last change (finished, or outcome unknown), until marked", async () => {
    const finished = newRequest({ messageTs: "1700000000.000200" });
    const active = newRequest({ messageTs: "1700000000.000300" });
    const unknown = newRequest({ messageTs: "1700000000.000400" });
    for (const r of [finished, active, unknown]) await store.createRequest(r);
    await store.transitionRequest(finished.id, ["pending"], "rejected", { finishedAt: new Date() });
    await store.transitionRequest(unknown.id, ["pending"], "promoting");
    await store.transitionRequest(unknown.id, ["promoting"], "unknown");
    const ids = async (settleMs: number) => (await store.unsettledMessages(settleMs, 100)).map((r) => r.id);
    // Not due within the settle delay after the change (by the database's clock), due after it.
    expect(await ids(60_000)).not.toContain(finished.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await ids(10)).toEqual(expect.arrayContaining([finished.id, unknown.id]));
    expect(await ids(10)).not.toContain(active.id);
    // Marked for the state it showed: settled. A mark for a state it has left settles nothing.
    await store.markMessageSettled(finished.id, "rejected", new Date());
    await store.markMessageSettled(unknown.id, "promoting", new Date());
    expect(await ids(10)).not.toContain(finished.id);
    expect(await ids(10)).toContain(unknown.id);
    await store.markMessageSettled(unknown.id, "unknown", new Date());
    expect(await ids(10)).not.toContain(unknown.id);
    // A change of state after settling needs settling again.
    await store.transitionRequest(unknown.id, ["unknown"], "succeeded", { finishedAt: new Date() });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await ids(10)).toContain(unknown.id);
  });

  it("keeps an ordered audit trail", async () => {
    const requestId = randomUUID();
    for (const event of ["requested", "approved", "promoting", "succeeded"]) {
      await store.audit({ requestId, pipeline: "w", event, actor: "U1", at: new Date(), detail: { event } });
    }
    expect((await store.auditFor(requestId)).map((e) => e.event)).toEqual([
      "requested",
      "approved",
      "promoting",
      "succeeded",
    ]);
  });
});
