/**
 * docs/configuration.md against the configuration schemas, and README's command table against
 * `/promote help`: nothing added to one is missing from the other.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_VARIABLES, PIPELINE_KEYS } from "../../src/config.js";
import { helpMessage } from "../../src/views/replies.js";

const doc = readFileSync(join(import.meta.dirname, "../../docs/configuration.md"), "utf8");
const rows = (section: string) =>
  [...(doc.split(section)[1] ?? "").split("\n## ")[0]!.matchAll(/^\| `([A-Za-z_]+)` \|/gm)].map((m) => m[1]);

describe("docs/configuration.md", () => {
  it("documents exactly the environment variables the configuration reads", () => {
    expect(rows("## Environment variables").sort()).toEqual([...ENV_VARIABLES].sort());
  });

  it("documents exactly the keys a pipeline may have", () => {
    expect(rows("## Pipelines document").sort()).toEqual([...PIPELINE_KEYS].sort());
  });
});

describe("README.md", () => {
  it("lists in its command table every command form `/promote help` lists", () => {
    const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");
    const table = (readme.split("## Commands")[1] ?? "").split("\n## ")[0] ?? "";
    const rowForms = [...table.matchAll(/^\| (.+?) \| /gm)].flatMap((m) =>
      [...(m[1] ?? "").matchAll(/`(\/promote[^`]*)`/g)].map((f) => f[1]),
    );
    const help = JSON.stringify(helpMessage(["whitewave"]).blocks)
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll('\\"', '"');
    const helpForms = [...help.matchAll(/• `(\/promote[^`]*)`(?: \/ `(\/promote[^`]*)`)?/g)].flatMap((m) =>
      [m[1], m[2]].filter(Boolean),
    );
    expect(helpForms.length).toBeGreaterThan(5);
    expect(rowForms).toEqual(expect.arrayContaining(helpForms));
  });
});
