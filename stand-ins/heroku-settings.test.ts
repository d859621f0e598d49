/**
 * The Heroku stand-in's app settings (issue 16's drift check), driven with the real `heroku-client`:
 * config vars of an app and of a release, buildpack installations, add-ons, and the app's
 * generation and stacks, checked against heroku/platform-api `schema.json`; config changes as
 * releases with their `api:release` deliveries; the 403s of a token that may not read them.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Heroku, { type HerokuError } from "heroku-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HerokuRelease, HerokuStandIn } from "./heroku.js";

interface HerokuClientError extends HerokuError {
  statusCode: number;
  body: { id: string; message: string };
}

interface BuildpackInstallation {
  ordinal: number;
  buildpack: { url: string; name: string };
}

interface Addon {
  id: string;
  name: string;
  addon_service: { id: string; name: string };
  plan: { id: string; name: string };
  app: { id: string; name: string };
  state: string;
  config_vars: string[];
}

interface App {
  id: string;
  name: string;
  generation: { id: string; name: string };
  stack: { id: string; name: string };
  build_stack: { id: string; name: string };
}

async function rejection(promise: Promise<unknown>): Promise<HerokuClientError> {
  try {
    await promise;
  } catch (error) {
    return error as HerokuClientError;
  }
  throw new Error("expected the request to fail");
}

/** A loopback receiver of webhook deliveries: records each body's action, status and description. */
async function startReceiver(): Promise<{
  url: string;
  bodies: Array<Record<string, unknown>>;
  close(): Promise<void>;
}> {
  const bodies: Array<Record<string, unknown>> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/heroku/webhook`,
    bodies,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("HerokuStandIn app settings", () => {
  let heroku: HerokuStandIn;
  let client: Heroku;
  let staging: { id: string; name: string };
  let production: { id: string; name: string };

  beforeEach(async () => {
    heroku = new HerokuStandIn();
    await heroku.start();
    client = new Heroku({ token: "heroku-test-token", host: heroku.url });
    const pipeline = heroku.addPipeline("whitewave");
    staging = heroku.addApp("whitewave-staging", pipeline.id, "staging");
    production = heroku.addApp("whitewave-prod", pipeline.id, "production");
  });

  afterEach(async () => {
    await heroku.close();
  });

  describe("config vars", () => {
    it("answers the app's config vars as one object of name to value", async () => {
      heroku.setConfigVars(staging.name, { STRIPE_WEBHOOK_SECRET: "whsec_123", FEATURE_X: "on" });
      const vars = await client.get<Record<string, string>>(`/apps/${staging.name}/config-vars`);
      expect(vars).toEqual({ STRIPE_WEBHOOK_SECRET: "whsec_123", FEATURE_X: "on" });
      expect(await client.get(`/apps/${production.id}/config-vars`)).toEqual({});
    });

    it("makes a release of every config change, on the current slug, with Heroku's descriptions", async () => {
      const deployed = heroku.deploy(staging.name, "a1b2c3d4e5");
      const set = heroku.setConfigVars(staging.name, { FEATURE_X: "on", FEATURE_Y: "off" });
      const removed = heroku.unsetConfigVars(staging.name, ["FEATURE_X", "NOT_SET"]);
      expect(set).toMatchObject({ version: 2, status: "succeeded", current: true, slug: deployed.slug });
      expect(set?.description).toBe("Set FEATURE_X, FEATURE_Y config vars");
      expect(removed).toMatchObject({ version: 3, current: true, slug: deployed.slug });
      expect(removed?.description).toBe("Remove FEATURE_X config vars");
      expect(heroku.unsetConfigVars(staging.name, ["NOT_SET"])).toBeUndefined();

      const releases = await client.get<HerokuRelease[]>(`/apps/${staging.name}/releases`);
      expect(releases.map((r) => [r.version, r.description, r.current])).toEqual([
        [1, "Deploy a1b2c3d", false],
        [2, "Set FEATURE_X, FEATURE_Y config vars", false],
        [3, "Remove FEATURE_X config vars", true],
      ]);
      expect(await client.get(`/apps/${staging.name}/config-vars`)).toEqual({ FEATURE_Y: "off" });
      // Each release keeps the config it was made with (schema.json "Get config-vars for a release").
      expect(await client.get(`/apps/${staging.name}/releases/2/config-vars`)).toEqual({
        FEATURE_X: "on",
        FEATURE_Y: "off",
      });
    });

    it("delivers the config change's release to api:release subscribers, pending while its release phase runs", async () => {
      const receiver = await startReceiver();
      try {
        heroku.deploy(production.name, "a1b2c3d4e5");
        await client.post(`/apps/${production.name}/webhooks`, {
          body: { include: ["api:release"], level: "sync", url: receiver.url },
        });
        const release = heroku.setConfigVars(production.name, { FEATURE_X: "on" }, { status: "pending" });
        expect(release).toMatchObject({ status: "pending", current: false });
        heroku.setReleaseStatus(release?.id ?? "", "succeeded");
        await heroku.webhooksIdle();
        const seen = receiver.bodies.map((b) => {
          const data = b.data as { description: string; status: string };
          return [b.action, data.description, data.status];
        });
        expect(seen).toEqual([
          ["create", "Set FEATURE_X config vars", "pending"],
          ["update", "Set FEATURE_X config vars", "succeeded"],
        ]);
      } finally {
        await receiver.close();
      }
    });

    it("makes no release for an app that has none yet", () => {
      expect(heroku.setConfigVars(production.name, { FEATURE_X: "on" })).toBeUndefined();
      expect(heroku.releases(production.name)).toEqual([]);
      expect(() => heroku.setConfigVars(production.name, { "NOT-A-NAME": "x" })).toThrow(/not a config var name/);
    });

    it("a rollback brings back the config vars of the release it rolls back to", async () => {
      heroku.deploy(production.name, "a1b2c3d4e5");
      heroku.setConfigVars(production.name, { API_KEY: "old" });
      const before = heroku.currentRelease(production.name);
      heroku.setConfigVars(production.name, { API_KEY: "rotated", FEATURE_X: "on" });
      await client.post(`/apps/${production.name}/releases`, { body: { release: before?.id } });
      expect(await client.get(`/apps/${production.name}/config-vars`)).toEqual({ API_KEY: "old" });
    });

    it("answers 403 forbidden to a token that may not read the config vars, and everything else as before", async () => {
      heroku.setConfigVars(production.name, { API_KEY: "secret-value" });
      heroku.forbidConfigVars(production.name);
      const error = await rejection(client.get(`/apps/${production.name}/config-vars`));
      expect(error.statusCode).toBe(403);
      expect(error.body).toEqual({ id: "forbidden", message: "You do not have access to the app whitewave-prod." });
      expect(JSON.stringify(error.body)).not.toContain("secret-value");
      expect((await rejection(client.get(`/apps/${production.name}/releases/1/config-vars`))).statusCode).toBe(403);
      await expect(client.get(`/apps/${production.name}`)).resolves.toMatchObject({ name: "whitewave-prod" });
      await expect(client.get(`/apps/${production.name}/addons`)).resolves.toEqual([]);

      heroku.forbidConfigVars(production.name, false);
      await expect(client.get(`/apps/${production.name}/config-vars`)).resolves.toEqual({ API_KEY: "secret-value" });
    });

    it("with only the view permission, refuses config vars and the add-on list (Dev Center app permissions)", async () => {
      heroku.addAddon(production.name, "heroku-postgresql:essential-0");
      heroku.setAppPermissions(production.name, ["view"]);
      expect((await rejection(client.get(`/apps/${production.name}/config-vars`))).body).toEqual({
        id: "forbidden",
        message: "You do not have access to the app whitewave-prod.",
      });
      const addons = await rejection(client.get(`/apps/${production.name}/addons`));
      expect(addons.statusCode).toBe(403);
      expect(addons.body.id).toBe("forbidden");
      expect(addons.body.message).toMatch(/deploy or operate permission/);
      await expect(client.get(`/apps/${production.name}/buildpack-installations`)).resolves.toHaveLength(1);

      heroku.setAppPermissions(production.name, ["operate"]);
      await expect(client.get(`/apps/${production.name}/config-vars`)).resolves.toEqual({});
    });

    it("answers every app call 403 for a token without access to the app", async () => {
      heroku.revokeAccess(production.name);
      for (const path of ["", "/config-vars", "/buildpack-installations", "/addons", "/releases"]) {
        const error = await rejection(client.get(`/apps/${production.name}${path}`));
        expect([path, error.statusCode, error.body.id]).toEqual([path, 403, "forbidden"]);
      }
      heroku.revokeAccess(production.name, true);
      await expect(client.get(`/apps/${production.name}`)).resolves.toMatchObject({ id: production.id });
    });
  });

  describe("buildpack installations", () => {
    it("lists heroku/nodejs for a new app, official buildpacks as urn:buildpack with their name", async () => {
      const list = await client.get<BuildpackInstallation[]>(`/apps/${staging.name}/buildpack-installations`);
      expect(list).toEqual([{ ordinal: 0, buildpack: { url: "urn:buildpack:heroku/nodejs", name: "heroku/nodejs" } }]);
    });

    it("lists the buildpacks in order: official, registry and URL buildpacks", async () => {
      heroku.setBuildpacks(staging.name, ["heroku-community/apt", "heroku/nodejs", "https://github.com/x/y.tgz"]);
      const list = await client.get<BuildpackInstallation[]>(`/apps/${staging.name}/buildpack-installations`);
      expect(list).toEqual([
        {
          ordinal: 0,
          buildpack: {
            url: "https://buildpack-registry.s3.amazonaws.com/buildpacks/heroku-community/apt.tgz",
            name: "heroku-community/apt",
          },
        },
        { ordinal: 1, buildpack: { url: "urn:buildpack:heroku/nodejs", name: "heroku/nodejs" } },
        { ordinal: 2, buildpack: { url: "https://github.com/x/y.tgz", name: "https://github.com/x/y.tgz" } },
      ]);
      // A buildpack change applies to the next build: no release.
      expect(heroku.releases(staging.name)).toEqual([]);
    });

    it("answers 404 not_found for an unknown app", async () => {
      const error = await rejection(client.get("/apps/nope/buildpack-installations"));
      expect([error.statusCode, error.body.id]).toEqual([404, "not_found"]);
    });
  });

  describe("add-ons", () => {
    it("lists the app's add-ons with service, plan as Heroku names it, name, app and state", async () => {
      const added = heroku.addAddon(production.name, "heroku-postgresql:essential-0", {
        configVars: { DATABASE_URL: "postgres://u:p@db/x" },
      });
      heroku.addAddon(production.name, "heroku-redis:mini", { name: "whitewave-cache" });
      heroku.addAddon(staging.name, "heroku-postgresql:essential-0");
      const list = await client.get<Addon[]>(`/apps/${production.name}/addons`);
      expect(list).toHaveLength(2);
      const postgres = list.find((a) => a.id === added.id);
      expect(postgres).toMatchObject({
        name: added.name,
        addon_service: { name: "heroku-postgresql" },
        plan: { name: "heroku-postgresql:essential-0" },
        app: { id: production.id, name: "whitewave-prod" },
        state: "provisioned",
        config_vars: ["DATABASE_URL"],
      });
      expect(postgres?.name).toMatch(/^[a-zA-Z][A-Za-z0-9_-]+$/);
      expect(list.find((a) => a.name === "whitewave-cache")?.plan.name).toBe("heroku-redis:mini");
      // Service and plan ids are global: the same plan on another app has the same ids.
      const other = (await client.get<Addon[]>(`/apps/${staging.name}/addons`))[0];
      expect(other?.plan.id).toBe(postgres?.plan.id);
      expect(other?.addon_service.id).toBe(postgres?.addon_service.id);
      expect(await client.get(`/apps/${production.name}/config-vars`)).toEqual({ DATABASE_URL: "postgres://u:p@db/x" });
    });

    it("adding and removing an add-on are releases when the app has one", async () => {
      heroku.deploy(production.name, "a1b2c3d4e5");
      const added = heroku.addAddon(production.name, "heroku-postgresql:essential-0", {
        configVars: { DATABASE_URL: "postgres://u:p@db/x" },
      });
      heroku.removeAddon(production.name, "heroku-postgresql");
      expect(heroku.releases(production.name).map((r) => r.description)).toEqual([
        "Deploy a1b2c3d",
        `Attach DATABASE (@ref:${added.name})`,
        `Detach DATABASE (@ref:${added.name})`,
      ]);
      const releases = await client.get<Array<{ version: number; addon_plan_names: string[] }>>(
        `/apps/${production.name}/releases`,
      );
      expect(releases.map((r) => r.addon_plan_names)).toEqual([[], ["heroku-postgresql:essential-0"], []]);
      expect(await client.get(`/apps/${production.name}/addons`)).toEqual([]);
      expect(await client.get(`/apps/${production.name}/config-vars`)).toEqual({});
      expect(() => heroku.addAddon(production.name, "heroku-postgresql")).toThrow(/service:plan/);
    });
  });

  describe("app", () => {
    it("answers generation as an object {id, name}, cedar by default and fir when set", async () => {
      const app = await client.get<App>(`/apps/${staging.name}`);
      expect(app.generation).toMatchObject({ name: "cedar" });
      expect(app.generation.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(app.stack.name).toBe("heroku-24");
      expect(app.build_stack.name).toBe("heroku-24");

      heroku.setGeneration(staging.name, "fir");
      expect((await client.get<App>(`/apps/${staging.name}`)).generation.name).toBe("fir");
      // A Fir app builds with Cloud Native Buildpacks (project.toml), not buildpack installations.
      expect(await client.get(`/apps/${staging.name}/buildpack-installations`)).toEqual([]);
    });

    it("answers the stack and the stack of the next build apart during a stack upgrade", async () => {
      heroku.setStack(production.name, "heroku-22", "heroku-24");
      const app = await client.get<App>(`/apps/${production.name}`);
      expect([app.stack.name, app.build_stack.name]).toEqual(["heroku-22", "heroku-24"]);
      expect(() => heroku.setStack(production.name, "cedar-14")).toThrow(/unknown stack/);
    });
  });
});
