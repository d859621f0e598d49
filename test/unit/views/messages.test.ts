import { describe, expect, it } from "vitest";
import type { FreezeWindow } from "../../../src/domain/freeze.js";
import { closedGates, overrideKeys } from "../../../src/domain/gate.js";
import type { ChatMessage } from "../../../src/domain/ports.js";
import type { PromotionRequest, RequestState } from "../../../src/domain/request.js";
import { ACTIONS } from "../../../src/views/action-ids.js";
import { MAX_SECTION } from "../../../src/views/blocks.js";
import type { BehindView, PipelineView } from "../../../src/views/models.js";
import { helpMessage, refusal, requestCreatedReply, rollbackCreatedReply } from "../../../src/views/replies.js";
import { requestMessage } from "../../../src/views/request-message.js";
import {
  alreadyInProductionMessage,
  ciFailedMessage,
  processingFailedMessage,
  stagingNotDeployedMessage,
  stagingReadyMessage,
  supersededMessage,
} from "../../../src/views/staging-messages.js";
import { decisionReply, outcomeReply } from "../../../src/views/thread-replies.js";
import { aCandidate, anApproval, aRequest, aTarget, CREATED_AT, REQUESTER } from "../builders.js";

type Json = Record<string, unknown>;

const pipeline: PipelineView = {
  name: "whitewave",
  from: "staging",
  to: "production",
  approverUsers: ["U0AAAAAAA"],
  approverGroups: ["S0BBBBBBB"],
  requiredApprovals: 1,
  drift: "warn",
};
const NOW = new Date("2025-03-04T11:00:00Z");
const HOSTILE = "<!channel> hi <@U123>";
const STATES: RequestState[] = ["pending", "promoting", "succeeded", "failed", "rejected", "cancelled", "expired"];

/** Every string Slack renders: the fallback and each `text` (string or text object) at any depth. */
function allTexts(message: ChatMessage): string[] {
  const out = [message.text];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      for (const [key, value] of Object.entries(node)) {
        if (key === "text" && typeof value === "string") out.push(value);
        else walk(value);
      }
    }
  };
  walk(message.blocks);
  return out;
}

function blocksOf(message: ChatMessage): Json[] {
  return message.blocks as Json[];
}

function sectionTexts(message: ChatMessage): string[] {
  return blocksOf(message)
    .filter((b) => b.type === "section")
    .map((b) => (b.text as { text: string }).text);
}

function buttonsOf(message: ChatMessage): Json[] {
  return blocksOf(message)
    .filter((b) => b.type === "actions")
    .flatMap((b) => b.elements as Json[]);
}

function rendered(message: ChatMessage): string {
  return allTexts(message).join("\n");
}

function expectNoRawMention(message: ChatMessage): void {
  for (const text of allTexts(message)) {
    expect(text).not.toContain("<!channel>");
    expect(text).not.toContain("<@U123>");
  }
}

function expectWithinLimits(message: ChatMessage): void {
  expect(message.text.length).toBeLessThanOrEqual(3_000);
  expect(message.blocks.length).toBeLessThanOrEqual(50);
  for (const text of allTexts(message)) expect(text.length).toBeLessThanOrEqual(MAX_SECTION);
}

function failedRequest(overrides: Partial<PromotionRequest> = {}): PromotionRequest {
  return aRequest({
    state: "failed",
    promotionStartedAt: new Date("2025-03-04T10:10:00Z"),
    finishedAt: new Date("2025-03-04T10:11:35Z"),
    outcome: {
      targets: [
        aTarget({
          status: "failed",
          releaseVersion: null,
          errorMessage: "Release command failed",
          outputTail: "rake aborted!\nPG::UndefinedTable <users>",
        }),
      ],
      error: null,
    },
    ...overrides,
  });
}

