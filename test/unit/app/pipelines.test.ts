import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { distance, findPipeline, matchesProject, pipelineView } from "../../../src/app/pipelines.js";
import { DomainError } from "../../../src/domain/errors.js";
import { aPipelineConfig } from "../builders.js";

const pipelines = [aPipelineConfig({ name: "whitewave" }), aPipelineConfig({ name: "bluewave", gitlabProject: 7 })];

function refusalOf(name: string, from = pipelines): DomainError {
  try {
    findPipeline(from, name);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error(`expected findPipeline to refuse ${name}`);
}

describe("findPipeline", () => {
  it("finds a pipeline by name, ignoring case and surrounding spaces", () => {
    expect(findPipeline(pipelines, "bluewave").name).toBe("bluewave");
    expect(findPipeline(pipelines, "  WhiteWave ").name).toBe("whitewave");
  });

  it("suggests the closest name for a typo and lists every pipeline", () => {
    const error = refusalOf("whitewav");
    expect(error.code).toBe("UNKNOWN_PIPELINE");
    expect(error.details).toEqual({ name: "whitewav" });
    expect(error.message).toBe(
      "There is no pipeline called `whitewav`. Did you mean `whitewave`? Configured pipelines: `whitewave`, `bluewave`.",
    );
  });

  it("suggests nothing for a name far from every pipeline", () => {
    expect(refusalOf("payments").message).toBe(
      "There is no pipeline called `payments`. Configured pipelines: `whitewave`, `bluewave`.",
    );
  });

  it("says when no pipeline is configured", () => {
    expect(refusalOf("whitewave", []).message).toBe(
      "There is no pipeline called `whitewave`. Configured pipelines: none.",
    );
  });

  it("escapes the name it quotes", () => {
    expect(refusalOf("<!channel>").message).toContain("`&lt;!channel&gt;`");
  });
});

describe("distance", () => {
  it.each([
    ["", "", 0],
    ["abc", "", 3],
    ["", "abc", 3],
    ["kitten", "sitting", 3],
    ["whitewave", "whitewav", 1],
    ["whitewave", "whtiewave", 2],
    ["flaw", "lawn", 2],
  ])("between %j and %j is %d", (a, b, d) => {
    expect(distance(a, b)).toBe(d);
  });

  it("is symmetric, zero only for equal strings, and at most the longer length", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), (a, b) => {
        const d = distance(a, b);
        expect(distance(b, a)).toBe(d);
        expect(d === 0).toBe(a === b);
        expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
        expect(d).toBeGreaterThanOrEqual(Math.abs(a.length - b.length));
      }),
    );
  });
});

describe("matchesProject", () => {
  const event = { id: 42, path_with_namespace: "Acme/WhiteWave" };

  it("matches a project configured by id", () => {
    expect(matchesProject(aPipelineConfig({ gitlabProject: 42 }), event)).toBe(true);
    expect(matchesProject(aPipelineConfig({ gitlabProject: 43 }), event)).toBe(false);
  });

  it("matches a project configured by path, ignoring case", () => {
    expect(matchesProject(aPipelineConfig({ gitlabProject: "acme/whitewave" }), event)).toBe(true);
    expect(matchesProject(aPipelineConfig({ gitlabProject: "acme/whitewave-api" }), event)).toBe(false);
  });

  it("does not match a path against the id", () => {
    expect(matchesProject(aPipelineConfig({ gitlabProject: "42" }), event)).toBe(false);
  });
});

describe("pipelineView", () => {
  it("keeps what the messages show", () => {
    expect(pipelineView(aPipelineConfig())).toEqual({
      name: "whitewave",
      from: "staging",
      to: "production",
      approverUsers: ["U0AAAAAAA"],
      approverGroups: ["S0BBBBBBB"],
      requiredApprovals: 1,
      drift: "warn",
    });
  });
});
