import { describe, expect, it } from "vitest";
import { isActive, isExpired, outcomeState, shortSha } from "../../../src/domain/request.js";
import { aTarget, EXPIRES_AT } from "../builders.js";

describe("outcomeState", () => {
  it("succeeds when every target succeeded", () => {
    expect(outcomeState({ targets: [aTarget(), aTarget({ app: { id: "a2", name: "eu" } })], error: null })).toBe(
      "succeeded",
    );
  });

  it("fails when one target of several failed (a partial failure)", () => {
    expect(outcomeState({ targets: [aTarget(), aTarget({ status: "failed" })], error: null })).toBe("failed");
  });

  it("fails when a target never finished", () => {
    expect(outcomeState({ targets: [aTarget({ status: "pending" })], error: null })).toBe("failed");
  });

  it("fails when the promotion could not run at all, whatever the targets say", () => {
    expect(outcomeState({ targets: [aTarget()], error: "Heroku refused the promotion" })).toBe("failed");
  });

  it("fails when there is no target", () => {
    expect(outcomeState({ targets: [], error: null })).toBe("failed");
  });
});

describe("isExpired", () => {
  it("expires a pending request at its expiry time, not before", () => {
    expect(isExpired({ state: "pending", expiresAt: EXPIRES_AT }, new Date(EXPIRES_AT.getTime() - 1))).toBe(false);
    expect(isExpired({ state: "pending", expiresAt: EXPIRES_AT }, EXPIRES_AT)).toBe(true);
  });

  it("never expires a request that is no longer pending", () => {
    const later = new Date(EXPIRES_AT.getTime() + 86_400_000);
    for (const state of ["promoting", "succeeded", "failed", "rejected", "cancelled"] as const) {
      expect(isExpired({ state, expiresAt: EXPIRES_AT }, later)).toBe(false);
    }
  });
});

describe("isActive", () => {
  it("counts pending and promoting as active, the final states not", () => {
    expect(isActive("pending")).toBe(true);
    expect(isActive("promoting")).toBe(true);
    for (const state of ["succeeded", "failed", "rejected", "cancelled", "expired"] as const) {
      expect(isActive(state)).toBe(false);
    }
  });
});

describe("shortSha", () => {
  it("keeps the first 8 characters", () => {
    expect(shortSha("9f2c4e81b7a05d3c6e1f")).toBe("9f2c4e81");
  });
});
