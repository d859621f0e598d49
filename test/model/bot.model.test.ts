/**
 * The model-based test of the whole bot (issue 13), `npm test` tier: a fixed, small number of random
 * histories against one real in-process bot on SQLite, with the stand-ins in their fault modes; the
 * invariants are checked after every history against the stand-ins' own records. `npm run test:model`
 * runs many more (test/model/long-run.model.ts).
 *
 * A failure prints the history's seed and path; replay it with
 *   MODEL_SEED=<seed> MODEL_PATH=<path> npx vitest run test/model/bot.model.test.ts
 */
import { describe, expect, it } from "vitest";
import { APPROVER_A, REQUESTER } from "../support/harness.js";
import { inProcessRunner } from "./bot-runner.js";
import { Decide, HistoryRun, RequestPromotion, Ship } from "./commands.js";
import { checkInvariants, type HistoryRecords, shownStateOf } from "./invariants.js";
import {
  ALWAYS_FROZEN,
  envSettings,
  KNOWN_DEFECT_KINDS,
  runHistories,
  type Variant,
  webhookTroubles,
} from "./run-histories.js";

const HISTORIES = Number(process.env.MODEL_NPM_HISTORIES ?? 8);
/**
 * The npm tier runs the same histories every time (seed 13, for the issue), so that main stays green
 * unless the bot changes; `npm run test:model` draws new ones on every run. MODEL_SEED overrides it.
 */
const NPM_SEED = 13;

const VARIANTS: Variant[] = [
  {
    name: "two approvals",
    pipeline: { requiredApprovals: 2, allowSelfApproval: false },
    start: inProcessRunner,
    bots: 1,
    runtimeFreeze: true,
  },
  {
    name: "one approval, self-approval allowed",
    pipeline: { requiredApprovals: 1, allowSelfApproval: true },
    start: inProcessRunner,
    bots: 1,
    runtimeFreeze: true,
  },
  {
    name: "inside a freeze window",
    pipeline: { requiredApprovals: 1, freeze: ALWAYS_FROZEN },
    start: inProcessRunner,
    bots: 1,
  },
  {
    name: "Heroku webhooks set up (duplicated, out of order, missed)",
    pipeline: { requiredApprovals: 1, allowSelfApproval: false },
    start: (pipeline) => inProcessRunner(pipeline, { herokuEvents: true }),
    bots: 1,
    beforeHistory: webhookTroubles,
  },
];

