/** `/promote list`, `status`, `history` and `cancel`, end to end. */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import {
  APPROVER_A,
  APPROVER_B,
  BYSTANDER,
  type Harness,
  messageText,
  REQUESTER,
  useHarness,
} from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

const { answer } = e2e;
const { approvalMessage } = e2e;

describe("everyday commands", () => {
  it("lists every pipeline with what staging and production run and how far behind", async () => {
    h = await e2e.start();
    const shipped = h.shipToStaging("One");
    h.shipToStaging("Two");
    await h.slash(BYSTANDER, "list");
    const text = await answer(BYSTANDER, /whitewave/);
    expect(text).toContain(`v${shipped.releaseVersion + 1}`);
    expect(text).toContain("2 commits behind");
    await h.slash(APPROVER_A, "lock whitewave db upgrade");
    await answer(APPROVER_A, /Locked/);
    await h.slash(BYSTANDER, "list");
    await h.slack.waitFor(() =>
      h.answersFor(BYSTANDER).some((a) => a.includes("locked by") && a.includes("db upgrade")),
    );
  });

  it("shows a pipeline's waiting commits and its last promotion", async () => {
    h = await e2e.start();
    h.shipToStaging("Add <b>bold</b> feature");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await h.slack.waitFor(() => /Promoted/.test(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)));
    h.shipToStaging("Next thing");
    await h.slash(BYSTANDER, "status whitewave");
    const text = await answer(BYSTANDER, /Last promotion/);
    expect(text).toContain("Next thing");
    expect(text).toContain("succeeded");
    expect(text).not.toContain("<b>");
  });

  it("shows the history with who asked and who approved", async () => {
    h = await e2e.start({ pipeline: { requiredApprovals: 2 } });
    h.shipToStaging("History");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await h.slack.waitFor(() => /Promoted/.test(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)));
    await h.slash(BYSTANDER, "history whitewave 5");
    const text = await answer(BYSTANDER, /History of/);
    expect(text).toContain(`<@${REQUESTER}>`);
    expect(text).toContain(`approved by <@${APPROVER_A}>, <@${APPROVER_B}>`);
    expect(text).toContain("*succeeded*");
  });

  it("cancels the pending request from the command, for the requester only (or an approver)", async () => {
    h = await e2e.start();
    h.shipToStaging("Cancel me");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    await h.slash(BYSTANDER, "cancel whitewave");
    await answer(BYSTANDER, /can cancel this request/);
    await h.slash(REQUESTER, "cancel whitewave");
    await answer(REQUESTER, /Cancelled the request/);
    await h.slack.waitFor(() => /Cancelled by/.test(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)));
    await h.slash(REQUESTER, "cancel whitewave");
    await answer(REQUESTER, /no pending request/);
  });

  it("answers malformed commands with the help and a hint", async () => {
    h = await e2e.start();
    await h.slash(BYSTANDER, "status");
    await answer(BYSTANDER, /Usage: .*\/promote status &lt;pipeline&gt;|Usage: `\/promote status <pipeline>`/);
    await h.slash(BYSTANDER, "history whitewave lots");
    await answer(BYSTANDER, /N from 1 to 50/);
  });
});
