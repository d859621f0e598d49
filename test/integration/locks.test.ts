/** Locks, freeze windows and overrides, end to end. */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import { homeOpenedBody, postSlack } from "../../stand-ins/slack-requests.js";
import {
  APPROVER_A,
  APPROVER_B,
  BYSTANDER,
  buttonValue,
  CHANNEL,
  type Harness,
  messageText,
  PROJECT_ID,
  REQUESTER,
  SIGNING_SECRET,
  useHarness,
} from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

const { answer } = e2e;
const { approvalMessage } = e2e;
const { channelText } = e2e;
/** Opens the App Home tab as Slack would, and returns what the bot published there. */
async function openHome(user: string): Promise<string> {
  const views = h.slack.homeViews.length;
  await postSlack(h.bot.url, SIGNING_SECRET, homeOpenedBody(user), { headers: { "content-type": "application/json" } });
  await h.slack.waitFor(() => h.slack.homeViews.length > views && h.slack.homeOf(user), 5_000);
  return JSON.stringify(h.slack.homeOf(user)?.blocks ?? []);
}
const ALWAYS =
  '[{ days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "00:00", timezone: Europe/Paris, reason: "release train maintenance" }]';

describe("locks", () => {
  it("only approvers lock; a lock refuses requests and approvals with who, when and why; unlock reopens", async () => {
    h = await e2e.start();
    h.shipToStaging("Locked out");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);

    await h.slash(BYSTANDER, 'lock whitewave "incident"');
    await answer(BYSTANDER, /Only the approvers of \*whitewave\* can lock it/);
    await h.slash(APPROVER_A, 'lock whitewave "database incident #42"');
    await answer(APPROVER_A, /Locked \*whitewave\*/);
    await h.slack.waitFor(() => /locked \*whitewave\*: database incident #42/.test(channelText()));

    await h.click(APPROVER_B, message, ACTIONS.approve);
    const refusal = await answer(APPROVER_B, /is locked by/);
    expect(refusal).toContain(`<@${APPROVER_A}>`);
    expect(refusal).toContain("database incident #42");
    // The request was asked before the lock: a new override cannot reach it, so the refusal says to ask again.
    expect(refusal).toMatch(/This promotion waits until it is unlocked\. To go through it now, cancel this request/);
    expect(refusal).toContain("`/promote whitewave --override");
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);

    await h.slash(APPROVER_A, "unlock whitewave");
    await answer(APPROVER_A, /Unlocked/);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await h.slack.waitFor(() => /Promoted/.test(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)));
    const events = (await h.bot.store.db.selectFrom("audit").select("event").orderBy("id").execute()).map(
      (e) => e.event,
    );
    expect(events).toEqual(expect.arrayContaining(["locked", "unlocked", "denied"]));
  });

  it("a request fully approved before a crash is not promoted by the recovery sweep while the pipeline is locked; it is once unlocked", async () => {
    h = await e2e.start();
    h.shipToStaging("Approved, then locked");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    const requestId = buttonValue(message, ACTIONS.approve) as string;
    // As a crash leaves it: the completing approval stored, the move to promoting never made.
    await h.bot.store.lock({ pipeline: "whitewave", reason: "incident", lockedBy: APPROVER_B, lockedAt: new Date() });
    await h.bot.store.addApproval({ requestId, approver: APPROVER_A, at: new Date() });
    await new Promise((r) => setTimeout(r, 1_000)); // five sweeps at the test's 200 ms
    expect((await h.bot.store.getRequest(requestId))?.state).toBe("pending");
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);

    await h.slash(APPROVER_B, "unlock whitewave");
    await h.messageMatching(message.ts, /Promoted/);
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(1);
  });

  it("a request fully approved before a crash that has expired since is expired by the recovery sweep, never promoted", async () => {
    h = await e2e.start();
    h.shipToStaging("Approved, then forgotten");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    const requestId = buttonValue(message, ACTIONS.approve) as string;
    // As a crash leaves it: the completing approval stored, the move to promoting never made; the lock
    // holds it until it has expired too, and then goes (the sweep sees both at once).
    await h.bot.store.lock({ pipeline: "whitewave", reason: "incident", lockedBy: APPROVER_B, lockedAt: new Date() });
    await h.bot.store.addApproval({ requestId, approver: APPROVER_A, at: new Date() });
    await h.bot.store.db
      .updateTable("requests")
      .set({ expires_at: new Date(Date.now() - 1_000).toISOString() })
      .where("id", "=", requestId)
      .execute();
    await h.bot.store.unlock("whitewave");
    let state: string | undefined = "pending";
    for (let i = 0; i < 100 && state === "pending"; i++) {
      await new Promise((r) => setTimeout(r, 50));
      state = (await h.bot.store.getRequest(requestId))?.state;
    }
    await h.bot.bot.worker.idle();
    expect(state).toBe("expired");
    await h.messageMatching(message.ts, /Expired/);
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);
  });

  it("while locked, a new request is refused, and a staging-ready message says so without a button", async () => {
    h = await e2e.start();
    await h.slash(APPROVER_A, "lock whitewave deploys paused");
    await answer(APPROVER_A, /Locked/);
    const shipped = h.shipToStaging("During the lock");
    await h.slash(REQUESTER, "whitewave");
    await answer(REQUESTER, /is locked by/);
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    const notice = await h.slack.waitFor(() =>
      h.channelMessages().find((m) => /is ready to promote, but/.test(messageText(m))),
    );
    expect(buttonValue(notice, ACTIONS.promote)).toBeUndefined();
    expect(messageText(notice)).toContain("deploys paused");
  });

  it("an approver overrides a lock for one request, audited and announced; a non-approver cannot", async () => {
    h = await e2e.start();
    await h.slash(APPROVER_A, "lock whitewave hotfixes only");
    await answer(APPROVER_A, /Locked/);
    h.shipToStaging("The hotfix");
    await h.slash(REQUESTER, 'whitewave --override "I really want to"');
    await answer(REQUESTER, /Only the approvers of \*whitewave\* can override/);
    await h.slash(APPROVER_A, "whitewave --override \u201cfixes the outage\u201d");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    await h.slack.waitFor(() => /overrode the lock of \*whitewave\*.*fixes the outage/.test(channelText()));
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await h.slack.waitFor(() => /Promoted/.test(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)));
    const override = await h.bot.store.db.selectFrom("audit").selectAll().where("event", "=", "override").execute();
    expect(override).toHaveLength(1);
    expect(JSON.parse(override[0]!.detail)).toEqual({ reason: "fixes the outage", gate: "locked" });
  });

  it("a request through a lock on an override says so on its message and in App Home: who overrode which lock, and why", async () => {
    h = await e2e.start();
    await h.slash(APPROVER_A, 'lock whitewave "database incident #42"');
    await answer(APPROVER_A, /Locked/);
    h.shipToStaging("The hotfix");
    await h.slash(APPROVER_B, 'whitewave --override "fixes the outage"');
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    const overrode = new RegExp(`<@${APPROVER_B}> overrode the lock set by <@${APPROVER_A}> [^"]*: fixes the outage`);
    expect(messageText(message)).toMatch(overrode);
    expect(await openHome(BYSTANDER)).toMatch(overrode);

    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await h.messageMatching(message.ts, /Promoted/);
    expect(messageText(done)).toMatch(overrode);
  });
});

