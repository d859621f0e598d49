import { describe, expect, it } from "vitest";
import type { DriftReport } from "../../../src/domain/drift.js";
import { driftLines, driftRefusal, driftSummary } from "../../../src/views/drift-text.js";

const report = (overrides: Partial<DriftReport> = {}): DriftReport => ({
  checkedAt: "2026-12-04T10:00:00.000Z",
  findings: [
    { kind: "config", app: "whitewave-prod", key: "STRIPE_WEBHOOK_SECRET" },
    { kind: "config", app: "whitewave-prod", key: "FEATURE_X" },
    { kind: "buildpacks", app: "whitewave-prod", source: ["heroku/nodejs"], target: ["heroku/nodejs", "heroku/ruby"] },
  ],
  skipped: [],
  override: null,
  ...overrides,
});

describe("drift text", () => {
  it("says each target's differences on one line, config var names first", () => {
    expect(driftSummary(report().findings)).toEqual([
      "whitewave-prod lacks `STRIPE_WEBHOOK_SECRET`, `FEATURE_X`; buildpacks heroku/nodejs vs heroku/nodejs + heroku/ruby",
    ]);
  });

  it("names at most 12 config vars and counts the rest", () => {
    const findings = Array.from({ length: 15 }, (_, i) => ({ kind: "config" as const, app: "p", key: `K${i}` }));
    expect(driftSummary(findings)[0]).toMatch(/`K11` and 3 more$/);
  });

  it("with warn only shows; with block says approvals are refused and how to override", () => {
    expect(driftLines(report(), "warn", "whitewave").join("\n")).not.toMatch(/refused/);
    const blocked = driftLines(report(), "block", "whitewave").join("\n");
    expect(blocked).toMatch(/^:no_entry:/);
    expect(blocked).toContain('`/promote whitewave --override "reason"`');
  });

  it("shows who overrode it and why, and what was skipped, escaped", () => {
    const lines = driftLines(
      report({
        override: { by: "U0APPROVERA", reason: "<!channel> known", at: "t", findings: [] },
        skipped: ["the token cannot read config vars of whitewave-prod"],
      }),
      "block",
      "whitewave",
    );
    expect(lines).toContain("Drift overridden by <@U0APPROVERA>: “&lt;!channel&gt; known”");
    expect(lines).toContain("Drift check skipped: the token cannot read config vars of whitewave-prod.");
  });

  it("refuses with what the override does not cover, and says nothing was changed before acting", () => {
    const text = driftRefusal(report(), "whitewave", "promote");
    expect(text).toMatch(/^Not promoted: drift appeared since this request was approved/);
    expect(text).toContain("Nothing was changed.");
  });
});