function messageIn(state: RequestState, overrides: Partial<PromotionRequest> = {}): ChatMessage {
  const request = state === "failed" ? failedRequest(overrides) : aRequest({ state, ...overrides });
  return requestMessage({ request, approvals: [anApproval("UALICE")], pipeline, now: NOW });
}

describe("stagingReadyMessage", () => {
  const ready = (overrides: Partial<Parameters<typeof stagingReadyMessage>[0]> = {}) =>
    stagingReadyMessage({
      pipeline,
      candidate: aCandidate(),
      targets: [{ app: { id: "app-prod", name: "whitewave-prod" }, releaseVersion: 98, commit: "3b1d5f7a9c0e2f4a" }],
      behind: null,
      ...overrides,
    });

  it("has exactly one primary Promote button whose value is the candidate id", () => {
    const buttons = buttonsOf(ready());
    expect(buttons).toHaveLength(1);
    expect(buttons[0]).toMatchObject({
      action_id: ACTIONS.promote,
      value: "cand_01",
      style: "primary",
      text: { type: "plain_text", text: "Promote to production" },
    });
  });

  it("shows the release, the commit, the CI pipeline and what production runs", () => {
    const text = rendered(ready());
    expect(text).toContain("*whitewave*: staging is ready to promote");
    expect(text).toContain("whitewave-staging v41");
    expect(text).toContain("`9f2c4e81` Retry card authorisation once on gateway timeout · _Dana Reyes_");
    expect(text).toContain("<https://gitlab.example.com/acme/whitewave/-/pipelines/1187|pipeline #1187> passed");
    expect(text).toContain("*production runs:* whitewave-prod v98 (`3b1d5f7a`)");
  });

  it("says when production has no app", () => {
    expect(rendered(ready({ targets: [] }))).toContain("*production:* no app");
  });

  it("says when production is not behind", () => {
    expect(rendered(ready({ behind: { count: 0, commits: [], compareUrl: "https://g.example/c" } }))).toContain(
      "*production is not behind.*",
    );
  });

  it("lists the five newest commits production lacks and links the rest", () => {
    const behind: BehindView = {
      count: 7,
      commits: Array.from({ length: 7 }, (_, i) => ({
        sha: `${i}`.repeat(40),
        title: `commit ${i}`,
        authorName: "Dana",
        webUrl: null,
      })),
      compareUrl: "https://g.example/compare",
    };
    const text = rendered(ready({ behind }));
    expect(text).toContain("*production is 7 commits behind* (<https://g.example/compare|compare>):");
    expect(text).toContain("<https://g.example/compare|and 2 more commits>");
    const listed = [...text.matchAll(/commit (\d)/g)].map((m) => m[1]);
    expect(listed).toEqual(["6", "5", "4", "3", "2"]);
  });

  it("fits a notification text naming the version, commit and target", () => {
    expect(ready().text).toBe("whitewave: staging v41 (9f2c4e81) is ready to promote to production");
  });

  it("never lets a commit title or author ping or mention anyone", () => {
    const message = ready({ candidate: aCandidate({ commitTitle: HOSTILE, commitAuthor: HOSTILE }) });
    expectNoRawMention(message);
    expect(rendered(message)).toContain("&lt;!channel&gt; hi &lt;@U123&gt;");
  });

  it("keeps every section within 3,000 characters with a 10,000-character commit title", () => {
    const message = ready({ candidate: aCandidate({ commitTitle: `<&>${"x".repeat(10_000)}` }) });
    expectWithinLimits(message);
    expect(buttonsOf(message)).toHaveLength(1);
  });
});

