/**
 * Two bot processes sharing one PostgreSQL, as two Heroku web dynos behind the router: a delivery sent
 * to both is processed once, Approve clicks spread over both promote once, and when the process
 * following a promotion dies, the other takes it over. PostgreSQL only (mandatory in CI).
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { KyselyStore } from "../../src/adapters/store/kysely-store.js";
import { ACTIONS } from "../../src/views/action-ids.js";
import { postgresDatabase, TEST_DATABASE_URL, type TestDatabase } from "../support/databases.js";
import {
  APPROVER_A,
  APPROVER_B,
  GROUP_APPROVER,
  messageText,
  PROJECT_ID,
  REQUESTER,
  startWorld,
  type World,
} from "../support/harness.js";
import { type BotProcess, openStore, PROCESS_TUNING, spawnBot, until } from "../support/processes.js";

beforeAll(() => {
  execFileSync(
    process.execPath,
    [join(import.meta.dirname, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    { cwd: join(import.meta.dirname, "../..") },
  );
}, 60_000);

// Child processes share the 2 CPUs with the rest of the suite; give them room (the flows take 1-3 s alone).
describe.skipIf(!TEST_DATABASE_URL)("two bot processes on one PostgreSQL", { timeout: 90_000 }, () => {
  let world: World;
  let db: TestDatabase;
  let store: KyselyStore;
  let a: BotProcess;
  let b: BotProcess;

  async function start(
    requiredApprovals = 1,
    skews: [number, number] = [0, 0],
    tuning = PROCESS_TUNING,
  ): Promise<void> {
    db = await postgresDatabase();
    world = await startWorld({ db, pipeline: { requiredApprovals } });
    store = openStore(world);
    [a, b] = await Promise.all([
      spawnBot(world, tuning, { clockSkewMs: skews[0] }),
      spawnBot(world, tuning, { clockSkewMs: skews[1] }),
    ]);
    world.url = a.url;
  }

  afterEach(async () => {
    await Promise.all([a?.kill("SIGKILL"), b?.kill("SIGKILL")]);
    await store?.close();
    await world?.close();
    await db?.drop();
  });

  const approvalMessage = () => world.approvalMessage();
  const posts = () => world.heroku.callsTo("POST", "/pipeline-promotions");

  it("when the same GitLab delivery reaches both, then one staging-ready message is posted", async () => {
    await start();
    const shipped = world.shipToStaging("Delivered twice");
    const delivery = world.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId);
    const responses = await Promise.all([world.sendGitLab(delivery, a.url), world.sendGitLab(delivery, b.url)]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    await world.slack.waitFor(() => world.channelMessages().length === 1, 30_000);
    // Give the other process every chance to post a duplicate.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(world.channelMessages()).toHaveLength(1);
    const rows = await store.db.selectFrom("deliveries").selectAll().execute();
    expect(rows).toHaveLength(1);
  });

  it("when Approve clicks are spread over both, then exactly one promotion is posted", async () => {
    await start(2);
    world.shipToStaging("Clicked everywhere");
    await world.slash(REQUESTER, "whitewave", a.url);
    const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
    const clickers = [APPROVER_A, APPROVER_B, GROUP_APPROVER];
    const clickedAt = Date.now();
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        world.click(clickers[i % clickers.length]!, message, ACTIONS.approve, i % 2 === 0 ? a.url : b.url),
      ),
    );
    try {
      await world.slack.waitFor(() => {
        const m = world.slack.messages.find((x) => x.ts === message.ts);
        return m && /Promoted/.test(messageText(m));
      }, 60_000);
    } catch (e) {
      // Diagnostics for a failure seen once under heavy load (not reproduced since).
      console.log(JSON.stringify(await store.db.selectFrom("requests").selectAll().execute()));
      console.log(JSON.stringify(await store.db.selectFrom("approvals").selectAll().execute()));
      console.log(
        a
          .output()
          .split("\n")
          .filter((l) => /error|warn|"level":[45]0/.test(l))
          .slice(0, 10)
          .join("\n"),
      );
      console.log(
        b
          .output()
          .split("\n")
          .filter((l) => /error|warn|"level":[45]0/.test(l))
          .slice(0, 10)
          .join("\n"),
      );
      throw e;
    }
    console.info(`30 clicks over two processes to a promoted message: ${Date.now() - clickedAt} ms`);
    await new Promise((r) => setTimeout(r, 500));
    expect(posts()).toHaveLength(1);
  });

  for (const skews of [
    [0, 0],
    // Clocks 4 minutes apart: the lease runs out by the database's clock, so the takeover is as quick.
    [120_000, -120_000],
    [-120_000, 120_000],
  ] as Array<[number, number]>) {
    it(`when the process following a promotion dies, then the other takes it over and reports it (clock skews ${skews.join(", ")} ms)`, async () => {
      await start(1, skews);
      world.shipToStaging("Taken over");
      world.heroku.promotionBehaviour.pollsUntilDone = 1_000_000;
      await world.slash(REQUESTER, "whitewave", a.url);
      const message = await world.slack.waitFor(() => approvalMessage(), 30_000);
      await world.click(APPROVER_A, message, ACTIONS.approve, a.url);
      const row = await until("a lease on the promotion", async () => {
        const r = (await store.db.selectFrom("requests").selectAll().execute())[0];
        return r?.promotion_id && r.lease_owner ? r : undefined;
      });
      const follower = row.lease_owner?.includes(`:${a.child.pid}:`) ? a : b;
      const other = follower === a ? b : a;
      const killedAt = Date.now();
      await follower.kill("SIGKILL");
      const polls = world.heroku.calls.length;
      await until(
        "the other process to follow",
        async () => world.heroku.calls.slice(polls).some((c) => c.path.endsWith("/promotion-targets")),
        30_000,
      );
      const takeoverMs = Date.now() - killedAt;
      world.heroku.completePromotion(row.promotion_id as string);
      await world.slack.waitFor(() => {
        const m = world.slack.messages.find((x) => x.ts === message.ts);
        return m && /Promoted/.test(messageText(m));
      }, 30_000);
      expect(posts()).toHaveLength(1);
      expect(other.output()).toContain("promotion finished");
      // Test timings: a 1.5 s lease swept every 200 ms. (Production: 15 s lease, 10 s sweep: under 30 s.)
      expect(takeoverMs).toBeLessThan(30_000);
      console.info(`takeover after SIGKILL (skews ${skews.join(", ")} ms): ${takeoverMs} ms`);
    });
  }

  it("when a slow post of a request's message is in flight on one process, the other (its clock 4 minutes ahead) does not post it again", async () => {
    // The grace outlasts the slow post; the claim on posting is timed by the database's clock, so the
    // other process's clock does not make the claim look stale (it did before: 2 messages).
    await start(1, [-120_000, 120_000], { ...PROCESS_TUNING, messageGraceMs: 5_000 });
    world.shipToStaging("Slow post, skewed clocks");
    world.slack.fault({ method: "POST", path: "/api/chat.postMessage", times: 1, delayMs: 3_000 });
    await world.slash(REQUESTER, "whitewave", a.url);
    await world.slack.waitFor(() => approvalMessage(), 30_000);
    // Past the slow post and several sweeps of both processes.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(world.channelMessages().filter((m) => /Promotion requested/.test(messageText(m)))).toHaveLength(1);
  });
});
