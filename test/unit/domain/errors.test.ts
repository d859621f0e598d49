import { describe, expect, it } from "vitest";
import { DomainError, isDomainError } from "../../../src/domain/errors.js";

describe("DomainError", () => {
  it("captures no stack frames for a refusal, which is an expected answer", () => {
    const refusal = new DomainError("NOT_APPROVER", "Only the approvers can approve.");
    expect(refusal.kind).toBe("refusal");
    expect(refusal.stack).toBe("DomainError: Only the approvers can approve.");
    expect(refusal.message).toBe("Only the approvers can approve.");
    expect(isDomainError(refusal, "NOT_APPROVER")).toBe(true);
  });

  it("keeps the stack of a dependency failure, and leaves other errors' stacks alone", () => {
    const failure = new DomainError("HEROKU_UNAVAILABLE", "Heroku did not answer.", { retryable: true });
    expect(failure.kind).toBe("dependency");
    expect(failure.stack?.split("\n").length).toBeGreaterThan(1);
    expect(failure.stack).toContain("errors.test.ts");
    new DomainError("EXPIRED", "expired");
    expect(new Error("unexpected").stack?.split("\n").length).toBeGreaterThan(1);
  });
});
