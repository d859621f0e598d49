/**
 * The shape of src/: no import cycles (type imports included: a cycle of types still means two modules
 * that cannot be read apart), and the domain depends on nothing but itself, Node's built-ins and zod.
 * Read from the source files' own import and export-from statements.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports from, statically. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms)].map((m) => m[1] as string);
}

/** The import graph of src/, by path relative to the repository root. */
function importGraph(files: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const local = specifiers(file)
      .filter((s) => s.startsWith("."))
      .map((s) => relative(ROOT, resolve(dirname(file), s.replace(/\.js$/, ".ts"))));
    graph.set(relative(ROOT, file), local);
  }
  return graph;
}

/** Each cycle found by a depth-first walk, as the chain of files that closes it. */
function cyclesOf(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

describe("the architecture of src/", () => {
  const files = sourceFiles(SRC);

  it("finds a cycle when there is one (the check itself)", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
      ["d.ts", ["a.ts"]],
    ]);
    expect(cyclesOf(graph)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
    expect(
      cyclesOf(
        new Map([
          ["a.ts", ["b.ts"]],
          ["b.ts", []],
        ]),
      ),
    ).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(files.length).toBeGreaterThan(50);
    expect(cyclesOf(importGraph(files)).map((c) => c.join(" -> "))).toEqual([]);
  });

  it("keeps the domain free of the layers around it and of client libraries", () => {
    const offending: string[] = [];
    for (const file of files.filter((f) => f.startsWith(join(SRC, "domain")))) {
      for (const s of specifiers(file)) {
        const allowed = s.startsWith("./") || s.startsWith("node:") || s === "zod";
        if (!allowed) offending.push(`${relative(ROOT, file)} imports ${s}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it("keeps the views and the adapters from reaching into the use cases", () => {
    const offending = files
      .filter((f) => f.startsWith(join(SRC, "views")) || f.startsWith(join(SRC, "adapters")))
      .flatMap((f) =>
        specifiers(f)
          .filter((s) => /(^|\/)app\//.test(s))
          .map((s) => `${relative(ROOT, f)} imports ${s}`),
      );
    expect(offending).toEqual([]);
  });

  it("leaves words to the views: the domain and the adapters write no mrkdwn and import nothing from views/", () => {
    const offending = files
      .filter((f) => f.startsWith(join(SRC, "domain")) || f.startsWith(join(SRC, "adapters")))
      .flatMap((f) => [
        ...specifiers(f)
          .filter((s) => /(^|\/)views\//.test(s))
          .map((s) => `${relative(ROOT, f)} imports ${s}`),
        // A user or channel mention, or a date token, written outside the views.
        ...(/<[@#][$A-Z]|<!(date|channel|here|subteam)/.test(readFileSync(f, "utf8"))
          ? [`${relative(ROOT, f)} writes a Slack mention`]
          : []),
      ]);
    expect(offending).toEqual([]);
  });
});
