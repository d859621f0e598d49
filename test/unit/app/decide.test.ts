import { describe, expect, it } from "vitest";
import { ApproverDirectory } from "../../../src/app/approvers.js";
import type { AppContext } from "../../../src/app/context.js";
import { approve } from "../../../src/app/decide.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { AuditEntry } from "../../../src/domain/ports.js";
import type { PromotionRequest } from "../../../src/domain/request.js";
import { createLogger } from "../../../src/infra/logger.js";
import { aPipelineConfig, aRequest, CREATED_AT } from "../builders.js";

const BYSTANDER = "U0BYSTANDER";

/** A context over an in-memory request, counting its reads. */
function deciding() {
  let stored = aRequest();
  const reads: string[] = [];
  const audited: AuditEntry[] = [];
  const store = {
    getRequest: async (id: string) => {
      reads.push(id);
      return id === stored.id ? stored : undefined;
    },
    auditUnlessRecent: async (entry: AuditEntry) => {
      const first = !audited.some((a) => a.actor === entry.actor);
      if (first) audited.push(entry);
      return first;
    },
  };
  const ctx = {
    pipelines: [aPipelineConfig({ approverGroups: [] })],
    store,
    clock: { now: () => new Date(CREATED_AT.getTime() + 60_000) },
    log: createLogger({ level: "silent" }),
  } as unknown as AppContext;
  return {
    ctx,
    approvers: new ApproverDirectory(ctx),
    reads,
    audited,
    store: (request: PromotionRequest) => {
      stored = request;
    },
  };
}

const refusalCode = (click: Promise<unknown>) =>
  click.then(
    () => "approved",
    (error: unknown) => (error instanceof DomainError ? error.code : String(error)),
  );

describe("deciding on a burst of clicks", () => {
  it("reads the request once for the clicks of one tick, and refuses and audits each person", async () => {
    const { ctx, approvers, reads, audited } = deciding();
    const clicks = Array.from({ length: 10 }, () => approve(ctx, approvers, { requestId: "req_01", actor: BYSTANDER }));
    expect(await Promise.all(clicks.map(refusalCode))).toEqual(clicks.map(() => "NOT_APPROVER"));
    expect(reads).toEqual(["req_01"]);
    expect(audited.map((a) => a.actor)).toEqual([BYSTANDER]);
  });

  it("reads the request again for a click after the shared read started, and sees what changed meanwhile", async () => {
    const { ctx, approvers, reads, store } = deciding();
    const first = refusalCode(approve(ctx, approvers, { requestId: "req_01", actor: BYSTANDER }));
    await new Promise((resolve) => setImmediate(resolve));
    store(aRequest({ state: "rejected", decidedBy: "U0AAAAAAA", finishedAt: CREATED_AT }));
    const second = refusalCode(approve(ctx, approvers, { requestId: "req_01", actor: BYSTANDER }));
    expect(await first).toBe("NOT_APPROVER");
    expect(await second).toBe("ALREADY_DECIDED");
    expect(reads).toEqual(["req_01", "req_01"]);
  });
});
