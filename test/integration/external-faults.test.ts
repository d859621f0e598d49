/**
 * Heroku, GitLab and Slack failing in every way a remote service fails (500, 503, 429 with Retry-After,
 * timeouts, dropped connections), and the store going away: bounded retries, one clear message,
 * consistent stored state, and a process that keeps serving.
 */
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { Fault } from "../../stand-ins/http-stand-in.js";
import { postgresDatabase, TEST_DATABASE_URL } from "../support/databases.js";
import {
  APPROVER_A,
  assertNoSecrets,
  buttonValue,
  type Harness,
  messageText,
  PROJECT_ID,
  REQUESTER,
  useHarness,
} from "../support/harness.js";
import { TcpProxy } from "../support/tcp-proxy.js";

let h: Harness;
const e2e = useHarness();

const { approvalMessage } = e2e;
const finalMessage = (ts: string, pattern: RegExp) => h.messageMatching(ts, pattern, 10_000);

type FaultKind = { name: string; fault: Omit<Fault, "path" | "method"> };

const TRANSIENT: FaultKind[] = [
  { name: "500", fault: { response: { status: 500, body: { id: "internal", message: "Internal error" } } } },
  { name: "503", fault: { response: { status: 503, body: { id: "unavailable", message: "Unavailable" } } } },
  {
    name: "429 with Retry-After",
    fault: {
      response: { status: 429, headers: { "Retry-After": "0" }, body: { id: "rate_limit", message: "Slow down" } },
    },
  },
  { name: "a timeout", fault: { delayMs: 1_500 } },
  { name: "a dropped connection", fault: { drop: true } },
];