describe("requestMessage", () => {
  it("offers Approve, Reject and Cancel on a pending request, each carrying the request id", () => {
    const buttons = buttonsOf(messageIn("pending"));
    expect(buttons.map((b) => [b.action_id, b.value, b.style])).toEqual([
      [ACTIONS.approve, "req_01", "primary"],
      [ACTIONS.reject, "req_01", "danger"],
      [ACTIONS.cancel, "req_01", undefined],
    ]);
  });

  it("shows who can approve as user and user-group mentions", () => {
    expect(rendered(messageIn("pending"))).toContain("*Can approve:* <@U0AAAAAAA>, <!subteam^S0BBBBBBB>");
  });

  it("says when nobody is configured to approve", () => {
    const message = requestMessage({
      request: aRequest(),
      approvals: [],
      pipeline: { ...pipeline, approverUsers: [], approverGroups: [] },
      now: NOW,
    });
    expect(rendered(message)).toContain("*Can approve:* nobody configured");
  });

  it("counts the approvals so far and names who gave them", () => {
    const message = requestMessage({
      request: aRequest({ requiredApprovals: 2 }),
      approvals: [anApproval("UALICE")],
      pipeline,
      now: NOW,
    });
    expect(rendered(message)).toContain("*Approvals:* 1 of 2 (<@UALICE>)");
    expect(rendered(requestMessage({ request: aRequest(), approvals: [], pipeline, now: NOW }))).toContain(
      "*Approvals:* 0 of 1\n",
    );
  });

  it("shows the requester, the release, the commit, the targets and how far behind production is", () => {
    const text = rendered(messageIn("pending"));
    expect(text).toContain(`*Requested by* <@${REQUESTER}> <!date^`);
    expect(text).toContain("*Release:* whitewave-staging v41");
    expect(text).toContain("*Commit:* `9f2c4e81` Retry card authorisation");
    expect(text).toContain("*Targets:* whitewave-prod");
    expect(text).toContain("*production is 2 commits behind*");
    expect(text).toContain("*Expires* <!date^");
  });

  it.each(STATES.filter((s) => s !== "pending" && s !== "succeeded"))(
    "has no buttons once the request is %s",
    (state) => {
      const message = messageIn(state);
      expect(buttonsOf(message)).toEqual([]);
      expect(blocksOf(message).some((b) => b.type === "actions")).toBe(false);
    },
  );

  it("offers only a Rollback button once a promotion succeeded, carrying the request id, with a confirmation", () => {
    const message = messageIn("succeeded");
    const buttons = buttonsOf(message) as Array<{ action_id: string; value: string; confirm?: unknown }>;
    expect(buttons.map((b) => b.action_id)).toEqual([ACTIONS.rollback]);
    expect(buttons[0]?.value).toBe(aRequest().id);
    expect(buttons[0]?.confirm).toBeDefined();
  });

  it.each([
    ["pending", ":raising_hand: Promotion requested"],
    ["promoting", ":rocket: Promoting"],
    ["succeeded", ":tada: Promoted"],
    ["failed", ":rotating_light: Promotion failed"],
    ["rejected", ":no_entry: Rejected"],
    ["cancelled", ":heavy_multiplication_x: Cancelled"],
    ["expired", ":hourglass: Expired"],
  ] as const)("heads a %s request with %j", (state, headline) => {
    expect(sectionTexts(messageIn(state))[0]).toBe(`${headline}: *whitewave* staging v41 → production`);
  });

  it("shows a failed target's error message and the tail of its release output, escaped", () => {
    const text = rendered(messageIn("failed"));
    expect(text).toContain(":x: whitewave-prod failed: Release command failed");
    expect(text).toContain("```rake aborted!\nPG::UndefinedTable &lt;users&gt;```");
    expect(text).toContain("Finished <!date^");
    expect(text).toContain("after 95 s");
  });

  it("keeps release output from closing its code block", () => {
    const message = messageIn("failed", {
      outcome: { targets: [aTarget({ status: "failed", outputTail: "a```b" })], error: null },
    });
    expect(rendered(message)).toContain("```a'''b```");
  });

  it("shows why a promotion could not run at all", () => {
    // outcome.error is a DomainError message: mrkdwn the bot wrote, with external text already escaped.
    const message = messageIn("failed", { outcome: { targets: [], error: "Heroku &lt;refused&gt; it" } });
    expect(rendered(message)).toContain("*Reason:* Heroku &lt;refused&gt; it");
  });

  it("labels a promotion where some targets succeeded and others failed as partly failed", () => {
    const message = messageIn("failed", {
      outcome: {
        targets: [
          aTarget({ app: { id: "a1", name: "whitewave-us" } }),
          aTarget({ app: { id: "a2", name: "whitewave-eu" }, status: "failed", errorMessage: "boom" }),
        ],
        error: null,
      },
    });
    expect(sectionTexts(message)[0]).toBe(
      ":rotating_light: Promotion partly failed: *whitewave* staging v41 → production",
    );
    expect(message.text).toContain("promotion partly failed");
    const text = rendered(message);
    expect(text).toContain(":white_check_mark: whitewave-us now runs v99");
    expect(text).toContain(":x: whitewave-eu failed: boom");
  });

  it("does not call a promotion where every target failed partly failed", () => {
    const message = messageIn("failed", {
      outcome: { targets: [aTarget({ status: "failed" }), aTarget({ status: "pending" })], error: null },
    });
    expect(rendered(message)).not.toContain("partly");
    expect(rendered(message)).toContain("did not finish");
  });

  it("says who rejected the request and why", () => {
    const message = messageIn("rejected", { decidedBy: "UBOB", reason: "not <today>" });
    expect(rendered(message)).toContain("Rejected by <@UBOB>: not &lt;today&gt;");
  });

  it("says a request expired with how many approvals it had", () => {
    expect(rendered(messageIn("expired"))).toContain("with 1 of 1 approvals. Ask again with `/promote whitewave`");
  });

  it("says what production runs after a success", () => {
    const message = messageIn("succeeded", { outcome: { targets: [aTarget()], error: null } });
    expect(rendered(message)).toContain(":white_check_mark: whitewave-prod now runs v99");
    expect(rendered(message)).toContain("Approved by <@UALICE>");
  });

  it.each(STATES)(
    "shows, in every state, who overrode which lock and freeze window for the request, and why (%s)",
    (state) => {
      // 2025-03-04 is a Tuesday: at 10:00 UTC Paris (UTC+1) is inside the window, which began at 09:00.
      const train: FreezeWindow = {
        days: ["mon", "tue"],
        from: "09:00",
        to: "18:00",
        timezone: "Europe/Paris",
        reason: "release train",
      };
      const lock = { pipeline: "whitewave", reason: "incident", lockedBy: "U0LOCKER", lockedAt: CREATED_AT };
      const overrideGate = overrideKeys(closedGates(lock, [train], new Date("2025-03-04T10:00:00Z")));
      const text = rendered(messageIn(state, { overrideReason: "fixes the outage", overrideGate }));
      expect(text).toContain(`<@${REQUESTER}> overrode`);
      expect(text).toContain(`the lock set by <@U0LOCKER>`);
      expect(text).toContain("the freeze window (mon, tue 09:00–18:00 Europe/Paris: release train)");
      expect(text).toContain("fixes the outage");
    },
  );

  it("says an override of a request stored before overrides named their gate covered a lock or freeze window", () => {
    const text = rendered(messageIn("pending", { overrideReason: "legacy", overrideGate: null }));
    expect(text).toContain(`<@${REQUESTER}> overrode a lock or freeze window: legacy`);
    expect(rendered(messageIn("pending"))).not.toContain("overrode");
  });

  it("never lets an override reason or a freeze window's reason mention anyone", () => {
    const always: FreezeWindow = {
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      from: "00:00",
      to: "00:00",
      timezone: "Europe/Paris",
      reason: HOSTILE,
    };
    const overrideGate = overrideKeys(closedGates(undefined, [always], NOW));
    expectNoRawMention(messageIn("pending", { overrideReason: HOSTILE, overrideGate }));
  });

  it.each(STATES)("never lets a commit title or reason mention anyone when %s", (state) => {
    const message = messageIn(state, {
      commitTitle: HOSTILE,
      reason: HOSTILE,
      decidedBy: "U123> <!channel",
      outcome: {
        targets: [
          aTarget({ status: "failed", errorMessage: HOSTILE, outputTail: HOSTILE, app: { id: "a", name: HOSTILE } }),
        ],
        error: "Heroku said &lt;!channel&gt;",
      },
    });
    expectNoRawMention(message);
  });

  it.each(STATES)(
    "keeps every section within 3,000 characters with a 10,000-character commit title when %s",
    (state) => {
      const long = `&<>${"t".repeat(10_000)}`;
      const message = messageIn(state, {
        commitTitle: long,
        reason: long,
        outcome: {
          targets: [aTarget({ status: "failed", errorMessage: long, outputTail: long })],
          error: long,
        },
      });
      expectWithinLimits(message);
      for (const text of allTexts(message)) expect(text).not.toMatch(/&(?!(amp|lt|gt);)/);
    },
  );
});

