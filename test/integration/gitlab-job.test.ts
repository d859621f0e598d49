/** Strategy gitlab-job: container apps promoted by playing the manual production job in GitLab. */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { JobSpec } from "../../stand-ins/gitlab.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import {
  APPROVER_A,
  buttonValue,
  type Harness,
  messageText,
  PROJECT_ID,
  REQUESTER,
  useHarness,
} from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

const JOBS: JobSpec[] = [
  { name: "test", stage: "test", status: "success" },
  { name: "deploy_staging", stage: "staging", status: "success" },
  { name: "deploy_production", stage: "production", status: "manual", when: "manual" },
];

/** A commit whose pipeline passed, deployed staging (a container release) and waits on deploy_production. */
function ship(title: string, jobs: JobSpec[] = JOBS) {
  const commit = h.gitlab.commit(PROJECT_ID, "main", title, { authorName: "Ada Lovelace" });
  const pipeline = h.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", jobs });
  h.heroku.deploy(h.ids.staging, commit.id, { container: true });
  const job = h.gitlab.jobs(PROJECT_ID, pipeline.id).find((j) => j.name === "deploy_production")!;
  return { commit, pipeline, job };
}

const plays = () => h.gitlab.callsTo("POST", /\/jobs\/\d+\/play$/);
const settled = (ts: string, pattern: RegExp) => h.messageMatching(ts, pattern, 10_000);

async function announceAndApprove(jobs: JobSpec[] = JOBS): Promise<{ message: SlackMessage; jobId: number }> {
  const { pipeline, job } = ship("Container feature", jobs);
  expect(pipeline.status).toBe("success");
  await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, pipeline.id));
  const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)), 10_000);
  expect(messageText(ready)).toContain("deploy_production");
  await h.click(REQUESTER, ready, ACTIONS.promote);
  const message = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)), 10_000);
  await h.click(APPROVER_A, message, ACTIONS.approve);
  await h.slack.waitFor(() => plays().length === 1, 10_000);
  return { message, jobId: job.id };
}

