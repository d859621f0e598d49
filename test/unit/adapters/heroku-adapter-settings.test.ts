/**
 * HerokuAdapter.appSettings (issue 16's drift check) against the Heroku stand-in: config var names
 * only (no value is kept, returned or logged, even when a call fails), buildpacks in order by name,
 * add-ons sorted, stack and generation, and null config keys when the token may not read them.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HerokuAdapter } from "../../../src/adapters/heroku/heroku-adapter.js";
import { DomainError } from "../../../src/domain/errors.js";
import { createLogger } from "../../../src/infra/logger.js";
import { HerokuStandIn } from "../../../stand-ins/heroku.js";
import { LogCapture } from "../../support/harness.js";

const VALUES = ["whsec_live_5up3r5ecret", "postgres://admin:hunter2@db.internal/prod", "sk_live_0123456789"];

/** Everything a value could hide in: the result, or a rejection's code, message and details. */
function everything(outcome: unknown): string {
  if (outcome instanceof DomainError) {
    return JSON.stringify({ code: outcome.code, message: outcome.message, details: outcome.details });
  }
  return JSON.stringify(outcome);
}

async function settle<T>(promise: Promise<T>): Promise<T | DomainError> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe("HerokuAdapter.appSettings", () => {
  let heroku: HerokuStandIn;
  let logs: LogCapture;
  let unscrubbed: LogCapture;
  let adapter: HerokuAdapter;
  let staging: { id: string; name: string };
  let production: { id: string; name: string };

  beforeEach(async () => {
    heroku = new HerokuStandIn();
    await heroku.start();
    logs = new LogCapture();
    unscrubbed = new LogCapture();
    adapter = new HerokuAdapter({
      token: "heroku-test-token",
      apiUrl: heroku.url,
      log: createLogger({ level: "debug", destination: logs, beforeScrubbing: unscrubbed }),
      retry: { attempts: 3, baseMs: 1, maxMs: 2 },
      sleep: async () => {},
    });
    const pipeline = heroku.addPipeline("whitewave");
    staging = heroku.addApp("whitewave-staging", pipeline.id, "staging");
    production = heroku.addApp("whitewave-prod", pipeline.id, "production");
    heroku.setConfigVars(staging.name, { STRIPE_WEBHOOK_SECRET: VALUES[0] ?? "", FEATURE_X: "on" });
    heroku.addAddon(staging.name, "heroku-redis:mini");
    heroku.addAddon(staging.name, "heroku-postgresql:essential-0", { configVars: { DATABASE_URL: VALUES[1] ?? "" } });
    heroku.setBuildpacks(staging.name, ["heroku/nodejs", "heroku-community/apt", "https://github.com/x/y.tgz"]);
    heroku.setConfigVars(production.name, { STRIPE_SECRET_KEY: VALUES[2] ?? "" });
  });

  afterEach(async () => {
    await heroku.close();
  });

  function expectNoValueIn(text: string): void {
    for (const value of VALUES) expect(text).not.toContain(value);
    expect(text).not.toContain("hunter2");
  }

  function expectNoValueLogged(): void {
    expectNoValueIn(logs.text);
    expectNoValueIn(unscrubbed.text);
  }

  it("reads config var names only, buildpacks in order by name, add-ons sorted, stack and generation", async () => {
    const settings = await adapter.appSettings(staging.id);
    expect(settings).toEqual({
      app: { id: staging.id, name: "whitewave-staging" },
      configKeys: ["DATABASE_URL", "FEATURE_X", "STRIPE_WEBHOOK_SECRET"],
      buildpacks: ["heroku/nodejs", "heroku-community/apt", "https://github.com/x/y.tgz"],
      stack: "heroku-24",
      addons: [
        { service: "heroku-postgresql", plan: "heroku-postgresql:essential-0" },
        { service: "heroku-redis", plan: "heroku-redis:mini" },
      ],
      generation: "cedar",
    });
    expectNoValueIn(everything(settings));
    expect(everything(settings)).not.toContain('"on"');
    expectNoValueLogged();
  });

  it("reads a Fir app's generation and the stack of the next build", async () => {
    heroku.setGeneration(production.name, "fir");
    heroku.setStack(production.name, "heroku-22", "heroku-24");
    const settings = await adapter.appSettings(production.name);
    expect(settings).toMatchObject({ generation: "fir", stack: "heroku-24", buildpacks: [], addons: [] });
  });

  it("gives null config keys, and everything else, when the token may not read config vars (403)", async () => {
    heroku.forbidConfigVars(production.name);
    heroku.addAddon(production.name, "heroku-postgresql:essential-0");
    const settings = await adapter.appSettings(production.id);
    expect(settings.configKeys).toBeNull();
    expect(settings.addons).toEqual([{ service: "heroku-postgresql", plan: "heroku-postgresql:essential-0" }]);
    expect(settings.buildpacks).toEqual(["heroku/nodejs"]);
    expectNoValueIn(everything(settings));
    expectNoValueLogged();
  });

  it("gives null config keys and null add-ons when a view-only token is refused both (Heroku's app permissions)", async () => {
    // The app-permissions matrix gives the add-on list, like config var values, to deploy and operate
    // only: both are unknown to a view-only token, and the drift check says so instead of failing.
    heroku.setAppPermissions(production.name, ["view"]);
    const settings = await adapter.appSettings(production.id);
    expect(settings.configKeys).toBeNull();
    expect(settings.addons).toBeNull();
    expect(settings.buildpacks).toEqual(["heroku/nodejs"]);
    expectNoValueIn(everything(settings));
    expectNoValueLogged();
  });

  it("logs no value while retrying a config-vars call that failed, and returns names only", async () => {
    heroku.fault({
      path: /\/config-vars$/,
      times: 2,
      response: { status: 503, body: { id: "unavailable", message: "Service unavailable" } },
    });
    const settings = await adapter.appSettings(staging.id);
    expect(settings.configKeys).toEqual(["DATABASE_URL", "FEATURE_X", "STRIPE_WEBHOOK_SECRET"]);
    expect(logs.text).toContain("retrying Heroku call");
    expectNoValueIn(everything(settings));
    expectNoValueLogged();
  });

  it("rejects without a value when another settings call fails after the config vars were read", async () => {
    heroku.fault({ path: /\/buildpack-installations$/, times: 10, response: { status: 503, body: {} } });
    const outcome = await settle(adapter.appSettings(staging.id));
    expect((outcome as DomainError).code).toBe("HEROKU_UNAVAILABLE");
    expectNoValueIn(everything(outcome));
    expectNoValueLogged();
  });

  it("rejects without a value when the config-vars answer is not the shape Heroku documents", async () => {
    // An answer that is not an object of name -> value (here an array holding a value) fails the
    // schema; the zod issues in the error must not quote it.
    heroku.fault({ path: /\/config-vars$/, times: 10, response: { status: 200, body: [VALUES[0]] } });
    const outcome = await settle(adapter.appSettings(staging.id));
    expect((outcome as DomainError).code).toBe("HEROKU_UNAVAILABLE");
    expectNoValueIn(everything(outcome));
    expectNoValueLogged();
  });
});
