import { describe, expect, it } from "vitest";
import {
  type ApprovalPolicy,
  approvesOnRequest,
  checkCanEnd,
  checkDecidable,
  evaluateApproval,
  selfApprovalPossible,
} from "../../../src/domain/approval-policy.js";
import type { DomainError } from "../../../src/domain/errors.js";
import type { Approval, PromotionRequest, RequestState } from "../../../src/domain/request.js";
import { denialError, finalStateText } from "../../../src/views/denials.js";
import { anApproval, aRequest, EXPIRES_AT, REQUESTER } from "../builders.js";

const NOW = new Date("2025-03-04T11:00:00Z");
const ALICE = "UALICE";
const BOB = "UBOB";
const CAROL = "UCAROL";
const strict: ApprovalPolicy = { requiredApprovals: 1, allowSelfApproval: false };

function approve(
  overrides: {
    request?: Partial<PromotionRequest>;
    approvals?: Approval[];
    actor?: string;
    actorIsApprover?: boolean;
    policy?: Partial<ApprovalPolicy>;
    now?: Date;
  } = {},
) {
  return evaluateApproval({
    request: aRequest(overrides.request),
    approvals: overrides.approvals ?? [],
    actor: overrides.actor ?? ALICE,
    actorIsApprover: overrides.actorIsApprover ?? true,
    policy: { ...strict, ...overrides.policy },
    now: overrides.now ?? NOW,
  });
}

/** The refusal a denial becomes, in words (views/denials.ts), to check both its code and what it says. */
function deniedWith(decision: ReturnType<typeof evaluateApproval>): DomainError {
  if (decision.kind !== "deny") throw new Error(`expected a denial, got ${JSON.stringify(decision)}`);
  return denialError(decision.denial);
}
const said = (denial: Parameters<typeof denialError>[0] | undefined) => (denial ? denialError(denial) : undefined);

const NOT_PENDING: RequestState[] = ["promoting", "succeeded", "failed", "rejected", "cancelled"];

describe("evaluateApproval", () => {
  it("records an approval by an approver and completes a one-approval request", () => {
    expect(approve()).toEqual({ kind: "record", complete: true, count: 1 });
  });

  it("refuses an approval by someone who is not an approver", () => {
    const error = deniedWith(approve({ actor: CAROL, actorIsApprover: false }));
    expect(error.code).toBe("NOT_APPROVER");
    expect(error.message).toContain("*whitewave*");
  });

  it("refuses an approval by the requester", () => {
    const error = deniedWith(approve({ actor: REQUESTER }));
    expect(error.code).toBe("SELF_APPROVAL");
    expect(error.message).toMatch(/another approver/);
  });

  it("lets the requester approve when the pipeline allows self-approval", () => {
    expect(approve({ actor: REQUESTER, policy: { allowSelfApproval: true } })).toEqual({
      kind: "record",
      complete: true,
      count: 1,
    });
  });

  it("refuses a requester who is not an approver even when self-approval is allowed", () => {
    expect(
      deniedWith(approve({ actor: REQUESTER, actorIsApprover: false, policy: { allowSelfApproval: true } })).code,
    ).toBe("NOT_APPROVER");
  });

  it("refuses a second approval by the same approver", () => {
    const error = deniedWith(
      approve({ request: { requiredApprovals: 2 }, approvals: [anApproval(ALICE)], actor: ALICE }),
    );
    expect(error.code).toBe("ALREADY_APPROVED");
    expect(error.message).toContain("1 of 2");
  });

  it("needs as many distinct approvers as required", () => {
    const request = { requiredApprovals: 3 };
    expect(approve({ request, approvals: [], actor: ALICE })).toEqual({ kind: "record", complete: false, count: 1 });
    expect(approve({ request, approvals: [anApproval(ALICE)], actor: BOB })).toEqual({
      kind: "record",
      complete: false,
      count: 2,
    });
    expect(approve({ request, approvals: [anApproval(ALICE), anApproval(BOB)], actor: CAROL })).toEqual({
      kind: "record",
      complete: true,
      count: 3,
    });
  });

  it("counts repeated approvals by one approver once", () => {
    const decision = approve({
      request: { requiredApprovals: 3 },
      approvals: [anApproval(ALICE), anApproval(ALICE), anApproval(BOB)],
      actor: CAROL,
    });
    expect(decision).toEqual({ kind: "record", complete: true, count: 3 });
    const duplicates = approve({
      request: { requiredApprovals: 3 },
      approvals: [anApproval(ALICE), anApproval(ALICE)],
      actor: BOB,
    });
    expect(duplicates).toEqual({ kind: "record", complete: false, count: 2 });
  });

  it("takes the number of approvals needed from the request, as it was when requested", () => {
    // The pipeline may have been reconfigured since; the request keeps the number it was created with.
    expect(approve({ request: { requiredApprovals: 2 }, policy: { requiredApprovals: 1 } })).toEqual({
      kind: "record",
      complete: false,
      count: 1,
    });
  });

  it("refuses an approval at or after the expiry time", () => {
    expect(deniedWith(approve({ now: EXPIRES_AT })).code).toBe("EXPIRED");
    expect(deniedWith(approve({ now: new Date(EXPIRES_AT.getTime() + 1) })).code).toBe("EXPIRED");
    expect(approve({ now: new Date(EXPIRES_AT.getTime() - 1) }).kind).toBe("record");
  });

  it("checks expiry before who clicks", () => {
    expect(deniedWith(approve({ actorIsApprover: false, now: EXPIRES_AT })).code).toBe("EXPIRED");
  });

  it.each(NOT_PENDING)("refuses an approval of a %s request", (state) => {
    expect(deniedWith(approve({ request: { state } })).code).toBe("ALREADY_DECIDED");
  });

  it("refuses an approval of a request marked expired", () => {
    expect(deniedWith(approve({ request: { state: "expired" }, now: new Date(0) })).code).toBe("EXPIRED");
  });
});

