/** docs/configuration.md against the configuration schemas: nothing added to one is missing from the other. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_VARIABLES, PIPELINE_KEYS } from "../../src/config.js";

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