describe("freeze windows", () => {
  it("inside a configured freeze window, requests are refused with its reason; an approver's override goes through", async () => {
    h = await e2e.start({ pipeline: { freeze: ALWAYS } });
    h.shipToStaging("Frozen");
    await h.slash(REQUESTER, "whitewave");
    const refusal = await answer(REQUESTER, /freeze window/);
    expect(refusal).toContain("release train maintenance");
    expect(refusal).toContain("Europe/Paris");
    await h.slash(APPROVER_A, 'whitewave --override "security fix"');
    await h.slack.waitFor(() => approvalMessage(), 10_000);
    expect(channelText()).toContain("overrode the freeze window");
    expect(h.channelMessages().some((m) => m.channel === CHANNEL)).toBe(true);
  });

  it("an override given for a freeze window does not cover a lock set afterwards; once unlocked it goes through", async () => {
    h = await e2e.start({ pipeline: { freeze: ALWAYS } });
    h.shipToStaging("Through the freeze");
    await h.slash(APPROVER_A, 'whitewave --override "security fix"');
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    await h.slash(APPROVER_A, 'lock whitewave "database incident"');
    await answer(APPROVER_A, /Locked/);

    await h.click(APPROVER_B, message, ACTIONS.approve);
    await answer(APPROVER_B, /is locked by.*database incident/);
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);

    await h.slash(APPROVER_A, "unlock whitewave");
    await answer(APPROVER_A, /Unlocked/);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await h.messageMatching(message.ts, /Promoted/);
  });

  // Windows placed relative to the real time (the database's clock, by which expiry is also checked,
  // stays real): the bot's clock is moved into them. Every day, in UTC, so that midnight does not matter.
  const MINUTE = 60_000;
  const hhmm = (at: number) => new Date(at).toISOString().slice(11, 16);
  const windowFrom = (startMin: number, endMin: number, reason: string) => {
    const base = Math.floor(Date.now() / MINUTE) * MINUTE;
    return `{ days: [mon, tue, wed, thu, fri, sat, sun], from: "${hhmm(base + startMin * MINUTE)}", to: "${hhmm(base + endMin * MINUTE)}", timezone: UTC, reason: "${reason}" }`;
  };
  /** The bot's clock: `startMin` minutes ahead of the real time, and moved on by `jump`. */
  function movableClock(startMin: number) {
    let offset = startMin * MINUTE;
    return { now: () => new Date(Date.now() + offset), jump: (minutes: number) => (offset += minutes * MINUTE) };
  }

  it("an override given while the pipeline is locked does not let approvals through a freeze window that starts later while the lock stays", async () => {
    const clock = movableClock(0);
    h = await e2e.start({ pipeline: { freeze: `[${windowFrom(60, 120, "lunch")}]` }, clock });
    h.shipToStaging("Hotfix during the incident");
    await h.slash(APPROVER_A, 'lock whitewave "incident"');
    await answer(APPROVER_A, /Locked/);
    await h.slash(APPROVER_A, 'whitewave --override "hotfix"');
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    // The lunch window begins; the lock stays. The override was given for the lock only.
    clock.jump(75);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await answer(APPROVER_B, /freeze window.*lunch/);
    await h.bot.bot.worker.idle();
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);
  });

  it("with two freeze windows in force, an override given inside the first does not cover the second", async () => {
    const clock = movableClock(70);
    const freeze = `[${windowFrom(60, 120, "lunch")}, ${windowFrom(90, 180, "release train")}]`;
    h = await e2e.start({ pipeline: { freeze }, clock });
    h.shipToStaging("Through lunch");
    await h.slash(APPROVER_A, 'whitewave --override "fix"');
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    // The release train window begins too.
    clock.jump(30);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await answer(APPROVER_B, /freeze window.*release train/);
    await h.bot.bot.worker.idle();
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);
    // Both windows are over: the approval goes through.
    clock.jump(85);
    await h.click(APPROVER_B, message, ACTIONS.approve);
    await h.messageMatching(message.ts, /Promoted/);
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(1);
  });

  it("a request through a freeze window on an override says so on its message and in App Home: who, which window, why", async () => {
    h = await e2e.start({ pipeline: { freeze: ALWAYS } });
    h.shipToStaging("Frozen fix");
    await h.slash(APPROVER_A, 'whitewave --override "security fix"');
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    const overrode = new RegExp(
      `<@${APPROVER_A}> overrode the freeze window \\(mon, tue, wed, thu, fri, sat, sun 00:00–00:00 Europe/Paris: release train maintenance\\): security fix`,
    );
    expect(messageText(message)).toMatch(overrode);
    expect(await openHome(APPROVER_B)).toMatch(overrode);
  });
});
