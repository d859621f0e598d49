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

  /** What one crash scenario shares between its steps. */
  interface Scene {
    message: SlackMessage;
    requestId: string;
    promotionId: string;
    plays: () => unknown[];
    jobId: number;
  }

  /**
   * SIGKILL at each step of a request's life. Each point drives the flow with a first process up to
   * the kill (`upTo`), optionally writes what a kill at exactly that instant leaves behind when the
   * test cannot time the kill itself (`leftBehind`), then a second process is started and `after`
   * finishes the flow; `expect` checks the stand-ins' records (how many POSTs, promotions, plays).
   */
  interface CrashPoint {
    killed: string;
    pipeline?: PipelineOptions;
    upTo: (scene: Scene) => Promise<void>;
    leftBehind?: (scene: Scene) => Promise<void>;
    after: (scene: Scene, next: BotProcess) => Promise<void>;
    expect: (scene: Scene, next: BotProcess) => Promise<void>;
  }

  const ask = async (scene: Scene, title: string) => {
    world.shipToStaging(title);
    await world.slash(REQUESTER, "whitewave");
    scene.message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    scene.requestId = buttonValue(scene.message, ACTIONS.approve) as string;
  };
  const promoted = async (scene: Scene) => {
    await finalMessage(scene.message.ts, /Promoted/);
  };

  const CRASH_POINTS: CrashPoint[] = [
    {
      killed: "after the request is stored but before its message is posted; the next process posts it once",
      upTo: async () => {
        world.shipToStaging("Crash before posting");
        world.slack.fault({ path: "/api/chat.postMessage", delayMs: 10_000, drop: true, times: 1 });
        await world.slash(REQUESTER, "whitewave");
        await until("the stored request", requestRow);
      },
      after: async (scene) => {
        world.slack.clearFaults();
        scene.message = await world.slack.waitFor(() => approvalMessage(), 30_000);
        expect(world.channelMessages()).toHaveLength(1);
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        await promoted(scene);
      },
      expect: async () => expect(posts()).toHaveLength(1),
    },
    {
      killed: "after an approval is stored; the approval counts and the next approval promotes once",
      pipeline: { requiredApprovals: 2 },
      upTo: async (scene) => {
        await ask(scene, "Crash after approval");
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        await until("the first approval", async () => (await store.approvals(scene.requestId)).length === 1);
      },
      after: async (scene) => {
        await world.clickValue(APPROVER_B, scene.message, ACTIONS.approve, scene.requestId);
        await promoted(scene);
      },
      expect: async () => expect(posts()).toHaveLength(1),
    },
    {
      killed: "between the completing approval and the move to promoting; the next process promotes once",
      pipeline: { requiredApprovals: 2 },
      upTo: async (scene) => {
        await ask(scene, "Crash inside approve");
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        await until("the first approval", async () => (await store.approvals(scene.requestId)).length === 1);
      },
      // The state a kill right after the second approval's insert leaves behind.
      leftBehind: async (scene) => {
        await store.addApproval({ requestId: scene.requestId, approver: APPROVER_B, at: new Date() });
      },
      after: promoted,
      expect: async () => expect(posts()).toHaveLength(1),
    },
    {
      killed:
        "while the promotion POST is in flight and Heroku acted on it; the next process follows it without posting again",
      upTo: async (scene) => {
        world.heroku.promotionBehaviour.pollsUntilDone = 0;
        await ask(scene, "Crash during POST");
        // Heroku takes 800 ms to answer; the process dies meanwhile, Heroku carries on.
        world.heroku.fault({ method: "POST", path: "/pipeline-promotions", delayMs: 800, times: 1 });
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        await until("the POST to reach Heroku", async () => posts().length === 1);
      },
      leftBehind: async () => {
        await until("Heroku to create the promotion", async () => world.heroku.promotions.length === 1);
      },
      after: async (scene) => {
        const done = await finalMessage(scene.message.ts, /Promoted/);
        expect(messageText(done)).toMatch(/whitewave-prod now runs v\d+/);
      },
      expect: async () => {
        expect(posts()).toHaveLength(1);
        expect(world.heroku.promotions).toHaveLength(1);
        expect((await requestRow())?.state).toBe("succeeded");
      },
    },
    {
      killed: "while the promotion POST is in flight and it never reached Heroku; the next process posts it once",
      upTo: async (scene) => {
        await ask(scene, "Crash, POST lost");
        world.heroku.fault({ method: "POST", path: "/pipeline-promotions", delayMs: 800, drop: true, times: 1 });
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        await until("the POST to reach Heroku", async () => posts().length === 1);
      },
      after: promoted,
      expect: async () => {
        expect(world.heroku.promotions).toHaveLength(1);
        expect(posts()).toHaveLength(2);
      },
    },
    {
      killed: "while following a pending promotion; the next process takes it over and reports it",
      upTo: async (scene) => {
        world.heroku.promotionBehaviour.pollsUntilDone = 1_000_000;
        await ask(scene, "Crash while following");
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        const row = await until("the promotion id", async () => {
          const r = await requestRow();
          return r?.promotion_id ? r : undefined;
        });
        scene.promotionId = row.promotion_id as string;
      },
      after: async (scene) => {
        const polled = world.heroku.calls.length;
        await until("the new process to poll", async () =>
          world.heroku.calls.slice(polled).some((c) => c.path.endsWith("/promotion-targets")),
        );
        world.heroku.completePromotion(scene.promotionId);
        await promoted(scene);
      },
      expect: async (_scene, next) => {
        expect(posts()).toHaveLength(1);
        await until("the lease to be released", async () => (await requestRow())?.lease_owner === null);
        expect(next.output()).toContain("promotion finished");
      },
    },
    {
      killed:
        "between the approval and the play of a gitlab-job pipeline's job; the next process plays it at most once and reports it",
      pipeline: { strategy: "gitlab-job" },
      upTo: async (scene) => {
        const commit = world.gitlab.commit(PROJECT_ID, "main", "Container change");
        const pipeline = world.gitlab.addPipeline(PROJECT_ID, commit.id, {
          ref: "main",
          jobs: [
            { name: "deploy_staging", status: "success" },
            { name: "deploy_production", status: "manual", when: "manual" },
          ],
        });
        scene.jobId = world.gitlab.jobs(PROJECT_ID, pipeline.id).find((j) => j.name === "deploy_production")!.id;
        await world.slash(REQUESTER, "whitewave");
        scene.message = await world.slack.waitFor(() => approvalMessage(), 30_000);
        // GitLab takes 800 ms to answer the play; the process dies meanwhile, GitLab carries on.
        world.gitlab.fault({ method: "POST", path: /\/jobs\/\d+\/play$/, delayMs: 800, times: 1 });
        await world.click(APPROVER_A, scene.message, ACTIONS.approve);
        scene.plays = () => world.gitlab.callsTo("POST", /\/jobs\/\d+\/play$/);
        await until("the play to reach GitLab", async () => scene.plays().length === 1);
      },
      leftBehind: async (scene) => {
        await until(
          "GitLab to start the job",
          async () => world.gitlab.job(PROJECT_ID, scene.jobId).status !== "manual",
        );
      },
      after: async (scene) => {
        // The job deploys production (a new release on Heroku), then succeeds.
        const job = world.gitlab.job(PROJECT_ID, scene.jobId);
        world.heroku.deploy(world.ids.production, job.sha ?? "c".repeat(40));
        world.gitlab.setJobStatus(PROJECT_ID, scene.jobId, "success");
        await promoted(scene);
      },
      expect: async (scene) => expect(scene.plays()).toHaveLength(1),
    },
  ];

  for (const point of CRASH_POINTS) {
    it(`when killed ${point.killed}`, async () => {
      await start(point.pipeline);
      const scene = { plays: () => [] } as unknown as Scene;
      const first = await bot();
      await point.upTo(scene);
      await first.kill("SIGKILL");
      await point.leftBehind?.(scene);
      const next = await bot();
      await point.after(scene, next);
      await point.expect(scene, next);
    });
  }

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
