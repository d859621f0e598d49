/**
 * SIGKILL at each step of a promotion, then a new process on the same store: the request ends in its
 * true state, the Slack message shows it, and no release is promoted twice. SIGTERM drains.
 * Runs on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set (mandatory in CI).
 */

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/adapters/store/kysely-store.js";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import { BACKENDS, type TestDatabase } from "../support/databases.js";
import {
  APPROVER_A,
  APPROVER_B,
  buttonValue,
  messageText,
  type PipelineOptions,
  PROJECT_ID,
  REQUESTER,
  startWorld,
  type World,
} from "../support/harness.js";
import { type BotProcess, openStore, spawnBot, until } from "../support/processes.js";

beforeAll(() => {
  // The processes run the compiled server; make sure dist/ is current.
  execFileSync(
    process.execPath,
    [join(import.meta.dirname, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: join(import.meta.dirname, "../.."),
    },
  );
}, 60_000);

// Child processes share the 2 CPUs with the rest of the suite; give them room (each scenario takes 1-4 s alone).
describe.each(BACKENDS)("crash recovery on $name", { timeout: 90_000 }, ({ create }) => {
  let world: World;
  let db: TestDatabase;
  let store: KyselyStore;
  const bots: BotProcess[] = [];

  async function start(pipeline: PipelineOptions = {}) {
    db = await create();
    world = await startWorld({ db, pipeline });
    store = openStore(world);
  }

  async function bot(): Promise<BotProcess> {
    const b = await spawnBot(world);
    bots.push(b);
    world.url = b.url;
    return b;
  }

  afterEach(async () => {
    for (const b of bots.splice(0)) await b.kill("SIGKILL");
    await store?.close();
    await world?.close();
    await db?.drop();
  });

  const approvalMessage = () => world.approvalMessage();
  const posts = () => world.heroku.callsTo("POST", "/pipeline-promotions");
  const requestRow = async () => (await store.db.selectFrom("requests").selectAll().execute())[0];
  const finalMessage = (ts: string, pattern: RegExp) => world.messageMatching(ts, pattern, 30_000);

  it("when killed after the request is stored but before its message is posted, the next process posts it once", async () => {
    await start();
    world.shipToStaging("Crash before posting");
    const a = await bot();
    world.slack.fault({ path: "/api/chat.postMessage", delayMs: 10_000, drop: true, times: 1 });
    await world.slash(REQUESTER, "whitewave");
    await until("the stored request", requestRow);
    await a.kill("SIGKILL");
    world.slack.clearFaults();
    await bot();
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    expect(world.channelMessages()).toHaveLength(1);
    await world.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
    expect(posts()).toHaveLength(1);
  });

  it("when killed after an approval is stored, the approval counts and the next approval promotes once", async () => {
    await start({ requiredApprovals: 2 });
    world.shipToStaging("Crash after approval");
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    const requestId = buttonValue(message, ACTIONS.approve) as string;
    await world.click(APPROVER_A, message, ACTIONS.approve);
    await until("the first approval", async () => (await store.approvals(requestId)).length === 1);
    await a.kill("SIGKILL");
    await bot();
    await world.clickValue(APPROVER_B, message, ACTIONS.approve, requestId);
    await finalMessage(message.ts, /Promoted/);
    expect(posts()).toHaveLength(1);
  });

  it("when killed between the completing approval and the move to promoting, the next process promotes once", async () => {
    await start({ requiredApprovals: 2 });
    world.shipToStaging("Crash inside approve");
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    const requestId = buttonValue(message, ACTIONS.approve) as string;
    await world.click(APPROVER_A, message, ACTIONS.approve);
    await until("the first approval", async () => (await store.approvals(requestId)).length === 1);
    await a.kill("SIGKILL");
    // The state a kill right after the second approval's insert leaves behind.
    await store.addApproval({ requestId, approver: APPROVER_B, at: new Date() });
    await bot();
    await finalMessage(message.ts, /Promoted/);
    expect(posts()).toHaveLength(1);
  });

  it("when killed while the promotion POST is in flight and Heroku acted on it, the next process follows it without posting again", async () => {
    await start();
    world.shipToStaging("Crash during POST");
    world.heroku.promotionBehaviour.pollsUntilDone = 0;
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    // Heroku takes 800 ms to answer; the process dies meanwhile, Heroku carries on.
    world.heroku.fault({ method: "POST", path: "/pipeline-promotions", delayMs: 800, times: 1 });
    await world.click(APPROVER_A, message, ACTIONS.approve);
    await until("the POST to reach Heroku", async () => posts().length === 1);
    await a.kill("SIGKILL");
    await until("Heroku to create the promotion", async () => world.heroku.promotions.length === 1);
    await bot();
    const done = await finalMessage(message.ts, /Promoted/);
    expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
    expect(posts()).toHaveLength(1);
    expect(world.heroku.promotions).toHaveLength(1);
    expect((await requestRow())?.state).toBe("succeeded");
  });

  it("when killed while the promotion POST is in flight and it never reached Heroku, the next process posts it once", async () => {
    await start();
    world.shipToStaging("Crash, POST lost");
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    world.heroku.fault({ method: "POST", path: "/pipeline-promotions", delayMs: 800, drop: true, times: 1 });
    await world.click(APPROVER_A, message, ACTIONS.approve);
    await until("the POST to reach Heroku", async () => posts().length === 1);
    await a.kill("SIGKILL");
    await bot();
    await finalMessage(message.ts, /Promoted/);
    expect(world.heroku.promotions).toHaveLength(1);
    expect(posts()).toHaveLength(2);
  });

  it("when killed while following a pending promotion, the next process takes it over and reports it", async () => {
    await start();
    world.shipToStaging("Crash while following");
    world.heroku.promotionBehaviour.pollsUntilDone = 1_000_000;
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    await world.click(APPROVER_A, message, ACTIONS.approve);
    const row = await until("the promotion id", async () => {
      const r = await requestRow();
      return r?.promotion_id ? r : undefined;
    });
    await a.kill("SIGKILL");
    const b = await bot();
    const polled = world.heroku.calls.length;
    await until("the new process to poll", async () =>
      world.heroku.calls.slice(polled).some((c) => c.path.endsWith("/promotion-targets")),
    );
    world.heroku.completePromotion(row.promotion_id as string);
    await finalMessage(message.ts, /Promoted/);
    expect(posts()).toHaveLength(1);
    await until("the lease to be released", async () => (await requestRow())?.lease_owner === null);
    expect(b.output()).toContain("promotion finished");
  });

  it("gitlab-job: when killed between the approval and the job's play, the next process plays it at most once and reports it", async () => {
    await start({ strategy: "gitlab-job" });
    const commit = world.gitlab.commit(PROJECT_ID, "main", "Container change");
    const pipeline = world.gitlab.addPipeline(PROJECT_ID, commit.id, {
      ref: "main",
      jobs: [
        { name: "deploy_staging", status: "success" },
        { name: "deploy_production", status: "manual", when: "manual" },
      ],
    });
    const job = world.gitlab.jobs(PROJECT_ID, pipeline.id).find((j) => j.name === "deploy_production")!;
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    // GitLab takes 800 ms to answer the play; the process dies meanwhile, GitLab carries on.
    world.gitlab.fault({ method: "POST", path: /\/jobs\/\d+\/play$/, delayMs: 800, times: 1 });
    await world.click(APPROVER_A, message, ACTIONS.approve);
    const plays = () => world.gitlab.callsTo("POST", /\/jobs\/\d+\/play$/);
    await until("the play to reach GitLab", async () => plays().length === 1);
    await a.kill("SIGKILL");
    await until("GitLab to start the job", async () => world.gitlab.job(PROJECT_ID, job.id).status !== "manual");
    await bot();
    // The job deploys production (a new release on Heroku), then succeeds.
    world.heroku.deploy(world.ids.production, job.sha ?? "c".repeat(40));
    world.gitlab.setJobStatus(PROJECT_ID, job.id, "success");
    await finalMessage(message.ts, /Promoted/);
    expect(plays()).toHaveLength(1);
  });

  it("when sent SIGTERM while following, it exits 0 and releases its lease so the next process continues at once", async () => {
    await start();
    world.shipToStaging("Drain");
    world.heroku.promotionBehaviour.pollsUntilDone = 1_000_000;
    const a = await bot();
    await world.slash(REQUESTER, "whitewave");
    const message: SlackMessage = await world.slack.waitFor(() => approvalMessage(), 30_000);
    await world.click(APPROVER_A, message, ACTIONS.approve);
    const row = await until("the promotion id", async () => {
      const r = await requestRow();
      return r?.promotion_id && r.lease_owner ? r : undefined;
    });
    expect(await a.kill("SIGTERM")).toBe(0);
    expect((await requestRow())?.lease_owner).toBeNull();
    expect(a.output()).toContain("promote-bot stopped");
    await bot();
    world.heroku.completePromotion(row.promotion_id as string);
    await finalMessage(message.ts, /Promoted/);
    expect(posts()).toHaveLength(1);
  });
});
