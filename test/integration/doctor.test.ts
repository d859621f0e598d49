/** `npm run doctor` against healthy and broken stand-ins. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { runDoctor } from "../../src/doctor.js";
import { createLogger } from "../../src/infra/logger.js";
import { setupHerokuWebhooks } from "../../src/setup-heroku-webhooks.js";
import {
  APPROVER_GROUP,
  CHANNEL,
  PROJECT_ID,
  pipelinesYaml,
  SECRET_VARIABLES,
  startWorld,
  type World,
} from "../support/harness.js";

let world: World;
afterEach(async () => {
  await world?.close();
});

const silent = createLogger({ level: "silent" });

async function healthyWorld(): Promise<World> {
  world = await startWorld();
  world.gitlab.addHook(PROJECT_ID, { url: "https://bot.example.com/gitlab/webhook", pipeline_events: true });
  return world;
}

describe("doctor", () => {
  it("passes every check against a healthy set-up", async () => {
    await healthyWorld();
    const result = await runDoctor(loadConfig(world.env), silent);
    expect(result.lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
    expect(result.ok).toBe(true);
    const text = result.lines.join("\n");
    expect(text).toContain(`PASS  Slack channel ${CHANNEL}`);
    expect(text).toContain(`PASS  Slack user group ${APPROVER_GROUP}`);
    expect(text).toContain("staging: whitewave-staging; production: whitewave-prod");
    expect(text).toContain("PASS  GitLab webhook to this bot");
  });

  it("names each broken piece: unknown channel, missing group, pipeline without a staging app, no webhook", async () => {
    world = await startWorld({
      env: {
        PIPELINES_YAML: [
          "pipelines:",
          "  whitewave:",
          "    gitlab_project: acme/whitewave",
          "    channel: C0NOSUCHCHAN",
          "    approvers: [U0APPROVERA, S0NOSUCHGRP]",
          "    from: development",
        ].join("\n"),
      },
    });
    const result = await runDoctor(loadConfig(world.env), silent);
    expect(result.ok).toBe(false);
    const fails = result.lines.filter((l) => l.startsWith("FAIL"));
    expect(fails).toEqual([
      expect.stringContaining("Slack channel C0NOSUCHCHAN — channel_not_found"),
      expect.stringContaining("Slack user group S0NOSUCHGRP"),
      expect.stringContaining("expected one app in the development stage, found 0"),
      expect.stringContaining("no webhook to https://<this bot>/gitlab/webhook"),
    ]);
  });

  it("when the Slack app lacks groups:read, the line of a private channel names the missing scope and how to add it", async () => {
    await healthyWorld();
    const privateChannel = "C0PRIVATE01";
    world.slack.addChannel(privateChannel, { name: "release-room", isPrivate: true, isMember: true });
    world.slack.scopes = world.slack.scopes.filter((scope) => scope !== "groups:read");
    const env = { ...world.env, PIPELINES_YAML: pipelinesYaml().replace(CHANNEL, privateChannel) };
    const result = await runDoctor(loadConfig(env), silent);
    expect(result.ok).toBe(false);
    const line = result.lines.find((l) => l.includes(`Slack channel ${privateChannel}`)) ?? "";
    expect(line).toMatch(/^FAIL/);
    expect(line).toContain("groups:read");
    expect(line).toMatch(/OAuth & Permissions/);
    expect(line).toMatch(/reinstall/i);
    expect(line).not.toMatch(/— missing_scope$/);
  });

  it("says what the bot cannot do without channel history: the missing scope fails, a public channel it is not in passes with a note", async () => {
    await healthyWorld();
    const outside = "C0OUTSIDE01";
    world.slack.addChannel(outside, { name: "outside", isMember: false });
    world.slack.chatWritePublic = true;
    const env = { ...world.env, PIPELINES_YAML: pipelinesYaml().replace(CHANNEL, outside) };
    let line = (await runDoctor(loadConfig(env), silent)).lines.find((l) => l.includes(`Slack channel ${outside}`));
    expect(line).toMatch(/^PASS.*chat:write\.public.*invite it \(\/invite @promote-bot\)/);

    world.slack.scopes = world.slack.scopes.filter((scope) => scope !== "channels:history");
    const result = await runDoctor(loadConfig(world.env), silent);
    line = result.lines.find((l) => l.includes(`Slack channel ${CHANNEL}`));
    expect(result.ok).toBe(false);
    expect(line).toMatch(/^FAIL.*channels:history.*post a request twice.*reinstall/);
  });

  it("fails on bad tokens without printing them, and the command exits 1", async () => {
    await healthyWorld();
    const env: Record<string, string> = {
      ...world.env,
      HEROKU_API_TOKEN: "heroku-wrong-secret-token",
      GITLAB_TOKEN: "gitlab-wrong-secret-token",
      SLACK_BOT_TOKEN: "xoxb-wrong-secret-token",
    };
    const cli = join(import.meta.dirname, "../../dist/doctor-cli.js");
    const run = promisify(execFile)(process.execPath, [cli], { env: { PATH: process.env.PATH ?? "", ...env } });
    const failure = await run.then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    );
    expect(failure?.code).toBe(1);
    const out = failure?.stdout ?? "";
    expect(out).toMatch(/FAIL {2}Slack token \(auth\.test\) — invalid_auth/);
    expect(out).toMatch(/FAIL {2}Heroku pipeline whitewave .*refused the bot's token/);
    expect(out).toMatch(/FAIL {2}GitLab project acme\/whitewave .*refused the bot's token/);
    for (const name of SECRET_VARIABLES) expect(out).not.toContain(env[name] as string);
  });

  describe("Heroku webhooks", () => {
    const webhookEnv = {
      HEROKU_WEBHOOK_SECRET: "0123456789abcdef0123456789abcdef-doctor",
      PUBLIC_URL: "https://bot.example.com",
    };
    const botUrl = "https://bot.example.com/heroku/webhook";
    const subscribe = (appId: string, body: Record<string, unknown>) =>
      fetch(`${world.heroku.url}/apps/${appId}/webhooks`, {
        method: "POST",
        headers: {
          Authorization: "Bearer heroku-test-token",
          Accept: "application/vnd.heroku+json; version=3.webhooks",
          "Content-Type": "application/json",
        },
        body: JSON.stringify({ include: ["api:release", "dyno"], level: "sync", url: botUrl, ...body }),
      });
    const webhookLines = (lines: string[]) => lines.filter((l) => l.includes("Heroku webhook"));

    it("without HEROKU_WEBHOOK_SECRET, says the bot reads Heroku for every view, and passes", async () => {
      await healthyWorld();
      const result = await runDoctor(loadConfig(world.env), silent);
      expect(result.ok).toBe(true);
      expect(webhookLines(result.lines)).toEqual([
        expect.stringMatching(/^SKIP {2}Heroku webhooks — HEROKU_WEBHOOK_SECRET is unset.*reads Heroku for every view/),
      ]);
      expect(world.heroku.callsTo("GET", /\/webhooks$/)).toEqual([]);
    });

    it("fails each app without a subscription to this bot, and passes once the set-up has run", async () => {
      await healthyWorld();
      world.heroku.webhooks.options.maxAttempts = 1;
      const env = { ...world.env, ...webhookEnv };
      let result = await runDoctor(loadConfig(env), silent);
      expect(result.ok).toBe(false);
      expect(webhookLines(result.lines)).toEqual([
        `FAIL  Heroku webhook to this bot on whitewave-staging — no webhook to ${botUrl}; run npm run setup-heroku-webhooks`,
        `FAIL  Heroku webhook to this bot on whitewave-prod — no webhook to ${botUrl}; run npm run setup-heroku-webhooks`,
      ]);

      expect((await setupHerokuWebhooks(loadConfig(env), silent)).ok).toBe(true);
      result = await runDoctor(loadConfig(env), silent);
      expect(result.lines.filter((l) => l.startsWith("FAIL"))).toEqual([]);
      expect(webhookLines(result.lines)).toEqual([
        `PASS  Heroku webhook to this bot on whitewave-staging — ${botUrl} (api:release, dyno; sync)`,
        `PASS  Heroku webhook to this bot on whitewave-prod — ${botUrl} (api:release, dyno; sync)`,
      ]);
      expect(JSON.stringify(result.lines)).not.toContain(webhookEnv.HEROKU_WEBHOOK_SECRET);
    });

    it("names a wrong include or level, a subscription to an old URL, and several to this bot", async () => {
      await healthyWorld();
      world.heroku.webhooks.options.maxAttempts = 1;
      await subscribe(world.ids.staging, { include: ["api:release"], level: "notify" });
      await subscribe(world.ids.production, { url: "https://old-bot.example.com/heroku/webhook" });
      const result = await runDoctor(loadConfig({ ...world.env, ...webhookEnv }), silent);
      expect(result.ok).toBe(false);
      const [staging, production] = webhookLines(result.lines);
      expect(staging).toMatch(
        /^FAIL {2}Heroku webhook to this bot on whitewave-staging — the webhook to .*: include is api:release, expected api:release, dyno; level is notify, expected sync; run npm run setup-heroku-webhooks$/,
      );
      expect(production).toMatch(
        /^FAIL .*whitewave-prod — no webhook to https:\/\/bot\.example\.com\/heroku\/webhook, but one to https:\/\/old-bot\.example\.com\/heroku\/webhook/,
      );

      await subscribe(world.ids.production, {});
      await subscribe(world.ids.production, {});
      const several = await runDoctor(loadConfig({ ...world.env, ...webhookEnv }), silent);
      expect(webhookLines(several.lines)[1]).toMatch(
        /^FAIL .*whitewave-prod — 2 webhooks to .*every event arrives once per subscription; remove all but one/,
      );
    });
  });
});
