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
          if (command.kind === "request") expect(command.pipeline).toMatch(/^[a-z0-9_-]{1,100}$/);
          else expect(command.kind).toBe("help");
        },
      ),
    );
  });
});
