/** The App Home tab: published when opened, with Approve/Reject for approvers, refreshed when they act there. */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import { homeClickBody, homeOpenedBody, postSlack } from "../../stand-ins/slack-requests.js";
import {
  APPROVER_A,
  BYSTANDER,
  buttonValue,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  useHarness,
} from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

const homeOpened = (user: string) => homeOpenedBody(user);
const homeClick = (user: string, actionId: string, value: string) => homeClickBody({ userId: user, actionId, value });

function homeText(user: string): string {
  return JSON.stringify(h.slack.homeOf(user)?.blocks ?? []);
}

describe("App Home", () => {
  it("shows each pipeline's releases and lock, and the pending request with buttons only for approvers", async () => {
    h = await e2e.start();
    const shipped = h.shipToStaging("Home feature");
    await h.slash(APPROVER_A, "lock whitewave quiet period");
    await h.slack.waitFor(() => h.answersFor(APPROVER_A).some((a) => a.includes("Locked")));
    await h.slash(APPROVER_A, 'whitewave --override "it is fine"');
    await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)), 10_000);

    const headers = { "content-type": "application/json" };
    expect((await postSlack(h.bot.url, SIGNING_SECRET, homeOpened(APPROVER_A), { headers })).status).toBe(200);
    await h.slack.waitFor(() => h.slack.homeOf(APPROVER_A), 5_000);
    const approverHome = homeText(APPROVER_A);
    expect(approverHome).toContain("whitewave");
    expect(approverHome).toContain(`v${shipped.releaseVersion}`);
    expect(approverHome).toContain("quiet period");
    expect(approverHome).toContain(ACTIONS.approve);

    await postSlack(h.bot.url, SIGNING_SECRET, homeOpened(BYSTANDER), { headers });
    await h.slack.waitFor(() => h.slack.homeOf(BYSTANDER), 5_000);
    expect(homeText(BYSTANDER)).toContain("asked by");
    expect(homeText(BYSTANDER)).not.toContain(ACTIONS.approve);
  });

  it("when an approver approves from the Home tab, then the request moves on and the tab is refreshed; refusals show there", async () => {
    h = await e2e.start();
    h.shipToStaging("Approve from home");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(
      () => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)),
      10_000,
    );
    const requestId = buttonValue(message, ACTIONS.approve) as string;

    await postSlack(h.bot.url, SIGNING_SECRET, homeClick(BYSTANDER, ACTIONS.approve, requestId));
    await h.slack.waitFor(() => /Only the approvers/.test(homeText(BYSTANDER)), 5_000);

    const views = h.slack.homeViews.length;
    await postSlack(h.bot.url, SIGNING_SECRET, homeClick(APPROVER_A, ACTIONS.approve, requestId));
    await h.slack.waitFor(() => h.slack.homeViews.length > views && h.slack.homeOf(APPROVER_A), 5_000);
    await h.slack.waitFor(() => h.heroku.callsTo("POST", "/pipeline-promotions").length === 1, 10_000);
    expect(homeText(APPROVER_A)).toContain("promoting");
  });
});