describe("outcomeReply", () => {
  it("tells the requester their release is live, with each target's version", () => {
    const reply = outcomeReply(
      aRequest({
        state: "succeeded",
        outcome: {
          targets: [aTarget(), aTarget({ app: { id: "a2", name: "whitewave-eu" }, releaseVersion: null })],
          error: null,
        },
      }),
    );
    expect(sectionTexts(reply)[0]).toBe(`<@${REQUESTER}> v41 is live: whitewave-prod v99, whitewave-eu v?.`);
  });

  it("tells the requester why the promotion could not run", () => {
    const reply = outcomeReply(
      aRequest({ state: "failed", outcome: { targets: [], error: "Heroku said &lt;no&gt;" } }),
    );
    expect(sectionTexts(reply)[0]).toBe(`<@${REQUESTER}> the promotion of v41 failed: Heroku said &lt;no&gt;`);
  });

  it("names the targets that failed and counts the ones that succeeded", () => {
    const reply = outcomeReply(
      aRequest({
        state: "failed",
        outcome: {
          targets: [
            aTarget(),
            aTarget({ app: { id: "a2", name: "whitewave-eu" }, status: "failed", errorMessage: "boom" }),
          ],
          error: null,
        },
      }),
    );
    expect(sectionTexts(reply)[0]).toBe(
      `<@${REQUESTER}> the promotion of v41 failed on whitewave-eu (boom); 1 other target succeeded.`,
    );
  });

  it("keeps mentions out of the notification text", () => {
    const reply = outcomeReply(aRequest({ state: "succeeded", outcome: { targets: [aTarget()], error: null } }));
    expect(reply.text).toBe("v41 is live: whitewave-prod v99.");
  });
});