describe("the invariant checker", () => {
  const release = "rel-5";
  const base: HistoryRecords = {
    requests: [
      {
        ts: "1.1",
        requester: "U0REQUESTER",
        releaseId: release,
        releaseVersion: 5,
        askedAtStep: 1,
        approvedAtStep: 2,
        approvalNote: "",
      },
    ],
    promotions: [
      {
        id: "p1",
        sourceReleaseId: release,
        createdAtStep: 2,
        targets: [{ appId: "prod", status: "succeeded", releaseId: "r9" }],
      },
    ],
    productionReleases: [{ id: "r9", version: 9, status: "succeeded", description: "Promote whitewave-staging v5" }],
    messages: [{ ts: "1.1", shownState: "succeeded" }],
  };

  it("finds nothing wrong in one approved request promoted once and shown succeeded", () => {
    expect(checkInvariants(base)).toEqual([]);
  });

  it("catches a second promotion for one approval", () => {
    const records: HistoryRecords = {
      ...base,
      promotions: [
        ...base.promotions,
        {
          id: "p2",
          sourceReleaseId: release,
          createdAtStep: 3,
          targets: [{ appId: "prod", status: "succeeded", releaseId: "r10" }],
        },
      ],
      productionReleases: [
        ...base.productionReleases,
        { id: "r10", version: 10, status: "succeeded", description: "Promote whitewave-staging v5" },
      ],
    };
    expect(checkInvariants(records).map((v) => v.invariant)).toEqual(["at-most-once"]);
  });

  it("catches a promotion made before the approvals were complete, and one with no request at all", () => {
    const early = { ...base, promotions: [{ ...base.promotions[0]!, createdAtStep: 1 }] };
    expect(checkInvariants(early).map((v) => v.invariant)).toContain("approved-before-change");
    const unapproved: HistoryRecords = {
      ...base,
      requests: [{ ...base.requests[0]!, approvedAtStep: null, approvalNote: "1 of 2 approvals" }],
      messages: [{ ts: "1.1", shownState: "succeeded" }],
    };
    expect(checkInvariants(unapproved).map((v) => v.invariant)).toEqual([
      "approved-before-change",
      "ends-terminal",
      "honest-outcome",
    ]);
  });

  it("catches a production release that no promotion made (a rollback or a stray POST)", () => {
    const records = {
      ...base,
      productionReleases: [
        ...base.productionReleases,
        { id: "rx", version: 10, status: "succeeded", description: "Rollback to v8" },
      ],
    };
    expect(checkInvariants(records).map((v) => v.invariant)).toEqual(["exact-release"]);
  });

  it("catches 'succeeded' when the target failed, 'failed' when production changed, and an approved request left promoting", () => {
    const failedTarget: HistoryRecords = {
      ...base,
      promotions: [{ ...base.promotions[0]!, targets: [{ appId: "prod", status: "failed", releaseId: "r9" }] }],
    };
    expect(checkInvariants(failedTarget).map((v) => v.invariant)).toEqual(["honest-outcome"]);
    const falseFailure = { ...base, messages: [{ ts: "1.1", shownState: "failed" }] };
    expect(checkInvariants(falseFailure).map((v) => v.invariant)).toEqual(["honest-outcome"]);
    const stuck = { ...base, messages: [{ ts: "1.1", shownState: "promoting" }] };
    expect(checkInvariants(stuck).map((v) => v.invariant)).toEqual(["ends-terminal"]);
  });

  it("catches a promotion that overwrote a hotfix made after the request, and accepts the hotfix itself", () => {
    const records: HistoryRecords = {
      ...base,
      promotions: [{ ...base.promotions[0]!, createdAtStep: 3 }],
      productionReleases: [
        { id: "hf", version: 8, status: "succeeded", description: "Deploy fffffff" },
        ...base.productionReleases,
      ],
      hotfixes: [{ step: 2, releaseId: "hf" }],
    };
    expect(checkInvariants(records).map((v) => v.invariant)).toEqual(["no-overwrite"]);
    expect(checkInvariants({ ...records, hotfixes: [{ step: 3, releaseId: "hf" }] })).toEqual([]);
  });

  it("catches one request shown in two messages", () => {
    const records: HistoryRecords = {
      ...base,
      requests: [
        { ...base.requests[0]!, requestId: "id-1" },
        { ...base.requests[0]!, ts: "1.2", requestId: "id-1", approvedAtStep: null, approvalNote: "" },
      ],
      messages: [...base.messages, { ts: "1.2", shownState: "pending" }],
    };
    expect(checkInvariants(records).map((v) => v.invariant)).toEqual(["one-message"]);
  });

  it("reads the state from a request message's text", () => {
    expect(shownStateOf("whitewave: succeeded — whitewave-staging v5 (abcdef12) to whitewave-prod")).toBe("succeeded");
    expect(shownStateOf("whitewave: promotion partly failed — whitewave-staging v5 (abcdef12) to x")).toBe(
      "partly-failed",
    );
    expect(shownStateOf("whitewave: v5 approved")).toBeUndefined();
  });
});

describe("the whole check against the real bot", () => {
  it("flags a production change the people did not approve, read from the Heroku stand-in's own records", async () => {
    const runner = await inProcessRunner({ requiredApprovals: 2 });
    try {
      const run = new HistoryRun(runner, { requiredApprovals: 2, allowSelfApproval: false });
      for (const step of [
        new Ship(0, 0),
        new RequestPromotion(REQUESTER, false, 0),
        new Decide(APPROVER_A, "approve", 0, 0),
      ]) {
        await step.run({ run }, run);
      }
      // What a bot that promoted on the first of two approvals would do: POST the promotion itself.
      const { heroku, ids } = runner.world;
      const staged = heroku.currentRelease(ids.staging)!;
      const response = await fetch(`${heroku.url}/pipeline-promotions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${runner.world.env.HEROKU_API_TOKEN}`,
          "content-type": "application/json",
          accept: "application/vnd.heroku+json; version=3",
        },
        body: JSON.stringify({
          pipeline: { id: ids.pipeline },
          source: { app: { id: ids.staging }, release: { id: staged.id } },
          targets: [{ app: { id: ids.production } }],
        }),
      });
      expect(response.status).toBe(201);
      await run.endStep("a rogue promotion");
      await run.wrapUp(10_000);
      const violations = checkInvariants(run.records());
      expect(violations.map((v) => v.invariant)).toContain("approved-before-change");
    } finally {
      await runner.close();
    }
  }, 60_000);
});

describe("random histories against the real bot", () => {
  for (const variant of VARIANTS) {
    it(`${variant.name}: ${HISTORIES} histories keep every invariant`, async () => {
      const summary = await runHistories({
        variant,
        histories: HISTORIES,
        maxCommands: 10,
        boundMs: 20_000,
        exclude: KNOWN_DEFECT_KINDS,
        shrink: true,
        replayCommand: `npx vitest run test/model/bot.model.test.ts -t "${variant.name}"`,
        seed: NPM_SEED,
        ...envSettings(),
        print: (line) => console.log(line),
      });
      expect(summary.violations).toEqual([]);
      expect(summary.histories).toBe(HISTORIES);
    }, 240_000);
  }
});
