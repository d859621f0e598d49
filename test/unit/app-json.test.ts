/** app.json (the Deploy to Heroku button) against Heroku's schema keys and the config the bot reads. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_VARIABLES } from "../../src/config.js";

const ROOT = join(import.meta.dirname, "../..");
const app = JSON.parse(readFileSync(join(ROOT, "app.json"), "utf8")) as {
  name: string;
  description: string;
  buildpacks: Array<{ url: string }>;
  addons: Array<string | { plan: string }>;
  env: Record<string, { description: string; required?: boolean; value?: string; generator?: string }>;
  formation?: Record<string, unknown>;
};
const procfile = readFileSync(join(ROOT, "Procfile"), "utf8");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  scripts: Record<string, string>;
};

describe("app.json", () => {
  it("has the keys Heroku's app.json schema uses, with a Postgres add-on and the Node.js buildpack", () => {
    expect(app.name).toMatch(/^[a-z][a-z0-9-]{2,29}$/);
    expect(app.description.length).toBeGreaterThan(0);
    expect(app.buildpacks.map((b) => b.url)).toContain("heroku/nodejs");
    expect(
      app.addons.map((a) => (typeof a === "string" ? a : a.plan)).some((p) => p.startsWith("heroku-postgresql")),
    ).toBe(true);
    for (const [name, spec] of Object.entries(app.env)) {
      expect(name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(spec.description.length).toBeGreaterThan(10);
      expect(Object.keys(spec).every((k) => ["description", "required", "value", "generator"].includes(k))).toBe(true);
      if (spec.generator) expect(spec.generator).toBe("secret");
    }
  });

  it("lists every environment variable the configuration reads, and no other", () => {
    expect(Object.keys(app.env).sort()).toEqual([...ENV_VARIABLES].sort());
  });

  it("marks required exactly the variables the bot cannot start without on Heroku", () => {
    const required = Object.entries(app.env)
      .filter(([, spec]) => spec.required)
      .map(([name]) => name)
      .sort();
    // PIPELINES_YAML: on Heroku the document comes from a config var (a dyno has no pipelines.yml to edit).
    expect(required).toEqual(
      [
        "GITLAB_TOKEN",
        "GITLAB_WEBHOOK_SECRET",
        "HEROKU_API_TOKEN",
        "PIPELINES_YAML",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
      ].sort(),
    );
  });

  it("goes with a Procfile that runs the server and migrates in the release phase, and a Node engine Heroku can pick", () => {
    expect(procfile).toMatch(/^web: npm start$/m);
    expect(procfile).toMatch(/^release: npm run migrate$/m);
    expect(pkg.scripts.start).toBe("node dist/main.js");
    expect(pkg.scripts.build).toContain("tsc");
    expect(pkg.engines.node).toMatch(/20/);
  });
});