describe("strategy gitlab-job", () => {
  it("announces a pipeline whose production job waits in manual, plays it once on approval, and finishes from the Job Hook", async () => {
    // Polling a minute apart: only the Job Hook can finish the request within the test.
    h = await e2e.start({
      pipeline: { strategy: "gitlab-job" },
      tuning: { pollFirstMs: 60_000, pollMaxMs: 60_000 },
    });
    const { message, jobId } = await announceAndApprove();
    expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(0);
    // The job deploys production (a new container release on Heroku), then GitLab sends its Job Hook.
    h.heroku.deploy(h.ids.production, h.gitlab.job(PROJECT_ID, jobId).sha ?? "c".repeat(40));
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "success");
    await h.sendGitLab(h.gitlab.jobEvent(PROJECT_ID, jobId));
    const done = await settled(message.ts, /Promoted/);
    const text = messageText(done);
    expect(text).toContain(`#${jobId}`);
    expect(text).toMatch(/whitewave-prod now runs v\d+/);
    expect(plays()).toHaveLength(1);
  });

  it("when GitLab played the job but its answer was lost, the bot sees the job running and does not play it again", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    h.gitlab.fault({ method: "POST", path: /\/jobs\/\d+\/play$/, times: 1, dropAfterHandling: true });
    const { message, jobId } = await announceAndApprove();
    await h.slack.waitFor(() =>
      /running|Promoting|promoting/.test(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)),
    );
    h.heroku.deploy(h.ids.production, h.gitlab.job(PROJECT_ID, jobId).sha ?? "c".repeat(40));
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "success");
    await settled(message.ts, /Promoted/);
    expect(plays()).toHaveLength(1);
  });

  it("when the play's answer is lost and GitLab cannot be read for a while after, the request is not failed and the job is played once", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const { pipeline, job } = ship("Container feature");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, pipeline.id));
    const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)), 10_000);
    await h.click(REQUESTER, ready, ACTIONS.promote);
    const message = await h.slack.waitFor(
      () => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)),
      10_000,
    );
    // GitLab plays the job but the answer is lost; then every read of the job fails for longer than
    // the window in which the bot looks for the play.
    h.gitlab.fault({ method: "POST", path: /\/jobs\/\d+\/play$/, times: 1, dropAfterHandling: true });
    h.gitlab.fault({
      method: "GET",
      path: /\/jobs\/\d+$/,
      times: 40,
      when: () => plays().length > 0,
      response: { status: 503, body: { message: "503 Service Unavailable" } },
    });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await h.slack.waitFor(() => plays().length === 1, 10_000);
    const playedAt = plays()[0]?.at ?? 0;
    const readsSincePlay = () => h.gitlab.callsTo("GET", /\/jobs\/\d+$/).filter((c) => c.at >= playedAt).length;
    await h.slack.waitFor(() => readsSincePlay() >= 40, 15_000);
    h.heroku.deploy(h.ids.production, job.sha ?? "c".repeat(40));
    h.gitlab.setJobStatus(PROJECT_ID, job.id, "success");
    await settled(message.ts, /Promoted/);
    expect(plays()).toHaveLength(1);
    const versions = h.slack.messages.find((m) => m.ts === message.ts)?.history ?? [];
    expect(versions.some((v) => /failed/i.test(v.text + JSON.stringify(v.blocks)))).toBe(false);
  }, 30_000);

  it("when GitLab refuses to play the job (403: a protected environment the bot's user may not deploy to), the request fails saying so and what to do, and nothing runs", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    h.gitlab.protectEnvironment(PROJECT_ID, "production");
    const { message, jobId } = await announceAndApprove([
      ...JOBS.slice(0, 2),
      { name: "deploy_production", stage: "production", status: "manual", when: "manual", environment: "production" },
    ]);
    const done = await settled(message.ts, /Promotion failed/);
    const text = messageText(done);
    expect(text).toContain("403");
    expect(text).toMatch(/protected environment/);
    expect(text).toMatch(/deploy access/);
    expect(text).not.toMatch(/refused the bot's token|GITLAB_TOKEN is valid/);
    expect(plays()).toHaveLength(1);
    expect(h.gitlab.job(PROJECT_ID, jobId).status).toBe("manual");
  });

  it("when a Job Hook cannot be processed because GitLab stays down, its delivery is retried a bounded number of times and ends failed with the reason", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const { jobId } = await announceAndApprove();
    h.gitlab.fault({
      method: "GET",
      path: /\/jobs\/\d+$/,
      times: Number.POSITIVE_INFINITY,
      when: () => plays().length > 0,
      response: { status: 503, body: { message: "503 Service Unavailable" } },
    });
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "success");
    await h.sendGitLab(h.gitlab.jobEvent(PROJECT_ID, jobId));
    const jobDelivery = async () =>
      (await h.bot.store.db.selectFrom("deliveries").selectAll().where("event", "=", "Job Hook").execute())[0];
    let row = await jobDelivery();
    for (let i = 0; i < 200 && row?.state !== "failed"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      row = await jobDelivery();
    }
    expect(row?.state).toBe("failed");
    expect(row?.attempts).toBe(6);
    expect(row?.last_error).toMatch(/gave up after 6 attempts: .*GitLab/);
    expect(plays()).toHaveLength(1);
  }, 40_000);

  it("finishes by polling when no Job Hook arrives", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const { message, jobId } = await announceAndApprove();
    const deployed = h.heroku.deploy(h.ids.production, h.gitlab.job(PROJECT_ID, jobId).sha ?? "c".repeat(40));
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "success");
    const done = await settled(message.ts, /Promoted/);
    expect(messageText(done)).toContain(`whitewave-prod now runs v${deployed.version}`);
    expect(plays()).toHaveLength(1);
  });

  it("when the job succeeds but production gets no new release, the request is not reported promoted and says what production still runs", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const before = h.heroku.currentRelease(h.ids.production);
    const { message, jobId } = await announceAndApprove();
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "success");
    const done = await settled(message.ts, /Promotion failed/);
    const text = messageText(done);
    expect(text).toContain(`the job succeeded but whitewave-prod still runs v${before?.version}`);
    expect(text).not.toMatch(/whitewave-prod now runs/);
    expect(plays()).toHaveLength(1);
  });

  it("when no runner picks the played job up before the follow limit, the message says it waits for a runner, not something about Heroku", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" }, tuning: { followLimitMs: 800 } });
    const { message, jobId } = await announceAndApprove();
    expect(h.gitlab.job(PROJECT_ID, jobId).status).toBe("pending");
    const done = await settled(message.ts, /waiting for a runner/);
    const text = messageText(done);
    expect(text).toContain(`#${jobId}`);
    expect(text).not.toMatch(/Heroku/);
    expect(text).not.toMatch(/Promotion failed/);
    expect(plays()).toHaveLength(1);
    // A runner picks it up later and the job deploys: its Job Hook carries the true outcome.
    h.heroku.deploy(h.ids.production, h.gitlab.job(PROJECT_ID, jobId).sha ?? "c".repeat(40));
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "success");
    await h.sendGitLab(h.gitlab.jobEvent(PROJECT_ID, jobId));
    const settledByHook = await settled(message.ts, /Promoted/);
    expect(messageText(settledByHook)).toMatch(/whitewave-prod now runs v\d+/);
    expect(plays()).toHaveLength(1);
  });

  it("reports a failed job with its failure reason and a link to its log", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const { message, jobId } = await announceAndApprove();
    h.gitlab.setJobStatus(PROJECT_ID, jobId, "failed", { failureReason: "script_failure" });
    const done = await settled(message.ts, /Promotion failed/);
    expect(messageText(done)).toContain("script_failure");
    expect(messageText(done)).toContain("see its log");
  });

  it("refuses a request when the job was already played by someone in GitLab", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const { pipeline, job } = ship("Played by hand");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, pipeline.id));
    const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)), 10_000);
    h.gitlab.setJobStatus(PROJECT_ID, job.id, "running");
    await h.click(REQUESTER, ready, ACTIONS.promote);
    await h.slack.waitFor(() => h.answersFor(REQUESTER).find((a) => a.includes("has already been played")), 10_000);
    expect(plays()).toHaveLength(0);
  });

  it("ends the request with an explanation when the job was played in GitLab during the approval", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    const { pipeline, job } = ship("Played meanwhile");
    await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, pipeline.id));
    const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)), 10_000);
    await h.click(REQUESTER, ready, ACTIONS.promote);
    const message = await h.slack.waitFor(
      () => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)),
      10_000,
    );
    h.gitlab.setJobStatus(PROJECT_ID, job.id, "success");
    await h.click(APPROVER_A, message, ACTIONS.approve);
    const done = await settled(message.ts, /Promotion failed/);
    expect(messageText(done)).toContain("already been played by someone in GitLab");
    expect(plays()).toHaveLength(0);
  });

  it("/promote targets the newest successful pipeline whose production job is still manual", async () => {
    h = await e2e.start({ pipeline: { strategy: "gitlab-job" } });
    ship("Older");
    const newer = ship("Newer");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(
      () => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)),
      10_000,
    );
    expect(messageText(message)).toContain(`#${newer.job.id}`);
  });
});