describe("checkDecidable", () => {
  it("lets a pending request before its expiry be decided", () => {
    expect(checkDecidable(aRequest(), NOW)).toBeUndefined();
  });

  it("says when an expired request expired and how to ask again", () => {
    const error = said(checkDecidable(aRequest(), EXPIRES_AT));
    expect(error?.code).toBe("EXPIRED");
    expect(error?.message).toContain(EXPIRES_AT.toISOString());
    expect(error?.message).toContain("`/promote whitewave`");
  });

  it("says who rejected a rejected request", () => {
    const error = said(checkDecidable(aRequest({ state: "rejected", decidedBy: BOB }), NOW));
    expect(error?.code).toBe("ALREADY_DECIDED");
    expect(error?.message).toContain(`it was rejected by <@${BOB}>`);
  });

  it("reports a request past its expiry that is already promoting as decided, not expired", () => {
    expect(checkDecidable(aRequest({ state: "promoting" }), new Date(EXPIRES_AT.getTime() + 1))?.code).toBe(
      "ALREADY_DECIDED",
    );
  });
});

describe("finalStateText", () => {
  it.each([
    ["promoting", null, "it is already being promoted"],
    ["succeeded", null, "it was already promoted"],
    ["failed", null, "its promotion already ran and failed"],
    ["rejected", null, "it was rejected"],
    ["cancelled", ALICE, `it was cancelled by <@${ALICE}>`],
    ["expired", null, "it expired"],
    ["pending", null, "it is still pending"],
  ] as const)("describes a %s request", (state, decidedBy, text) => {
    expect(finalStateText(aRequest({ state, decidedBy }))).toBe(text);
  });
});

describe("checkCanEnd", () => {
  function end(action: "reject" | "cancel", actor: string, actorIsApprover: boolean, request = aRequest()) {
    return checkCanEnd({ request, actor, actorIsApprover, action, now: NOW });
  }

  it("lets an approver reject", () => {
    expect(end("reject", ALICE, true)).toBeUndefined();
  });

  it("refuses a rejection by someone who is not an approver, pointing the requester to Cancel", () => {
    const error = said(end("reject", REQUESTER, false));
    expect(error?.code).toBe("NOT_APPROVER");
    expect(error?.message).toContain("use Cancel");
  });

  it("lets the requester cancel", () => {
    expect(end("cancel", REQUESTER, false)).toBeUndefined();
  });

  it("lets an approver cancel someone else's request", () => {
    expect(end("cancel", ALICE, true)).toBeUndefined();
  });

  it("refuses a cancellation by a bystander, naming the requester", () => {
    const error = said(end("cancel", CAROL, false));
    expect(error?.code).toBe("NOT_REQUESTER");
    expect(error?.message).toContain(`<@${REQUESTER}>`);
  });

  it.each(NOT_PENDING)("refuses to end a %s request", (state) => {
    expect(end("cancel", REQUESTER, true, aRequest({ state }))?.code).toBe("ALREADY_DECIDED");
    expect(end("reject", ALICE, true, aRequest({ state }))?.code).toBe("ALREADY_DECIDED");
  });

  it("refuses to end an expired request", () => {
    expect(
      checkCanEnd({ request: aRequest(), actor: REQUESTER, actorIsApprover: true, action: "cancel", now: EXPIRES_AT })
        ?.code,
    ).toBe("EXPIRED");
  });
});

describe("approvesOnRequest", () => {
  it("approves on request only for an approver allowed to self-approve when one approval is needed", () => {
    expect(
      approvesOnRequest({ requesterIsApprover: true, policy: { requiredApprovals: 1, allowSelfApproval: true } }),
    ).toBe(true);
  });

  it.each([
    [false, { requiredApprovals: 1, allowSelfApproval: true }],
    [true, { requiredApprovals: 1, allowSelfApproval: false }],
    [true, { requiredApprovals: 2, allowSelfApproval: true }],
  ])("needs a click otherwise (approver: %s, policy %j)", (requesterIsApprover, policy) => {
    expect(approvesOnRequest({ requesterIsApprover, policy })).toBe(false);
  });
});

describe("selfApprovalPossible", () => {
  it("is possible only when self-approval is allowed and one approval is needed: only then is the requester looked up", () => {
    expect(selfApprovalPossible({ requiredApprovals: 1, allowSelfApproval: true })).toBe(true);
    expect(selfApprovalPossible({ requiredApprovals: 1, allowSelfApproval: false })).toBe(false);
    expect(selfApprovalPossible({ requiredApprovals: 2, allowSelfApproval: true })).toBe(false);
  });
});