describe("Heroku failing transiently while the bot reads it", () => {
  it.each(TRANSIENT)(
    "when reading releases fails twice with $name, then the promotion still goes through once",
    async ({ fault }) => {
      h = await e2e.start({ tuning: { httpTimeoutMs: 500 } });
      h.shipToStaging("Flaky Heroku");
      h.heroku.fault({ ...fault, method: "GET", path: /\/releases$/, times: 2 });
      await h.slash(REQUESTER, "whitewave");
      const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
      h.heroku.fault({ ...fault, method: "GET", path: /\/promotion-targets$/, times: 2 });
      await h.click(APPROVER_A, message, ACTIONS.approve);
      await finalMessage(message.ts, /Promoted/);
      expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(1);
    },
  );

  it("when Heroku keeps failing while a request is asked for, then the requester is told once and nothing is stored", async () => {
    h = await e2e.start({ tuning: { httpTimeoutMs: 500 } });
    // The bot reads the pipeline's apps once at start-up (for Heroku's events): let that finish first.
    await h.bot.bot.worker.idle();
    const earlier = h.heroku.callsTo("GET", /^\/pipelines\//).length;
    h.shipToStaging("Heroku down");
    h.heroku.fault({
      method: "GET",
      path: /^\/pipelines\//,
      times: 1_000,
      response: { status: 503, body: { id: "unavailable", message: "Unavailable" } },
    });
    await h.slash(REQUESTER, "whitewave");
    const answer = await h.slack.waitFor(() => h.answersFor(REQUESTER).find((a) => a.includes("503")), 10_000);
    expect(answer).toContain("Heroku answered 503");
    expect(h.answersFor(REQUESTER)).toHaveLength(1);
    // Bounded: the adapter's 4 attempts, no more.
    expect(h.heroku.callsTo("GET", /^\/pipelines\//).slice(earlier)).toHaveLength(4);
    expect(await h.bot.store.db.selectFrom("requests").selectAll().execute()).toHaveLength(0);
  });
});

describe("GitLab failing", () => {
  it.each(TRANSIENT)(
    "when the CI check fails twice with $name, then the request is still created",
    async ({ fault }) => {
      h = await e2e.start({ tuning: { httpTimeoutMs: 500 } });
      h.shipToStaging("Flaky GitLab");
      h.gitlab.fault({ ...fault, method: "GET", path: /\/pipelines$/, times: 2 });
      await h.slash(REQUESTER, "whitewave");
      await h.slack.waitFor(() => approvalMessage(), 10_000);
    },
  );

  it("when GitLab stays down, then the requester is told GitLab could not be checked and nothing is stored", async () => {
    h = await e2e.start({ tuning: { httpTimeoutMs: 500 } });
    h.shipToStaging("GitLab down");
    h.gitlab.fault({
      method: "GET",
      path: /\/pipelines$/,
      times: 1_000,
      response: { status: 503, body: { message: "503 Service Unavailable" } },
    });
    await h.slash(REQUESTER, "whitewave");
    await h.slack.waitFor(() => h.answersFor(REQUESTER).find((a) => a.includes("GitLab answered 503")), 10_000);
    expect(await h.bot.store.db.selectFrom("requests").selectAll().execute()).toHaveLength(0);
  });
});

describe("Slack failing", () => {
  it("when Slack cannot be reached while the bot starts, then the bot keeps running and serves Slack once it is back", async () => {
    // Bolt checks the bot token (auth.test) as the app is built and kept a failure for good: an
    // unhandled rejection at start-up (which ends a Node.js process) and every later event refused.
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    let proxy: TcpProxy | undefined;
    try {
      h = await e2e.start({
        beforeStart: async (world) => {
          const api = new URL(world.slack.apiUrl);
          proxy = new TcpProxy(api.hostname, Number(api.port));
          const port = await proxy.start();
          proxy.cut();
          world.env.SLACK_API_URL = `http://127.0.0.1:${port}${api.pathname}`;
        },
        afterStop: async () => {
          await proxy?.close();
        },
      });
      h.shipToStaging("Slack was down at boot");
      // Longer than WebClient's retries of the token check (0.5 + 1 + 2 s).
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
      proxy?.restore();
      await h.slash(REQUESTER, "whitewave");
      await h.slack.waitFor(() => approvalMessage(), 10_000);
      expect(rejections).toEqual([]);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });

  it("when chat.update is rate limited, then the WebClient waits it out and the message is brought up to date", async () => {
    h = await e2e.start();
    h.shipToStaging("Slack busy");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    h.slack.rateLimit("chat.update", { retryAfterSeconds: 1, times: 1 });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await finalMessage(message.ts, /Promoted/);
  });

  it("when Slack is down while a promotion finishes, then the stored state is still the truth, and the message catches up once Slack is back", {
    timeout: 40_000,
  }, async () => {
    // A 1 s Slack timeout: the sweep settles a message once a Slack call started before the change can
    // no longer land (4 attempts and the waits between them: 7.5 s here, 43.5 s with the defaults).
    h = await e2e.start({ tuning: { slackTimeoutMs: 1_000 } });
    h.shipToStaging("Slack down");
    await h.slash(REQUESTER, "whitewave");
    const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
    h.slack.fault({ path: /^\/api\/chat\./, times: 1_000, response: { status: 500, body: "oops" } });
    await h.click(APPROVER_A, message, ACTIONS.approve);
    await h.slack.waitFor(() => h.heroku.callsTo("POST", "/pipeline-promotions").length === 1, 10_000);
    const state = async () => (await h.bot.store.db.selectFrom("requests").select("state").execute())[0]?.state;
    for (let i = 0; i < 200 && (await state()) !== "succeeded"; i++) await new Promise((r) => setTimeout(r, 25));
    expect(await state()).toBe("succeeded");
    const audit = await h.bot.store.db.selectFrom("audit").select("event").where("event", "=", "succeeded").execute();
    expect(audit).toHaveLength(1);
    const healthy = await fetch(`${h.bot.url}/healthz`);
    expect(healthy.status).toBe(200);
    // Nothing changes any more, yet the sweep brings the message to the outcome once Slack answers.
    await h.slack.waitFor(() => h.logs.text.includes("could not update the request's Slack message"), 20_000);
    await h.bot.bot.worker.idle();
    expect(messageText(h.slack.messages.find((m) => m.ts === message.ts)!)).not.toMatch(/Promoted/);
    h.slack.clearFaults();
    await h.messageMatching(message.ts, /Promoted/, 15_000);
  });
});

/** A fresh PostgreSQL database reached through a TCP proxy the test can cut or drop statements on. */
async function proxiedPostgres() {
  const base = await postgresDatabase();
  const target = new URL(base.url);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  await proxy.start();
  const url = new URL(base.url);
  url.port = String(proxy.port);
  const proxied = { ...base, url: url.toString(), config: { kind: "postgres" as const, url: url.toString() } };
  return { db: base, proxied, proxy };
}

describe.skipIf(!TEST_DATABASE_URL)("PostgreSQL briefly unavailable", () => {
  it("makes /healthz 503 and requests fail cleanly, then everything works again", async () => {
    const { db, proxied, proxy } = await proxiedPostgres();
    try {
      h = await e2e.start({ db: proxied });
      h.shipToStaging("Store down");
      expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
      proxy.cut();
      const unhealthy = await fetch(`${h.bot.url}/healthz`);
      expect(unhealthy.status).toBe(503);
      await h.slash(REQUESTER, "whitewave");
      await h.slack.waitFor(() => h.answersFor(REQUESTER).find((a) => a.includes("Something went wrong")), 15_000);
      const delivery = h.gitlab.pipelineEvent(PROJECT_ID, h.gitlab.pipelines(PROJECT_ID).at(-1)!.id);
      // Not recorded, so GitLab is asked to retry: the one honest 5xx.
      expect((await h.sendGitLab(delivery)).status).toBe(503);
      proxy.restore();
      await h.slack.waitFor(async () => (await fetch(`${h.bot.url}/healthz`)).status === 200, 10_000);
      for (let i = 0; i < 50 && (await fetch(`${h.bot.url}/healthz`)).status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await fetch(`${h.bot.url}/healthz`)).status).toBe(200);
      expect((await h.sendGitLab(delivery)).status).toBe(200);
      await h.slash(REQUESTER, "whitewave");
      await h.slack.waitFor(() => approvalMessage(), 10_000);
    } finally {
      await h.close();
      await proxy.close();
      await db.drop();
    }
  });
});

describe.skipIf(!TEST_DATABASE_URL)("a PostgreSQL connection dropped in the middle of a transaction", () => {
  it("when the move to promoting loses its connection before its audit row, nothing of it stays, and the sweep promotes once", async () => {
    const { db, proxied, proxy } = await proxiedPostgres();
    try {
      h = await e2e.start({ db: proxied });
      h.shipToStaging("Cut mid-transaction");
      await h.slash(REQUESTER, "whitewave");
      const message = await h.slack.waitFor(() => approvalMessage(), 10_000);
      const id = buttonValue(message, ACTIONS.approve) as string;
      // The audit row of the move to promoting is the transaction's second statement: the UPDATE of the
      // request was sent, the connection drops before the INSERT reaches PostgreSQL.
      proxy.dropWhen((text) => text.includes('insert into "audit"') && text.includes("promoting"));
      await h.click(APPROVER_A, message, ACTIONS.approve);
      await h.messageMatching(message.ts, /Promoted/, 20_000);
      expect(h.heroku.callsTo("POST", "/pipeline-promotions")).toHaveLength(1);
      const events = (await h.bot.store.auditFor(id)).map((e) => e.event);
      // Every state change has its row, once: the rolled-back attempt left none.
      expect(events.filter((e) => e === "promoting")).toHaveLength(1);
      expect(events.filter((e) => e === "succeeded")).toHaveLength(1);
      expect(proxy.dropped).toBe(1);
    } finally {
      await h.close();
      await proxy.close();
      await db.drop();
    }
  });
});

describe("the secret check itself", () => {
  it("fails when a secret reaches the logs", async () => {
    h = await e2e.start();
    expect(() => assertNoSecrets(h, `token=${h.env.HEROKU_API_TOKEN}`)).toThrow(/HEROKU_API_TOKEN/);
    expect(() => assertNoSecrets(h, "nothing secret")).not.toThrow();
  });
});

describe("Heroku's rate limit running low", () => {
  it("when RateLimit-Remaining is low, then the bot spaces its calls out instead of running into 429", async () => {
    h = await e2e.start();
    h.shipToStaging("Low on tokens");
    h.heroku.rateLimitRemaining = 30;
    await h.slash(REQUESTER, "whitewave");
    await h.slack.waitFor(() => approvalMessage(), 20_000);
    expect(h.logs.text).toContain("Heroku rate limit is low; slowing down");
    const times = h.heroku.calls.map((c) => c.at);
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    // Each call after the first low reading waits for the pool to refill a little.
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(200);
    expect(h.heroku.rateLimitRemaining).toBeGreaterThan(0);
  });
});
