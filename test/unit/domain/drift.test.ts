import { describe, expect, it } from "vitest";
import {
  compareApps,
  type DriftReport,
  driftBlocks,
  findingKey,
  skippedParts,
  uncovered,
} from "../../../src/domain/drift.js";
import type { AppSettings } from "../../../src/domain/ports.js";

const settings = (name: string, overrides: Partial<AppSettings> = {}): AppSettings => ({
  app: { id: `id-${name}`, name },
  configKeys: ["DATABASE_URL", "STRIPE_WEBHOOK_SECRET"],
  buildpacks: ["heroku/nodejs"],
  stack: "heroku-24",
  addons: [{ service: "heroku-postgresql", plan: "heroku-postgresql:essential-0" }],
  generation: "cedar",
  ...overrides,
});

describe("compareApps", () => {
  it("finds nothing between two apps set up alike, and nothing for config vars the target has on top", () => {
    const source = settings("staging");
    expect(
      compareApps(source, settings("prod", { configKeys: ["DATABASE_URL", "STRIPE_WEBHOOK_SECRET", "EXTRA"] }), []),
    ).toEqual([]);
  });

  it("names each config var the target lacks, buildpacks in order, stack, generation, missing add-ons and other plans", () => {
    const source = settings("staging", {
      configKeys: ["DATABASE_URL", "FEATURE_X", "STRIPE_WEBHOOK_SECRET"],
      buildpacks: ["heroku/nodejs", "heroku/ruby"],
      addons: [
        { service: "heroku-postgresql", plan: "heroku-postgresql:essential-0" },
        { service: "heroku-redis", plan: "heroku-redis:mini" },
      ],
    });
    const target = settings("prod", {
      configKeys: ["DATABASE_URL"],
      buildpacks: ["heroku/ruby", "heroku/nodejs"],
      stack: "heroku-22",
      generation: "fir",
      addons: [{ service: "heroku-postgresql", plan: "heroku-postgresql:standard-0" }],
    });
    expect(compareApps(source, target, [])).toEqual([
      { kind: "config", app: "prod", key: "FEATURE_X" },
      { kind: "config", app: "prod", key: "STRIPE_WEBHOOK_SECRET" },
      {
        kind: "buildpacks",
        app: "prod",
        source: ["heroku/nodejs", "heroku/ruby"],
        target: ["heroku/ruby", "heroku/nodejs"],
      },
      { kind: "stack", app: "prod", source: "heroku-24", target: "heroku-22" },
      { kind: "generation", app: "prod", source: "cedar", target: "fir" },
      {
        kind: "addon-plan",
        app: "prod",
        service: "heroku-postgresql",
        source: "heroku-postgresql:essential-0",
        target: "heroku-postgresql:standard-0",
      },
      { kind: "addon-missing", app: "prod", service: "heroku-redis", plan: "heroku-redis:mini" },
    ]);
  });

  it("leaves out the config vars and add-on services drift_ignore names", () => {
    const source = settings("staging", {
      configKeys: ["SENTRY_ENVIRONMENT", "X"],
      addons: [{ service: "papertrail", plan: "papertrail:choklad" }],
    });
    const target = settings("prod", { configKeys: [], addons: [] });
    expect(compareApps(source, target, ["SENTRY_ENVIRONMENT", "papertrail"])).toEqual([
      { kind: "config", app: "prod", key: "X" },
    ]);
  });

  it("skips config vars when either side's names cannot be read, and says which app", () => {
    const source = settings("staging");
    const target = settings("prod", { configKeys: null });
    expect(compareApps(source, target, [])).toEqual([]);
    expect(skippedParts(source, [target])).toEqual(["the token cannot read config vars of prod"]);
  });
});

describe("overrides", () => {
  const findings = compareApps(
    settings("staging", { configKeys: ["A", "B"] }),
    settings("prod", { configKeys: [] }),
    [],
  );
  const report = (override: DriftReport["override"]): DriftReport => ({
    checkedAt: "t",
    findings,
    skipped: [],
    override,
  });

  it("block stops on any finding no override covers; warn never does", () => {
    expect(driftBlocks("block", report(null))).toBe(true);
    expect(driftBlocks("warn", report(null))).toBe(false);
    expect(driftBlocks("block", null)).toBe(false);
    expect(driftBlocks("block", { ...report(null), findings: [] })).toBe(false);
  });

  it("an override covers the findings it was given for, not one found later", () => {
    const all = { by: "U1", reason: "on purpose", at: "t", findings: findings.map(findingKey) };
    expect(driftBlocks("block", report(all))).toBe(false);
    const partial = { ...all, findings: [findingKey(findings[0]!)] };
    expect(uncovered(report(partial))).toEqual([findings[1]]);
    expect(driftBlocks("block", report(partial))).toBe(true);
  });
});
