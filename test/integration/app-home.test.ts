/** The App Home tab: published when opened, with Approve/Reject for approvers, refreshed when they act there. */
import { afterEach, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import {
  APPROVER_A,
  BYSTANDER,
  buttonValue,
  type Harness,
  REQUESTER,
  SIGNING_SECRET,
  startHarness,
} from "../support/harness.js";
import { postSlack } from "../support/slack-requests.js";
import { SLACK_APP_ID, SLACK_TEAM_ID } from "../support/stand-ins/slack.js";

let h: Harness;
afterEach(async () => {
  await h?.close();
});

/** What Slack sends when a user opens the bot's Home tab (Events API, JSON). */
function homeOpened(user: string): string {
  return JSON.stringify({
    token: "verification-token",
    team_id: SLACK_TEAM_ID,
    api_app_id: SLACK_APP_ID,
    event: { type: "app_home_opened", user, channel: "D0HOME0001", tab: "home", event_ts: `${Date.now() / 1000}` },
    type: "event_callback",
    event_id: `Ev${Date.now()}`,
    event_time: Math.floor(Date.now() / 1000),
  });
}

/** A button click inside the Home tab: the container is the view, and there is no response_url. */
function homeClick(user: string, actionId: string, value: string): string {
  const payload = {
    type: "block_actions",
    user: { id: user, username: user.toLowerCase(), name: user.toLowerCase(), team_id: SLACK_TEAM_ID },
    api_app_id: SLACK_APP_ID,
    token: "verification-token",
    container: { type: "view", view_id: "V1" },
    trigger_id: "1.2.3",
    team: { id: SLACK_TEAM_ID, domain: "promote-test" },
    is_enterprise_install: false,
    view: { id: "V1", type: "home", blocks: [] },
    actions: [{ action_id: actionId, block_id: "home", value, type: "button", action_ts: `${Date.now() / 1000}` }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

function homeText(user: string): string {
  return JSON.stringify(h.slack.homeOf(user)?.blocks ?? []);
}

describe("App Home", () => {
  it("shows each pipeline's releases and lock, and the pending request with buttons only for approvers", async () => {
    h = await startHarness();
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
    h = await startHarness();
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
