/**
 * Heroku app webhooks end to end (issue 15): the stand-in's subscriptions deliver signed release and
 * dyno events to the real server's POST /heroku/webhook, and the bot keeps its release view, announces
 * production changes made outside it, supersedes staging messages and follows promotions by them.
 */
import { createHmac, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import {
  APPROVER_A,
  buttonValue,
  type Harness,
  type HarnessOptions,
  messageText,
  PROJECT_ID,
  REQUESTER,
  useHarness,
} from "../support/harness.js";
import { until } from "../support/processes.js";

const SECRET = "heroku-webhook-secret-0123456789abcdef";
const e2e = useHarness();
let h: Harness;

async function start(options: HarnessOptions = {}): Promise<Harness> {
  h = await e2e.start({ ...options, env: { HEROKU_WEBHOOK_SECRET: SECRET, ...options.env } });
  // The bot learns the pipeline's apps at start-up; an event before that cannot be matched to it.
  await h.bot.bot.worker.idle();
  return h;
}

/** Subscribes an app as `npm run setup-heroku-webhooks` does, through the stand-in's API. */
async function subscribe(appId: string, secret = SECRET): Promise<void> {
  const response = await fetch(`${h.heroku.url}/apps/${appId}/webhooks`, {
    method: "POST",
    headers: {
      Accept: "application/vnd.heroku+json; version=3.webhooks",
      Authorization: "Bearer heroku-test-token",
      "Content-Type": "application/json",
    },
    body: JSON.stringify({ include: ["api:release", "dyno"], level: "sync", url: `${h.url}/heroku/webhook`, secret }),
  });
  expect(response.status).toBeLessThan(300);
}

async function subscribeAll(): Promise<void> {
  await subscribe(h.ids.staging);
  await subscribe(h.ids.production);
}

const settle = async () => {
  await h.heroku.webhooksIdle();
  await h.bot.bot.worker.idle();
};

function releaseEvent(overrides: { id?: string; attempt?: string; version?: number; status?: string } = {}) {
  return {
    id: overrides.id ?? randomUUID(),
    action: "update",
    resource: "release",
    actor: { email: "someone@example.com", id: randomUUID() },
    created_at: new Date().toISOString(),
    data: {
      id: randomUUID(),
      version: overrides.version ?? 9,
      status: overrides.status ?? "succeeded",
      current: true,
      app: { id: h.ids.staging, name: "whitewave-staging" },
      slug: { id: randomUUID() },
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
      description: "Deploy 1234567",
      user: { email: "someone@example.com", id: randomUUID() },
    },
    previous_data: {},
    version: "application/vnd.heroku+json; version=3",
    webhook_metadata: {
      attempt: { id: overrides.attempt ?? randomUUID() },
      delivery: { id: randomUUID() },
      event: { id: overrides.id ?? randomUUID(), include: "api:release" },
      webhook: { id: randomUUID() },
    },
  };
}

const sign = (body: string, secret = SECRET) => createHmac("sha256", secret).update(body).digest("base64");

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.url}/heroku/webhook`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body,
  });
}

const deliveries = () => h.bot.store.db.selectFrom("deliveries").selectAll().where("id", "like", "heroku:%").execute();
const herokuCalls = () => h.heroku.calls.length;

describe("POST /heroku/webhook", () => {
  it("when a delivery is unsigned, wrongly signed, oversized or malformed, then it is refused and nothing is recorded", async () => {
    await start();
    const body = JSON.stringify(releaseEvent());
    expect((await post(body)).status).toBe(401);
    expect(
      (await post(body, { "Heroku-Webhook-Hmac-SHA256": sign(body, "another-secret-of-forty-characters!!") })).status,
    ).toBe(401);
    expect((await post(body, { "Heroku-Webhook-Hmac-SHA256": "not base64 at all" })).status).toBe(401);
    // Signed with the right secret, but over another body (the signature covers the raw bytes).
    expect((await post(`${body} `, { "Heroku-Webhook-Hmac-SHA256": sign(body) })).status).toBe(401);
    const huge = JSON.stringify({ ...releaseEvent(), padding: "x".repeat(300 * 1024) });
    expect((await post(huge, { "Heroku-Webhook-Hmac-SHA256": sign(huge) })).status).toBe(413);
    const notJson = "{not json";
    expect((await post(notJson, { "Heroku-Webhook-Hmac-SHA256": sign(notJson) })).status).toBe(400);
    const bad = JSON.stringify({ ...releaseEvent(), data: { id: "x", version: "nine" } });
    const refused = await post(bad, { "Heroku-Webhook-Hmac-SHA256": sign(bad) });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/invalid Heroku event: data/);
    expect(await deliveries()).toHaveLength(0);
    expect(h.logs.text).not.toContain(SECRET);
  });

  it("when Heroku retries an event as a new attempt (new attempt id, body and signature), then it is recorded and processed once", async () => {
    await start();
    const id = randomUUID();
    const first = JSON.stringify(releaseEvent({ id, version: 41 }));
    const retry = JSON.stringify({ ...JSON.parse(first), webhook_metadata: { attempt: { id: randomUUID() } } });
    expect(retry).not.toBe(first);
    const a = await post(first, { "Heroku-Webhook-Hmac-SHA256": sign(first) });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ status: "accepted" });
    const b = await post(retry, { "Heroku-Webhook-Hmac-SHA256": sign(retry) });
    expect(b.status).toBe(200);
    expect(await b.json()).toEqual({ status: "duplicate" });
    await h.bot.bot.worker.idle();
    const rows = await deliveries();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: `heroku:${id}`, state: "done" });
  });

  it("when an event of a kind the bot does not use arrives, then it is answered 200 and ignored", async () => {
    await start();
    const body = JSON.stringify({ ...releaseEvent(), resource: "domain", data: { hostname: "x" } });
    const response = await post(body, { "Heroku-Webhook-Hmac-SHA256": sign(body) });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: "ignored" });
    expect(await deliveries()).toHaveLength(0);
  });

  it("when an event is about an app of no configured pipeline, then it is recorded as done without its body, and no event calls Heroku", async () => {
    await start();
    const calls = herokuCalls();
    const stray = releaseEvent();
    stray.data.app = { id: randomUUID(), name: "someone-elses-app" };
    const body = JSON.stringify(stray);
    expect((await post(body, { "Heroku-Webhook-Hmac-SHA256": sign(body) })).status).toBe(200);
    const mine = releaseEvent();
    mine.data.app = { id: h.ids.production, name: "whitewave-prod" };
    const ours = JSON.stringify(mine);
    expect((await post(ours, { "Heroku-Webhook-Hmac-SHA256": sign(ours) })).status).toBe(200);
    await h.bot.bot.worker.idle();
    const rows = await deliveries();
    // Never claimed for processing (no attempt), against the configured app's event, processed once.
    expect(rows.find((r) => r.id === `heroku:${stray.id}`)).toMatchObject({ state: "done", body: "", attempts: 0 });
    expect(rows.find((r) => r.id === `heroku:${mine.id}`)).toMatchObject({ state: "done", attempts: 1 });
    expect(h.channelMessages().filter((m) => /outside promote-bot/.test(messageText(m)))).toHaveLength(1);
    // The production release (not the bot's) was announced from the stored topology and the event alone.
    expect(h.heroku.calls.slice(calls).map((c) => `${c.method} ${c.path}`)).toEqual([
      `GET /apps/${h.ids.production}/slugs/${mine.data.slug.id}`,
    ]);
  });

  it("when HEROKU_WEBHOOK_SECRET is unset, then the route does not exist", async () => {
    h = await e2e.start();
    const body = JSON.stringify(releaseEvent());
    expect((await post(body, { "Heroku-Webhook-Hmac-SHA256": sign(body) })).status).toBe(404);
  });
});

describe("the release view", () => {
  it("when events flow for every app, then /promote list answers from the view with no Heroku call; when they stop, it reads Heroku again", async () => {
    await start({ tuning: { herokuEventsFreshForMs: 1_500 } });
    await subscribeAll();
    h.shipToStaging("Ship the rainbow");
    h.heroku.emitDynoState(h.ids.production, { type: "web", state: "up" });
    await settle();
    // Cold: the pipeline's apps are read once (then kept), the releases in one latest-releases call,
    // and the drift is checked (then kept while events flow and no release comes).
    await h.slash(REQUESTER, "list");
    await h.answer(REQUESTER, /whitewave/);
    await h.slash(REQUESTER, "status whitewave");
    await h.answer(REQUESTER, /whitewave status/);
    h.heroku.emitDynoState(h.ids.staging, { type: "web", state: "up" });
    h.heroku.emitDynoState(h.ids.production, { type: "web", state: "up" });
    await settle();
    const before = herokuCalls();
    await h.slash(REQUESTER, "status whitewave");
    await until(
      "a second status",
      async () => h.answersFor(REQUESTER).filter((a) => a.includes("whitewave status")).length >= 2,
      5_000,
    );
    const status = h.answersFor(REQUESTER).filter((a) => a.includes("whitewave status"))[1]!;
    expect(status).toMatch(/staging v\d+ `[0-9a-f]{8}` → production v\d+/);
    expect(status).toContain("No drift");
    expect(h.heroku.calls.slice(before).map((c) => c.path)).toEqual([]);
    // No event for longer than HEROKU_EVENTS_FRESH_FOR: the next status reads Heroku.
    await new Promise((resolve) => setTimeout(resolve, 1_700));
    const stale = herokuCalls();
    await h.slash(REQUESTER, "status whitewave");
    await until(
      "a second status",
      async () => h.answersFor(REQUESTER).filter((a) => a.includes("whitewave status")).length >= 3,
      5_000,
    );
    const paths = h.heroku.calls.slice(stale).map((c) => c.path);
    expect(paths).toContain(`/pipelines/${h.ids.pipeline}/latest-releases`);
  });

  it("when release events arrive out of order, then the view keeps the newest release", async () => {
    await start();
    await subscribeAll();
    h.heroku.webhooks.deliverOutOfOrder(2);
    const first = h.shipToStaging("First");
    const second = h.shipToStaging("Second");
    await settle();
    const view = (await h.bot.store.appViews([h.ids.staging])).get(h.ids.staging);
    expect(view?.current?.version).toBe(second.releaseVersion);
    expect(second.releaseVersion).toBeGreaterThan(first.releaseVersion);
    expect(view?.lastEventAt).not.toBeNull();
  });
});

describe("changes made outside the bot", () => {
  it("when production gets a release the bot did not make, then the channel is told once what it runs and who made it, and a pending request's message says production changed", async () => {
    await start();
    await subscribeAll();
    const shipped = h.shipToStaging("Ship the rainbow");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    await settle();
    await h.slash(REQUESTER, "whitewave");
    const request = await h.slack.waitFor(() => e2e.approvalMessage());
    // A hotfix pushed straight to production, delivered twice (Heroku retried after a lost answer).
    h.heroku.webhooks.duplicateDeliveries(1);
    const hotfix = h.gitlab.commit(PROJECT_ID, "main", "Hotfix", { authorName: "Grace Hopper" });
    const release = h.heroku.deploy(h.ids.production, hotfix.id);
    await settle();
    const notices = h.channelMessages().filter((m) => /outside promote-bot/.test(messageText(m)));
    expect(notices).toHaveLength(1);
    const text = messageText(notices[0]!);
    expect(text).toContain(`whitewave-prod now runs v${release.version}`);
    expect(text).toContain(hotfix.id.slice(0, 8));
    expect(text).toContain("promote-bot@example.com");
    await h.messageMatching(request.ts, /Production changed since this request was made/);
    // Approving does not overwrite the hotfix: the executor checks production before it acts.
    await h.click(APPROVER_A, request, ACTIONS.approve);
    await h.messageMatching(request.ts, /production changed after this request was made/i, 10_000);
    expect(e2e.promotionPosts()).toHaveLength(0);
  });

  it("when production is rolled back in Heroku's dashboard, then it is announced; a config var change (same build) is not", async () => {
    await start();
    await subscribeAll();
    const before = h.heroku.currentRelease(h.ids.production)!;
    const hotfix = h.gitlab.commit(PROJECT_ID, "main", "Hotfix", { authorName: "Grace Hopper" });
    h.heroku.deploy(h.ids.production, hotfix.id);
    await settle();
    const rolled = await fetch(`${h.heroku.url}/apps/${h.ids.production}/releases`, {
      method: "POST",
      headers: {
        Accept: "application/vnd.heroku+json; version=3",
        Authorization: "Bearer heroku-test-token",
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ release: before.id }),
    });
    expect(rolled.status).toBe(201);
    const rollback = (await rolled.json()) as { version: number };
    await settle();
    const current = h.heroku.currentRelease(h.ids.production)!;
    const slug = (await (
      await fetch(`${h.heroku.url}/apps/${h.ids.production}/slugs/${current.slug?.id}`, {
        headers: { Accept: "application/vnd.heroku+json; version=3", Authorization: "Bearer heroku-test-token" },
      })
    ).json()) as { commit: string };
    h.heroku.deploy(h.ids.production, slug.commit, {
      slugId: current.slug?.id as string,
      description: "Set FEATURE_X config vars",
    });
    await settle();
    const notices = h
      .channelMessages()
      .map(messageText)
      .filter((t) => /outside promote-bot/.test(t));
    expect(notices).toHaveLength(2);
    expect(notices[1]).toContain(`whitewave-prod now runs v${rollback.version}`);
  });

  it("when the bot's own promotion releases production, then nothing is announced as made outside it", async () => {
    await start();
    await subscribeAll();
    h.shipToStaging("Ship the rainbow");
    await h.slash(REQUESTER, "whitewave");
    const request = await h.slack.waitFor(() => e2e.approvalMessage());
    await h.click(APPROVER_A, request, ACTIONS.approve);
    await h.messageMatching(request.ts, /Promoted/, 10_000);
    await settle();
    expect(h.heroku.webhooks.attempts.length).toBeGreaterThan(0);
    expect(h.channelMessages().filter((m) => /outside promote-bot/.test(messageText(m)))).toHaveLength(0);
  });

  it("when staging gets a newer release, then the staging-ready message of the older one is superseded", async () => {
    await start();
    await subscribeAll();
    const shipped = h.shipToStaging("First");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    await settle();
    const ready = h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote));
    expect(ready).toBeDefined();
    const next = h.shipToStaging("Second");
    await settle();
    const updated = await h.messageMatching(ready!.ts, /superseded/);
    expect(messageText(updated)).toContain(`v${next.releaseVersion}`);
    expect(buttonValue(updated, ACTIONS.promote)).toBeUndefined();
  });
});

describe("following a promotion by events", () => {
  it("when release events flow, then a long promotion is noticed as done by its event, with a handful of Heroku polls", async () => {
    // Polls at most once a minute while events flow: the test ends in seconds only if the event wakes it.
    await start({ tuning: { eventPollMaxMs: 60_000, pollMaxMs: 60_000, followLimitMs: 120_000 } });
    await subscribeAll();
    h.shipToStaging("Ship the rainbow");
    h.heroku.emitDynoState(h.ids.production, { type: "web", state: "up" });
    await settle();
    h.heroku.promotionBehaviour.pollsUntilDone = 10_000;
    await h.slash(REQUESTER, "whitewave");
    const request = await h.slack.waitFor(() => e2e.approvalMessage());
    await h.click(APPROVER_A, request, ACTIONS.approve);
    await until("the promotion", async () => h.heroku.promotions.length === 1, 5_000);
    // Heroku works on it for a while: the bot waits for an event, not on a poll schedule.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const polls = () =>
      h.heroku.calls.filter((c) => /^\/pipeline-promotions\/[^/]+\/promotion-targets$/.test(c.path)).length;
    const whileWaiting = polls();
    expect(whileWaiting).toBeLessThanOrEqual(2);
    h.heroku.completePromotion(h.heroku.promotions[0]!.id);
    await h.messageMatching(request.ts, /Promoted/, 8_000);
    expect(polls()).toBeLessThanOrEqual(whileWaiting + 2);
  });
});
