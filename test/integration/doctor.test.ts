/** `npm run doctor` against healthy and broken stand-ins. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { runDoctor } from "../../src/doctor.js";
import { createLogger } from "../../src/infra/logger.js";
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
});
