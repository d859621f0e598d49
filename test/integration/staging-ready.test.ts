import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import { bigPipelineHook, DEFAULT_WEBHOOK_SECRET, gitlabHeaders, hookTime } from "../../stand-ins/gitlab-events.js";
import { buttonValue, CHANNEL, type Harness, messageText, PROJECT_ID, startHarness } from "../support/harness.js";

describe("GitLab pipeline webhooks -> staging-ready messages", () => {
  let h: Harness;

  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  const settle = () => h.bot.bot.worker.idle();

  it("when CI passed and staging runs the commit, then exactly one staging-ready message with a Promote button is posted", async () => {
    const shipped = h.shipToStaging("Add the rainbow <!channel> button");
    const response = await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    expect(response.status).toBe(200);
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(1);
    const text = messageText(messages[0]!);
    expect(text).toContain(`v${shipped.releaseVersion}`);
    expect(text).toContain(shipped.sha.slice(0, 8));
    expect(text).toContain("whitewave-staging");
    expect(text).toContain("Ada Lovelace");
    expect(text).toContain("Promote to production");
    expect(text).toContain("1 commit behind");
    // The commit title is escaped: it cannot ping the channel.
    expect(text).not.toContain("<!channel>");
    expect(text).toContain("&lt;!channel&gt;");
    expect(buttonValue(messages[0]!, ACTIONS.promote)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("when the same delivery is sent again, then it is answered 200 and nothing new is posted", async () => {
    const shipped = h.shipToStaging("Feature");
    const delivery = h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId);
    expect((await h.sendGitLab(delivery)).status).toBe(200);
    await settle();
    const again = await h.sendGitLab(delivery);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: "duplicate" });
    // Without Idempotency-Key and event UUID, the project, pipeline, status and finished_at identify the event.
    const bare = { ...delivery.headers };
    delete bare["Idempotency-Key"];
    delete bare["X-Gitlab-Event-UUID"];
    expect((await h.sendGitLab({ headers: bare, rawBody: delivery.rawBody })).status).toBe(200);
    expect((await h.sendGitLab({ headers: bare, rawBody: delivery.rawBody })).status).toBe(200);
    await settle();
    expect(h.channelMessages()).toHaveLength(1);
  });

  /** A delivery as GitLab before 17.4 sends it: no Idempotency-Key; before 14.8, no event UUID either. */
  const withoutKey = (
    delivery: { headers: Record<string, string>; rawBody: string },
    eventUuid: string | null,
  ): { headers: Record<string, string>; rawBody: string } => {
    const headers = { ...delivery.headers };
    delete headers["Idempotency-Key"];
    if (eventUuid === null) delete headers["X-Gitlab-Event-UUID"];
    else headers["X-Gitlab-Event-UUID"] = eventUuid;
    return { headers, rawBody: delivery.rawBody };
  };

  it("when GitLab before 17.4 resends a failed pipeline's delivery (no Idempotency-Key, a new event UUID each time), then the failure is reported once", async () => {
    h.gitlab.idempotencyKeys = false;
    h.gitlab.addHook(PROJECT_ID, {
      url: `${h.bot.url}/gitlab/webhook`,
      token: DEFAULT_WEBHOOK_SECRET,
      push_events: false,
      pipeline_events: true,
    });
    const commit = h.gitlab.commit(PROJECT_ID, "main", "Break the build");
    const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "failed" });
    const [first] = await h.gitlab.deliver(PROJECT_ID, h.gitlab.pipelineEvent(PROJECT_ID, ci.id));
    if (!first) throw new Error("the hook got no delivery");
    await settle();
    const resent = [await h.gitlab.resend(first), await h.gitlab.resend(first)];
    expect([first, ...resent].map((r) => r.status)).toEqual([200, 200, 200]);
    expect(new Set([first, ...resent].map((r) => r.headers["X-Gitlab-Event-UUID"])).size).toBe(3);
    await settle();
    expect(h.channelMessages()).toHaveLength(1);
    expect(messageText(h.channelMessages()[0]!)).toContain(ci.web_url);
  });

  it("when a pipeline fails again after a retry, then the second failure is reported too, even without Idempotency-Key or event UUID", async () => {
    const commit = h.gitlab.commit(PROJECT_ID, "main", "Flaky build");
    const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "failed" });
    const failed = h.gitlab.pipelineEvent(PROJECT_ID, ci.id);
    expect((await h.sendGitLab(withoutKey(failed, null))).status).toBe(200);
    await settle();
    // A retried job fails again minutes later: same pipeline id and status, a later finished_at.
    const body = JSON.parse(failed.rawBody) as { object_attributes: { finished_at: string } };
    body.object_attributes.finished_at = hookTime(new Date(Date.now() + 10 * 60_000).toISOString());
    const again = withoutKey({ headers: failed.headers, rawBody: JSON.stringify(body) }, null);
    expect((await h.sendGitLab(again)).status).toBe(200);
    await settle();
    expect(h.channelMessages()).toHaveLength(2);
  });

  it("when distinct events share one X-Gitlab-Event-UUID (GitLab recycles it for every hook fired from one request), then each is processed", async () => {
    const shared = "5d9a4c1e-7b2f-4e3a-9c8d-1f2e3a4b5c6d";
    for (const title of ["Break one thing", "Break another"]) {
      const commit = h.gitlab.commit(PROJECT_ID, "main", title);
      const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "failed" });
      expect((await h.sendGitLab(withoutKey(h.gitlab.pipelineEvent(PROJECT_ID, ci.id), shared))).status).toBe(200);
    }
    await settle();
    expect(h.channelMessages()).toHaveLength(2);
  });

  it("when the token is wrong or missing, then 401 and nothing is posted", async () => {
    const shipped = h.shipToStaging("Feature");
    const delivery = h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId);
    const wrong = await h.sendGitLab({
      headers: { ...delivery.headers, "X-Gitlab-Token": "nope" },
      rawBody: delivery.rawBody,
    });
    expect(wrong.status).toBe(401);
    const missing = { ...delivery.headers };
    delete missing["X-Gitlab-Token"];
    expect((await h.sendGitLab({ headers: missing, rawBody: delivery.rawBody })).status).toBe(401);
    await settle();
    expect(h.channelMessages()).toHaveLength(0);
    expect(h.slack.calls.filter((c) => c.path.includes("chat."))).toHaveLength(0);
  });

  it("when CI failed on the branch, then a failure notice with a link is posted, without a button", async () => {
    const commit = h.gitlab.commit(PROJECT_ID, "main", "Break the build");
    const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "failed" });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, ci.id));
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(1);
    const text = messageText(messages[0]!);
    expect(text).toContain("failed");
    expect(text).toContain(ci.web_url);
    expect(buttonValue(messages[0]!, ACTIONS.promote)).toBeUndefined();
  });

  it("when a newer release passes, then the older message loses its button and says superseded", async () => {
    const first = h.shipToStaging("First");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, first.pipelineId));
    await settle();
    const second = h.shipToStaging("Second");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, second.pipelineId));
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(2);
    const [older, newer] = messages;
    expect(buttonValue(older!, ACTIONS.promote)).toBeUndefined();
    expect(messageText(older!)).toContain(`superseded by v${second.releaseVersion}`);
    expect(buttonValue(newer!, ACTIONS.promote)).toBeDefined();
    const live = messages.filter((m) => buttonValue(m, ACTIONS.promote));
    expect(live).toHaveLength(1);
  });

  it("when the project or branch is not configured, or the pipeline is for a tag or merge request, then nothing is posted", async () => {
    const other = h.gitlab.addProject("acme/other", { id: 999, defaultBranch: "main" });
    const c1 = h.gitlab.commit(other.id, "main", "elsewhere");
    const p1 = h.gitlab.addPipeline(other.id, c1.id, { ref: "main", status: "success" });
    await h.sendGitLab(h.gitlab.pipelineEvent(other.id, p1.id));

    h.gitlab.createBranch(PROJECT_ID, "feature", "main");
    const c2 = h.gitlab.commit(PROJECT_ID, "feature", "on a branch");
    const p2 = h.gitlab.addPipeline(PROJECT_ID, c2.id, { ref: "feature", status: "success" });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, p2.id));

    const shipped = h.shipToStaging("tagged");
    h.gitlab.createTag(PROJECT_ID, "v1.0", shipped.sha);
    const p3 = h.gitlab.addPipeline(PROJECT_ID, shipped.sha, { ref: "v1.0", tag: true, status: "success" });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, p3.id));

    const p4 = h.gitlab.addPipeline(PROJECT_ID, shipped.sha, {
      ref: "main",
      source: "merge_request_event",
      status: "success",
    });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, p4.id));

    const p5 = h.gitlab.addPipeline(PROJECT_ID, shipped.sha, { ref: "main", status: "running" });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, p5.id));
    await settle();
    expect(h.channelMessages()).toHaveLength(0);
  });

  it("when a child pipeline (source parent_pipeline) passes or fails on the branch, then nothing is posted and the log says why; the parent pipeline is announced", async () => {
    const shipped = h.shipToStaging("Monorepo change");
    const trigger = h.gitlab.jobs(PROJECT_ID, shipped.pipelineId)[0]?.id ?? 0;
    const childOf = { pipelineId: shipped.pipelineId, jobId: trigger };
    const passed = h.gitlab.addPipeline(PROJECT_ID, shipped.sha, { status: "success", childOf });
    const failed = h.gitlab.addPipeline(PROJECT_ID, shipped.sha, { status: "failed", childOf });
    for (const child of [passed, failed]) {
      const response = await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, child.id));
      expect(response.status).toBe(200);
    }
    await settle();
    expect(h.channelMessages()).toHaveLength(0);
    expect(h.logs.text).toMatch(/child pipeline of pipeline #\d+/);

    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(1);
    expect(buttonValue(messages[0]!, ACTIONS.promote)).toBeDefined();
  });

  it("when the body is not JSON or misses a field the bot needs, then 400 with a reason and nothing is posted", async () => {
    const headers = gitlabHeaders("Pipeline Hook");
    const notJson = await h.sendGitLab({ headers, rawBody: "{not json" });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toContain("JSON");
    const shipped = h.shipToStaging("Feature");
    const delivery = h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId);
    const body = JSON.parse(delivery.rawBody);
    delete body.object_attributes.sha;
    const invalid = await h.sendGitLab({ headers: gitlabHeaders("Pipeline Hook"), rawBody: JSON.stringify(body) });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: string }).error).toContain("object_attributes.sha");
    const wrongType = JSON.parse(delivery.rawBody);
    wrongType.object_attributes.id = "seven";
    expect(
      (await h.sendGitLab({ headers: gitlabHeaders("Pipeline Hook"), rawBody: JSON.stringify(wrongType) })).status,
    ).toBe(400);
    await settle();
    expect(h.channelMessages()).toHaveLength(0);
  });

  it("when another event kind arrives, then it is answered 200 and ignored", async () => {
    const response = await h.sendGitLab({
      headers: gitlabHeaders("Push Hook"),
      rawBody: JSON.stringify({ object_kind: "push" }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { status: string }).status).toBe("ignored");
  });

  it("accepts a pipeline with hundreds of jobs and refuses bodies over 1 MiB with 413", async () => {
    const big = bigPipelineHook(400);
    expect(big.rawBody.length).toBeGreaterThan(200_000);
    expect((await h.sendGitLab(big)).status).toBe(200);
    const huge = JSON.stringify({ object_kind: "pipeline", padding: "x".repeat(1024 * 1024) });
    const response = await fetch(`${h.bot.url}/gitlab/webhook`, {
      method: "POST",
      headers: gitlabHeaders("Pipeline Hook"),
      body: huge,
    });
    expect(response.status).toBe(413);
  });

  it("when staging does not run the commit within the wait, then a notice without a button names what staging runs", async () => {
    const commit = h.gitlab.commit(PROJECT_ID, "main", "Not deployed yet");
    const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "success" });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, ci.id));
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(1);
    expect(buttonValue(messages[0]!, ACTIONS.promote)).toBeUndefined();
    expect(messageText(messages[0]!)).toContain("still runs v1");
  });

  it("when staging gets the commit during the wait, then the staging-ready message is posted", async () => {
    const commit = h.gitlab.commit(PROJECT_ID, "main", "Slow deploy");
    const ci = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "success" });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, ci.id));
    setTimeout(() => h.heroku.deploy(h.ids.staging, commit.id), 100);
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(1);
    expect(buttonValue(messages[0]!, ACTIONS.promote)).toBeDefined();
  });

  it("when production already runs the same slug, then a quiet notice without a button", async () => {
    const shipped = h.shipToStaging("Same");
    const slug = h.heroku.currentRelease(h.ids.staging)?.slug?.id as string;
    h.heroku.deploy(h.ids.production, shipped.sha, { slugId: slug });
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
    await settle();
    const messages = h.channelMessages();
    expect(messages).toHaveLength(1);
    expect(buttonValue(messages[0]!, ACTIONS.promote)).toBeUndefined();
    expect(messageText(messages[0]!)).toContain("already");
  });

  it("when Heroku stays down, then the delivery is retried a bounded number of times, then one short report in the channel and the delivery stays recorded as failed", async () => {
    const shipped = h.shipToStaging("Heroku down");
    h.heroku.fault({
      path: /^\/pipelines\//,
      times: 1_000,
      response: { status: 503, body: { id: "unavailable", message: "Service Unavailable" } },
    });
    const delivery = h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId);
    const response = await h.sendGitLab(delivery);
    expect(response.status).toBe(200);
    const report = await h.slack.waitFor(() => h.channelMessages()[0], 15_000);
    expect(messageText(report)).toContain("503");
    expect(messageText(report)).toContain("gave up after 6 attempts");
    await settle();
    const stored = await h.bot.store.db.selectFrom("deliveries").selectAll().execute();
    expect(stored.map((d) => [d.state, d.attempts])).toEqual([["failed", 6]]);
    expect(stored[0]?.last_error).toContain("gave up after 6 attempts");
    expect(h.channelMessages()).toHaveLength(1);
    expect(h.channelMessages()[0]?.channel).toBe(CHANNEL);
    // Once Heroku is back, the operator resends it from GitLab: a failed delivery gets a fresh series.
    h.heroku.clearFaults();
    expect((await h.sendGitLab(delivery)).status).toBe(200);
    await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)), 10_000);
    await settle();
    const again = await h.bot.store.db.selectFrom("deliveries").selectAll().execute();
    expect(again.map((d) => [d.state, d.attempts])).toEqual([["done", 1]]);
    // A resend of a delivery that was processed is still a duplicate.
    await h.sendGitLab(delivery);
    await settle();
    expect(h.channelMessages().filter((m) => buttonValue(m, ACTIONS.promote))).toHaveLength(1);
  }, 30_000);

  for (const outage of [
    { as: "ok_false" as const, ms: 1_000 },
    // Long enough to outlast WebClient's own retries of a 503 (3, 0.5 to 5 s apart).
    { as: "http_503" as const, ms: 5_000 },
  ]) {
    it(`when Slack is down while announcing (${outage.as}), then the staging-ready message is posted once it is back, the previous one loses its button, and the outage is not reported to Slack`, async () => {
      const first = h.shipToStaging("First");
      await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, first.pipelineId));
      await settle();
      const second = h.shipToStaging("Second");
      h.slack.unavailableFor(outage.ms, { as: outage.as });
      await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, second.pipelineId));
      const newer = await h.slack.waitFor(
        () => h.channelMessages().find((m) => messageText(m).includes("Second")),
        20_000,
      );
      await h.slack.waitFor(() => !buttonValue(h.channelMessages()[0]!, ACTIONS.promote), 10_000);
      await settle();
      const messages = h.channelMessages();
      expect(messages).toHaveLength(2);
      expect(messageText(messages[0]!)).toContain(`superseded by v${second.releaseVersion}`);
      expect(buttonValue(newer, ACTIONS.promote)).toBeDefined();
      expect(messages.some((m) => /failed/.test(messageText(m)))).toBe(false);
      const stored = await h.bot.store.db.selectFrom("deliveries").select(["state"]).execute();
      expect(stored.map((d) => d.state)).toEqual(["done", "done"]);
    }, 40_000);
  }
});
