import { parse } from "node:querystring";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseForm } from "../../../../src/transport/slack/slack-intake.js";

const plain = (form: ReturnType<typeof parse>) => ({ ...form });

describe("parseForm", () => {
  it("decodes an interaction's one payload field as querystring does, escapes well formed or not", () => {
    const pieces = fc.constantFrom(
      "%",
      "+",
      "=",
      "a",
      "%2",
      "%41",
      "%2B",
      "%C3",
      "%A9",
      "%E2%82",
      "€",
      "%00",
      " ",
      "{",
      "%7B",
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 30 }), (parts) => {
        const text = `payload=${parts.join("")}`;
        expect(plain(parseForm(text))).toEqual(plain(parse(text)));
      }),
      { numRuns: 2_000 },
    );
    const click = `payload=${encodeURIComponent(JSON.stringify({ type: "block_actions", user: { id: "U1" }, text: "a + b & c" }))}`;
    expect(JSON.parse(parseForm(click).payload as string)).toEqual({
      type: "block_actions",
      user: { id: "U1" },
      text: "a + b & c",
    });
  });

  it("leaves other forms (commands, several fields) to querystring", () => {
    for (const text of ["command=%2Fpromote&text=help&user_id=U1", "payload=x&ssl_check=1", "ssl_check=1", ""]) {
      expect(plain(parseForm(text))).toEqual(plain(parse(text)));
    }
  });
});
