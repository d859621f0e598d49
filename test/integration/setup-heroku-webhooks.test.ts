/** `npm run setup-heroku-webhooks` against the Heroku stand-in. */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import Heroku from "heroku-client";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/infra/logger.js";
import { setupHerokuWebhooks } from "../../src/setup-heroku-webhooks.js";
import { startWorld, type World } from "../support/harness.js";

const SECRET = "0123456789abcdef0123456789abcdef-webhooks";
const PUBLIC_URL = "https://promote-bot.example.com";
const BOT_URL = `${PUBLIC_URL}/heroku/webhook`;
const silent = createLogger({ level: "silent" });

let world: World;
afterEach(async () => {
  await world?.close();
});

async function webhookWorld(env: Record<string, string> = {}): Promise<World> {
  world = await startWorld({ env: { HEROKU_WEBHOOK_SECRET: SECRET, PUBLIC_URL, ...env } });
  // Deliveries to the (unreachable) public URL fail at once and are given up fast.
  world.heroku.webhooks.options.maxAttempts = 1;
  return world;
}

function client(): Heroku {
  return new Heroku({ token: "heroku-test-token", host: world.heroku.url });
}

const subscriptionsOf = (appId: string) => world.heroku.webhooks.list(appId);

describe("setup-heroku-webhooks", () => {
  it("subscribes every from and to app once; a second run creates nothing and sets the secret again", async () => {
    await webhookWorld();
    const first = await setupHerokuWebhooks(loadConfig(world.env), silent);
    expect(first.ok).toBe(true);
    expect(first.lines.filter((l) => l.startsWith("created"))).toEqual([
      expect.stringContaining("whitewave-staging (pipeline whitewave)"),
      expect.stringContaining("whitewave-prod (pipeline whitewave)"),
    ]);
    for (const appId of [world.ids.staging, world.ids.production]) {
      expect(subscriptionsOf(appId)).toEqual([
        expect.objectContaining({ url: BOT_URL, include: ["api:release", "dyno"], level: "sync", secret: SECRET }),
      ]);
    }

    const posts = () => world.heroku.callsTo("POST", /\/webhooks$/).length;
    const before = posts();
    const second = await setupHerokuWebhooks(loadConfig(world.env), silent);
    expect(second.ok).toBe(true);
    expect(posts()).toBe(before);
    expect(second.lines.filter((l) => l.startsWith("ok"))).toHaveLength(2);
    expect(subscriptionsOf(world.ids.production)).toHaveLength(1);

    // A rotated secret reaches Heroku on the next run, though Heroku never shows it.
    const rotated = `${SECRET}-rotated`;
    await setupHerokuWebhooks(loadConfig({ ...world.env, HEROKU_WEBHOOK_SECRET: rotated }), silent);
    expect(subscriptionsOf(world.ids.production).map((s) => s.secret)).toEqual([rotated]);
    expect(JSON.stringify(second.lines)).not.toContain(SECRET);
  });

  it("repairs a subscription to the bot's URL whose include and level are wrong, without making another", async () => {
    await webhookWorld();
    const wrong = await client().post<{ id: string }>(`/apps/${world.ids.production}/webhooks`, {
      body: { include: ["api:release"], level: "notify", url: BOT_URL, secret: "an-old-secret" },
    });
    const result = await setupHerokuWebhooks(loadConfig(world.env), silent);
    expect(result.ok).toBe(true);
    const line = result.lines.find((l) => l.includes("whitewave-prod")) ?? "";
    expect(line).toMatch(/^repaired/);
    expect(line).toContain("include is api:release, expected api:release, dyno");
    expect(line).toContain("level is notify, expected sync");
    expect(subscriptionsOf(world.ids.production)).toEqual([
      expect.objectContaining({ id: wrong.id, include: ["api:release", "dyno"], level: "sync", secret: SECRET }),
    ]);
  });

  it("leaves a subscription to another URL alone", async () => {
    await webhookWorld();
    const other = await client().post<{ id: string }>(`/apps/${world.ids.staging}/webhooks`, {
      body: { include: ["api:build"], level: "notify", url: "https://ci.example.com/hooks", secret: "theirs" },
    });
    const before = structuredClone(subscriptionsOf(world.ids.staging));
    const result = await setupHerokuWebhooks(loadConfig(world.env), silent);
    expect(result.ok).toBe(true);
    const after = subscriptionsOf(world.ids.staging);
    expect(after).toHaveLength(2);
    expect(after.find((s) => s.id === other.id)).toEqual(before[0]);
    expect(after.find((s) => s.id !== other.id)).toMatchObject({ url: BOT_URL, level: "sync" });
    expect(world.heroku.callsTo("PATCH", `/apps/${world.ids.staging}/webhooks/${other.id}`)).toEqual([]);
  });

  it("fails, without adding one, when an app already has several subscriptions to the bot's URL", async () => {
    await webhookWorld();
    for (let i = 0; i < 2; i++) {
      await client().post(`/apps/${world.ids.production}/webhooks`, {
        body: { include: ["api:release", "dyno"], level: "sync", url: BOT_URL, secret: SECRET },
      });
    }
    const result = await setupHerokuWebhooks(loadConfig(world.env), silent);
    expect(result.ok).toBe(false);
    expect(result.lines.find((l) => l.includes("whitewave-prod"))).toMatch(
      /^failed .*2 webhooks to .*remove all but one \(heroku webhooks:remove <id> -a whitewave-prod\)/,
    );
    expect(subscriptionsOf(world.ids.production)).toHaveLength(2);
    expect(result.lines.find((l) => l.includes("whitewave-staging"))).toMatch(/^created/);
  });

  it("names the app that failed and exits 1", async () => {
    await webhookWorld();
    world.heroku.fault({
      method: "GET",
      path: `/apps/${world.ids.production}/webhooks`,
      times: 10,
      response: {
        status: 403,
        body: { id: "forbidden", message: "You do not have access to the app whitewave-prod." },
      },
    });
    const result = await setupHerokuWebhooks(loadConfig(world.env), silent);
    expect(result.ok).toBe(false);
    expect(result.lines.find((l) => l.includes("whitewave-prod"))).toMatch(
      /^failed .*refused the bot's token .*You do not have access/,
    );
    expect(result.lines.find((l) => l.includes("whitewave-staging"))).toMatch(/^created/);
  });

  it("refuses to run without PUBLIC_URL or HEROKU_WEBHOOK_SECRET, saying what to set, and exits 1", async () => {
    await webhookWorld();
    const cli = join(import.meta.dirname, "../../dist/setup-heroku-webhooks.js");
    const run = (env: Record<string, string>) =>
      promisify(execFile)(process.execPath, [cli], { env: { PATH: process.env.PATH ?? "", ...env } }).then(
        () => ({ code: 0, stdout: "" }),
        (error: { code: number; stdout: string }) => error,
      );
    const { PUBLIC_URL: _url, ...withoutUrl } = world.env;
    const noUrl = await run(withoutUrl);
    expect(noUrl.code).toBe(1);
    expect(noUrl.stdout).toMatch(/PUBLIC_URL is unset: set it to the bot's public base URL/);
    const { HEROKU_WEBHOOK_SECRET: _secret, ...withoutSecret } = world.env;
    const noSecret = await run(withoutSecret);
    expect(noSecret.code).toBe(1);
    expect(noSecret.stdout).toMatch(/HEROKU_WEBHOOK_SECRET is unset: set it/);
    expect(world.heroku.callsTo("POST", /\/webhooks$/)).toEqual([]);
    expect(world.heroku.callsTo("GET", /\/webhooks$/)).toEqual([]);

    const ok = await run(world.env);
    expect(ok.code).toBe(0);
    expect(subscriptionsOf(world.ids.production)).toHaveLength(1);
  });
});