describe("other messages", () => {
  it("never let user-controlled text mention anyone", () => {
    const messages = [
      supersededMessage({
        pipeline,
        candidate: aCandidate({ commitTitle: HOSTILE, commitAuthor: HOSTILE }),
        newVersion: 42,
      }),
      stagingNotDeployedMessage({
        pipeline,
        sha: "9f2c4e81b7a0",
        title: HOSTILE,
        ciUrl: "https://g.example/p/1",
        stagingApp: "whitewave-staging",
        stagingVersion: null,
        stagingCommit: null,
        waitedMs: 120_000,
      }),
      alreadyInProductionMessage({
        pipeline,
        sha: "9f2c4e81b7a0",
        title: HOSTILE,
        releaseVersion: 41,
        sourceApp: "ws",
      }),
      ciFailedMessage({
        pipeline,
        sha: "9f2c4e81b7a0",
        title: HOSTILE,
        author: HOSTILE,
        ciUrl: "https://g.example/p/1",
        branch: "main",
      }),
      decisionReply(aRequest({ reason: HOSTILE }), "UBOB", "rejected"),
      requestCreatedReply(aRequest({ pipeline: "whitewave" }), pipeline),
    ];
    for (const message of messages) expectNoRawMention(message);
  });

  it("says in a decision reply whether a promotion or a rollback was decided", () => {
    expect(decisionReply(aRequest({}), "UBOB", "rejected").blocks[0]).toMatchObject({
      elements: [{ text: expect.stringContaining("rejected the promotion of v") }],
    });
    expect(decisionReply(aRequest({ kind: "rollback" }), "UBOB", "cancelled").blocks[0]).toMatchObject({
      elements: [{ text: expect.stringContaining("cancelled the rollback to v") }],
    });
  });

  it("shows the reason of a processing failure as the bot wrote it (mrkdwn)", () => {
    const message = processingFailedMessage({
      pipeline: "whitewave",
      what: "Checking staging",
      reason: "Heroku has no pipeline `whitewave` (404).",
    });
    expect(sectionTexts(message)[0]).toBe(
      ":warning: *whitewave*: Checking staging failed: Heroku has no pipeline `whitewave` (404).",
    );
    expect(message.text).toBe("whitewave: Checking staging failed: Heroku has no pipeline whitewave (404).");
  });

  it("keeps a processing failure's notification text free of mentions and control sequences", () => {
    const message = processingFailedMessage({ pipeline: "whitewave", what: "Checking staging", reason: HOSTILE });
    expect(message.text).not.toMatch(/[<>]/);
  });

  it("explains the commands and lists the configured pipelines", () => {
    const help = rendered(helpMessage(["whitewave", "bluewave"]));
    expect(help).toContain("`/promote &lt;pipeline&gt;`");
    expect(help).toContain(
      '`/promote rollback &lt;pipeline&gt; --override "reason"` — roll back through a lock or freeze window',
    );
    expect(help).toContain("Configured pipelines: `whitewave`, `bluewave`");
    expect(rendered(helpMessage([]))).toContain("Configured pipelines: none");
  });

  it("tells the requester how many approvals are needed and from whom", () => {
    const reply = requestCreatedReply(aRequest({ requiredApprovals: 2 }), pipeline);
    expect(sectionTexts(reply)[0]).toContain("It needs 2 approvals from <@U0AAAAAAA>, <!subteam^S0BBBBBBB>.");
    expect(reply.text).not.toMatch(/[*`]/);
  });

  it("tells a requester whose self-approval could not be checked that nothing was approved and the request waits", () => {
    const checked = sectionTexts(requestCreatedReply(aRequest({ requiredApprovals: 1 }), pipeline))[0] ?? "";
    expect(checked).not.toMatch(/could not check/);
    const unchecked = sectionTexts(requestCreatedReply(aRequest({ requiredApprovals: 1 }), pipeline, true))[0] ?? "";
    expect(unchecked).toContain("It needs 1 approval");
    expect(unchecked).toMatch(/could not check with Slack whether you are an approver of \*whitewave\*/);
    expect(unchecked).toMatch(/nothing was approved on your behalf: the request waits for an approval/);
    const rollback = sectionTexts(rollbackCreatedReply(aRequest({ pipeline: "<!here>", requiredApprovals: 1 }), true));
    expect(rollback[0]).toMatch(/Requested a rollback of \*&lt;!here&gt;\*.*could not check/);
    expect(rollback[0]).not.toContain("<!here>");
  });

  it("tells the requester of a rollback approved on request that it rolls back now", () => {
    const text = sectionTexts(rollbackCreatedReply(aRequest({ state: "promoting", sourceReleaseVersion: 41 })))[0];
    expect(text).toContain("rolling back *whitewave* to v41 now");
    expect(text).not.toContain("It needs");
  });

  it("prefixes a refusal with a warning", () => {
    expect(sectionTexts(refusal("No."))[0]).toBe(":warning: No.");
  });
});
