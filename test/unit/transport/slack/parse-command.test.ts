import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePromoteCommand } from "../../../../src/transport/slack/parse-command.js";

describe("parsePromoteCommand", () => {
  it.each(["", "   ", "\n\t", "help", "HELP", "  Help  "])("answers %j with help", (text) => {
    expect(parsePromoteCommand(text)).toEqual({ kind: "help" });
  });

  it("reads a pipeline name, lower-cased and trimmed", () => {
    expect(parsePromoteCommand("whitewave")).toEqual({ kind: "request", pipeline: "whitewave" });
    expect(parsePromoteCommand("  WhiteWave_2-eu \n")).toEqual({ kind: "request", pipeline: "whitewave_2-eu" });
  });

  it("answers extra words with help that quotes what was not understood", () => {
    expect(parsePromoteCommand("whitewave  now please")).toEqual({
      kind: "help",
      hint: "I did not understand `whitewave now please`.",
    });
  });

  it("answers help followed by anything with plain help", () => {
    expect(parsePromoteCommand("help me")).toEqual({ kind: "help" });
  });

  it.each([
    "white.wave",
    "#whitewave",
    "<#C0123|whitewave>",
    "whitewave;",
    "wh\u00eftewave",
    "\u200bwhitewave",
    "x".repeat(101),
  ])("answers the name %j with help explaining what a name may contain", (text) => {
    expect(parsePromoteCommand(text)).toEqual({
      kind: "help",
      hint: "A pipeline name has only letters, digits, - and _.",
    });
  });

  it("accepts a name of 100 characters", () => {
    expect(parsePromoteCommand("x".repeat(100))).toEqual({ kind: "request", pipeline: "x".repeat(100) });
  });

  it("never throws, and a requested pipeline is always a clean lower-case name", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "grapheme" }), fc.stringMatching(/^\s*[A-Za-z0-9_-]{1,120}\s*$/)),
        (text) => {
          const command = parsePromoteCommand(text);
          if ("pipeline" in command) expect(command.pipeline).toMatch(/^[a-z0-9_-]{1,100}$/);
          else expect(["help", "list"]).toContain(command.kind);
        },
      ),
    );
  });

  describe("subcommands", () => {
    it.each([
      ["list", { kind: "list" }],
      ["  LIST  ", { kind: "list" }],
      ["status whitewave", { kind: "status", pipeline: "whitewave" }],
      ["status   WhiteWave ", { kind: "status", pipeline: "whitewave" }],
      ["history whitewave", { kind: "history", pipeline: "whitewave", limit: 10 }],
      ["history whitewave 3", { kind: "history", pipeline: "whitewave", limit: 3 }],
      ["history whitewave 500", { kind: "history", pipeline: "whitewave", limit: 50 }],
      ["history whitewave 0", { kind: "history", pipeline: "whitewave", limit: 1 }],
      ["cancel whitewave", { kind: "cancel", pipeline: "whitewave" }],
      ["unlock whitewave", { kind: "unlock", pipeline: "whitewave" }],
      ["lock whitewave db migration running", { kind: "lock", pipeline: "whitewave", reason: "db migration running" }],
      ['lock whitewave "incident #12"', { kind: "lock", pipeline: "whitewave", reason: "incident #12" }],
      ["lock whitewave \u201cincident\u201d", { kind: "lock", pipeline: "whitewave", reason: "incident" }],
      [
        'whitewave --override "hotfix for the outage"',
        { kind: "request", pipeline: "whitewave", override: "hotfix for the outage" },
      ],
      ["whitewave --override=now", { kind: "request", pipeline: "whitewave", override: "now" }],
      ["rollback whitewave", { kind: "rollback", pipeline: "whitewave" }],
      [
        'rollback whitewave --override "bad deploy"',
        { kind: "rollback", pipeline: "whitewave", override: "bad deploy" },
      ],
    ] as const)("reads %j", (text, expected) => {
      expect(parsePromoteCommand(text)).toEqual(expected);
    });

    it.each([
      ["list everything", /takes no arguments/],
      ["status", /Usage: `\/promote status <pipeline>`/],
      ["status a b", /Usage/],
      ["history whitewave many", /N from 1 to 50/],
      ["history whitewave 1 2", /N from 1 to 50/],
      ["lock whitewave", /say why/],
      ["lock", /Usage: `\/promote lock <pipeline> <reason>`/],
      ["whitewave --override", /say why/],
      ['whitewave --override ""', /say why/],
      ["whitewave now please", /did not understand/],
      ["stauts whitewave", /did not understand/],
      ["rollback", /Usage: `\/promote rollback <pipeline>`/],
      [
        "rollback whitewave now",
        /Usage: `\/promote rollback <pipeline>` or `\/promote rollback <pipeline> --override "reason"`/,
      ],
      ["rollback whitewave --override", /say why/],
      ["cancel white wave", /Usage/],
      ["status white/wave", /only letters, digits/],
    ])("answers %j with help and a hint", (text, hint) => {
      const command = parsePromoteCommand(text);
      expect(command.kind).toBe("help");
      expect(command.kind === "help" && command.hint).toMatch(hint);
    });
  });
});
