import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/domain/errors.js";
import { errorText } from "../../../src/views/error-text.js";

describe("errorText", () => {
  it("escapes an adapter's plain text, which may quote a provider, so that it can neither mention nor format", () => {
    const error = new DomainError("HEROKU_REJECTED", "Heroku refused the call (422): <!channel> *bold* & <@U1>", {
      plain: true,
      status: 422,
    });
    expect(errorText(error)).toBe("Heroku refused the call (422): &lt;!channel&gt; *bold* &amp; &lt;@U1&gt;");
  });

  it("keeps a refusal the bot wrote in mrkdwn, and escapes anything unexpected", () => {
    expect(errorText(new DomainError("LOCKED", "*whitewave* is locked by <@U1>"))).toBe(
      "*whitewave* is locked by <@U1>",
    );
    expect(errorText(new Error("boom <!here>"))).toBe("boom &lt;!here&gt;");
  });
});

describe("DomainError", () => {
  it("carries retryability and the provider's Retry-After as typed fields, and says whose doing it is", () => {
    const outage = new DomainError("HEROKU_UNAVAILABLE", "Heroku answered 503", {
      retryable: true,
      retryAfterMs: 2_000,
    });
    expect([outage.retryable, outage.retryAfterMs, outage.kind]).toEqual([true, 2_000, "dependency"]);
    const refusal = new DomainError("NOT_APPROVER", "Only approvers");
    expect([refusal.retryable, refusal.retryAfterMs, refusal.kind]).toEqual([false, undefined, "refusal"]);
  });
});
