/**
 * The sandbox's own HTTP interface, as its web page uses it: the real bot process on the simulated
 * world, driven by commands, clicks and the world's switches. (The page itself: test/browser.)
 */
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Sandbox, startSandbox } from "../../sandbox/server.js";
import { ACTIONS } from "../../src/views/action-ids.js";
import type { SlackMessage } from "../../stand-ins/slack.js";
import { APPROVER_A, BYSTANDER, buttonValue, messageText, REQUESTER } from "../support/harness.js";
import { until } from "../support/processes.js";

interface PageState {
  messages: Array<{ ts: string; text: string; blocks: unknown[]; replies: Array<{ text: string }> }>;
  ephemerals: Array<{ id: number; text: string }>;
  bot: { status: string; pid: number | null; restarts: number };
  world: { staging: { version: number }; production: { version: number }; failNextPromotion: boolean };
  activity: Array<{ service: string; line: string }>;
  home: { blocks: unknown[] } | null;
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
}, 60_000);
afterAll(async () => {
  await sandbox?.close();
});

async function post(path: string, body: Record<string, unknown>): Promise<{ ok: boolean; error?: string }> {
  const response = await fetch(`${sandbox.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { ok: boolean; error?: string };
}

async function stateOf(user: string): Promise<PageState> {
  return (await (await fetch(`${sandbox.url}/api/state?user=${user}`)).json()) as PageState;
}

const slack = () => sandbox.world.slack;

async function approvalMessage(): Promise<SlackMessage> {
  return slack().waitFor(() => slack().messages.find((m) => buttonValue(m, ACTIONS.approve)), 15_000);
}

describe("the sandbox", () => {
  it("serves the page, and each person's state shows only their own ephemeral answers", async () => {
    const page = await fetch(sandbox.url);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("app.js");
    expect((await post("/api/command", { user: REQUESTER, text: "/promote help" })).ok).toBe(true);
    await slack().waitFor(() => slack().ephemerals.some((e) => e.user === REQUESTER));
    expect((await stateOf(REQUESTER)).ephemerals.map((e) => e.text)).toEqual([expect.stringMatching(/commands/)]);
    expect((await stateOf(BYSTANDER)).ephemerals).toEqual([]);
    expect(await post("/api/command", { user: REQUESTER, text: "/deploy now" })).toEqual({
      ok: false,
      error: expect.stringMatching(/only has \/promote/),
    });
    expect((await fetch(`${sandbox.url}/api/state?user=UNOBODY`)).status).toBe(400);
  });

  it("promotes a pushed commit through the real flow, and a promotion set to fail shows Heroku's reason", async () => {
    expect((await post("/api/world/push-commit", {})).ok).toBe(true);
    const ready = await slack().waitFor(() => slack().messages.find((m) => buttonValue(m, ACTIONS.promote)), 15_000);
    expect(messageText(ready)).toMatch(/ready to promote/);

    expect((await post("/api/world/fail-next-promotion", {})).ok).toBe(true);
    expect((await stateOf(REQUESTER)).world.failNextPromotion).toBe(true);
    await post("/api/action", {
      user: REQUESTER,
      ts: ready.ts,
      actionId: ACTIONS.promote,
      value: buttonValue(ready, ACTIONS.promote),
    });
    const request = await approvalMessage();
    await post("/api/action", {
      user: APPROVER_A,
      ts: request.ts,
      actionId: ACTIONS.approve,
      value: buttonValue(request, ACTIONS.approve),
    });
    await sandbox.world.messageMatching(request.ts, /Promotion failed/, 20_000);
    expect(messageText(slack().messages.find((m) => m.ts === request.ts) as SlackMessage)).toMatch(
      /relation .{0,12}zones.{0,12} does not exist/,
    );
    const after = await stateOf(REQUESTER);
    expect(after.world.failNextPromotion).toBe(false);
    expect(after.activity.some((a) => a.service === "Heroku" && /POST \/pipeline-promotions → 201/.test(a.line))).toBe(
      true,
    );
  });

  it("restarts the bot on the same store: the new process answers and remembers the last request", async () => {
    const before = (await stateOf(REQUESTER)).bot;
    const restarted = await post("/api/world/restart-bot", {});
    expect(restarted.ok).toBe(true);
    const after = (await stateOf(REQUESTER)).bot;
    expect(after).toMatchObject({ status: "running", restarts: before.restarts + 1 });
    expect(after.pid).not.toBe(before.pid);
    const answered = slack().ephemerals.length;
    expect((await post("/api/command", { user: REQUESTER, text: "/promote history whitewave" })).ok).toBe(true);
    const history = await slack().waitFor(() =>
      slack()
        .ephemerals.slice(answered)
        .find((e) => e.user === REQUESTER),
    );
    expect(JSON.stringify(history.blocks) + history.text).toMatch(/failed/);
  });

  it("when the bot dies on its own, says so to whoever acts, and the restart button brings it back", async () => {
    const pid = sandbox.bot.pid as number;
    process.kill(pid, "SIGKILL");
    await until("the sandbox sees the bot stopped", async () => (await stateOf(REQUESTER)).bot.status === "stopped");
    expect(await post("/api/command", { user: REQUESTER, text: "/promote help" })).toEqual({
      ok: false,
      error: expect.stringMatching(/not running.*Restart the bot/),
    });
    expect((await post("/api/world/restart-bot", {})).ok).toBe(true);
    expect((await stateOf(REQUESTER)).bot).toMatchObject({ status: "running" });
    expect((await post("/api/command", { user: REQUESTER, text: "/promote help" })).ok).toBe(true);
  });

  it("two restarts clicked at once (two tabs) make one restart and leave one bot process", async () => {
    const before = sandbox.bot.restarts;
    const results = await Promise.all([post("/api/world/restart-bot", {}), post("/api/world/restart-bot", {})]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(sandbox.bot.restarts).toBe(before + 1);
    expect((await stateOf(REQUESTER)).bot.status).toBe("running");
    expect((await post("/api/command", { user: REQUESTER, text: "/promote help" })).ok).toBe(true);
    const bots = execFileSync("ps", ["-o", "args=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes("dist/main.js"));
    expect(bots).toHaveLength(1);
  });

  it("a hotfix pushed outside the bot is announced through Heroku's webhook, and a config var staging alone has shows as drift", async () => {
    expect((await post("/api/world/hotfix-production", {})).ok).toBe(true);
    await slack().waitFor(() => slack().messages.find((m) => /outside promote-bot/.test(messageText(m))), 15_000);
    expect((await post("/api/world/config-var-drift", {})).ok).toBe(true);
    await post("/api/command", { user: REQUESTER, text: "/promote status whitewave" });
    await slack().waitFor(
      () =>
        slack().ephemerals.find(
          (e) => e.user === REQUESTER && /whitewave-prod lacks `FEATURE_A`/.test(JSON.stringify(e)),
        ),
      15_000,
    );
  });

  it("opens a person's Home tab: the bot publishes it, and approvers get buttons there", async () => {
    expect((await post("/api/home", { user: APPROVER_A })).ok).toBe(true);
    const home = await slack().waitFor(() => slack().homeOf(APPROVER_A), 10_000);
    expect(JSON.stringify(home.blocks)).toContain("whitewave");
    expect((await stateOf(APPROVER_A)).home?.blocks).toEqual(home.blocks);
    expect((await stateOf(BYSTANDER)).home).toBeNull();
  });

  it("while Heroku is rate limiting, a promotion request is refused with the reason, and works once it stops", async () => {
    await post("/api/world/rate-limit", { on: true });
    try {
      const answered = slack().ephemerals.length;
      await post("/api/command", { user: REQUESTER, text: "/promote whitewave" });
      const refusal = await slack().waitFor(
        () =>
          slack()
            .ephemerals.slice(answered)
            .find((e) => e.user === REQUESTER),
        50_000,
      );
      expect(JSON.stringify(refusal.blocks) + refusal.text).toMatch(/rate limit|Heroku/i);
    } finally {
      await post("/api/world/rate-limit", { on: false });
    }
    const answered = slack().ephemerals.length;
    await post("/api/command", { user: REQUESTER, text: "/promote whitewave" });
    const answer = await slack().waitFor(
      () =>
        slack()
          .ephemerals.slice(answered)
          .find((e) => e.user === REQUESTER),
      15_000,
    );
    expect(JSON.stringify(answer.blocks) + answer.text).toMatch(/Requested the promotion/);
  }, 90_000);
});
