/**
 * `npm run test:model`: the model-based test's long run. Runs MODEL_HISTORIES histories (default
 * 2,000, split over the variants) in batches of MODEL_BATCH, each batch with its own seed, so that a
 * failing history is reported and the run goes on; then prints histories run, faults injected by kind
 * and violations found, and fails if any was found.
 *
 * Settings (environment):
 * - MODEL_HISTORIES, MODEL_BATCH (default 100), MODEL_MAX_COMMANDS (default 10)
 * - MODEL_VARIANTS: comma-separated names to run (default: every in-process variant, plus the
 *   two-process PostgreSQL variant when TEST_DATABASE_URL is set)
 * - MODEL_KNOWN_DEFECTS=1: also inject the fault kinds left out as known defects (KNOWN_DEFECT_KINDS);
 *   or a comma-separated list of those kinds, to inject only them
 * - MODEL_SHRINK=0: report a failing history as found instead of shrinking it
 * - MODEL_SEED, MODEL_PATH and MODEL_COMMANDS_PATH: replay one failing history (as printed), and
 *   nothing else; with the same MODEL_VARIANTS, MODEL_KNOWN_DEFECTS and MODEL_MAX_COMMANDS (printed too)
 * - MODEL_VERBOSE=1: print every history; MODEL_LOGS=<file>: write the bot log of a failing one there
 */
import { describe, expect, it } from "vitest";
import { postgresDatabase, TEST_DATABASE_URL } from "../support/databases.js";
import { inProcessRunner, processRunner } from "./bot-runner.js";
import type { FaultKind } from "./commands.js";
import {
  ALWAYS_FROZEN,
  envSettings,
  KNOWN_DEFECT_KINDS,
  type RunSummary,
  replayVariables,
  report,
  runHistories,
  type Variant,
  webhookTroubles,
} from "./run-histories.js";

const ALL_VARIANTS: Variant[] = [
  { name: "two-approvals", pipeline: { requiredApprovals: 2 }, start: inProcessRunner, bots: 1, runtimeFreeze: true },
  {
    name: "self-approval",
    pipeline: { requiredApprovals: 1, allowSelfApproval: true },
    start: inProcessRunner,
    bots: 1,
    runtimeFreeze: true,
  },
  {
    name: "freeze-window",
    pipeline: { requiredApprovals: 1, freeze: ALWAYS_FROZEN },
    start: inProcessRunner,
    bots: 1,
  },
  {
    name: "heroku-webhooks",
    pipeline: { requiredApprovals: 1 },
    start: (pipeline) => inProcessRunner(pipeline, { herokuEvents: true }),
    bots: 1,
    beforeHistory: webhookTroubles,
  },
  {
    name: "two-processes-postgres",
    pipeline: { requiredApprovals: 2 },
    start: async (pipeline) => processRunner(pipeline, await postgresDatabase(), 2),
    bots: 2,
  },
];

const env = process.env;
const wanted = env.MODEL_VARIANTS?.split(",").map((s) => s.trim());
const variants = ALL_VARIANTS.filter((v) =>
  wanted ? wanted.includes(v.name) : v.name !== "two-processes-postgres" || TEST_DATABASE_URL !== undefined,
);
const total = Number(env.MODEL_HISTORIES ?? 2_000);
const batch = Number(env.MODEL_BATCH ?? 100);
const maxCommands = Number(env.MODEL_MAX_COMMANDS ?? 10);
// MODEL_KNOWN_DEFECTS=1 injects every known-defect kind too; a comma-separated list, only those.
const knownDefects = env.MODEL_KNOWN_DEFECTS;
const exclude =
  knownDefects === "1"
    ? new Set<string>()
    : new Set([...KNOWN_DEFECT_KINDS].filter((k) => !(knownDefects ?? "").split(",").includes(k)));
const replay = envSettings();
const print = (line: string) => console.log(line);
/** The settings a replay needs besides the seed and path (they change what histories are generated). */
const replayCommand = (variant: Variant) =>
  [
    `MODEL_VARIANTS=${variant.name}`,
    ...(knownDefects ? [`MODEL_KNOWN_DEFECTS=${knownDefects}`] : []),
    ...(env.MODEL_MAX_COMMANDS ? [`MODEL_MAX_COMMANDS=${env.MODEL_MAX_COMMANDS}`] : []),
    "npm run test:model",
  ].join(" ");

describe("model-based test, long run", () => {
  it(`${total} histories over ${variants.map((v) => v.name).join(", ")}`, async () => {
    const summaries: RunSummary[] = [];
    if (replay.seed !== undefined) {
      const variant = variants[0]!;
      summaries.push(
        await runHistories({
          variant,
          histories: 1,
          maxCommands,
          boundMs: 30_000,
          exclude,
          shrink: true,
          print,
          replayCommand: replayCommand(variant),
          ...replay,
        }),
      );
    } else {
      const perVariant = Math.ceil(total / variants.length);
      const baseSeed = Date.now() % 1_000_000_000;
      for (const variant of variants) {
        let done = 0;
        while (done < perVariant) {
          const histories = Math.min(batch, perVariant - done);
          const summary = await runHistories({
            variant,
            histories,
            maxCommands,
            boundMs: 30_000,
            exclude,
            shrink: env.MODEL_SHRINK !== "0",
            seed: baseSeed + summaries.length,
            print,
            replayCommand: replayCommand(variant),
          });
          summaries.push(summary);
          // A failing batch stops at its failing history; the next batch goes on from there.
          done += summary.histories;
        }
      }
    }
    const faults: Partial<Record<FaultKind, number>> = {};
    for (const s of summaries) {
      for (const [k, n] of Object.entries(s.faults)) faults[k as FaultKind] = (faults[k as FaultKind] ?? 0) + n;
    }
    const failing = summaries.filter((s) => s.failure);
    print("=== model-based test: totals ===");
    report(
      {
        variant: "all",
        histories: summaries.reduce((n, s) => n + s.histories, 0),
        executions: summaries.reduce((n, s) => n + s.executions, 0),
        faults,
        activity: {
          requests: summaries.reduce((n, s) => n + s.activity.requests, 0),
          approved: summaries.reduce((n, s) => n + s.activity.approved, 0),
          promotions: summaries.reduce((n, s) => n + s.activity.promotions, 0),
          herokuEvents: summaries.reduce((n, s) => n + s.activity.herokuEvents, 0),
        },
        violations: summaries.flatMap((s) => s.violations),
        durationMs: summaries.reduce((n, s) => n + s.durationMs, 0),
      },
      print,
    );
    print(
      `failing histories: ${failing.length}${exclude.size ? ` (left out as known defects: ${[...exclude].join(", ")})` : ""}`,
    );
    for (const s of failing) {
      print(`  ${replayVariables(s.failure!)} ${replayCommand(variants.find((v) => v.name === s.variant)!)}`);
      for (const v of s.violations) print(`    [${v.invariant}] ${v.message}`);
    }
    expect(failing.map((s) => s.failure)).toEqual([]);
  });
});
