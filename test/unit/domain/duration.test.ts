import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration } from "../../../src/domain/duration.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe("parseDuration", () => {
  it.each([
    ["90s", 90_000, "1m 30s"],
    ["30m", 30 * MINUTE, "30m"],
    ["2h", 2 * HOUR, "2h"],
    ["1d", DAY, "1d"],
    ["1h30m", 90 * MINUTE, "1h 30m"],
    // What formatDuration writes reads back the same.
    ["1h 30m", 90 * MINUTE, "1h 30m"],
    ["1d2h3m4s", DAY + 2 * HOUR + 3 * MINUTE + 4_000, "1d 2h 3m 4s"],
    [" 2H ", 2 * HOUR, "2h"],
    ["30d", 30 * DAY, "30d"],
  ])("reads %j", (text, ms, formatted) => {
    expect(parseDuration(text)).toEqual({ ms, text: formatted });
  });

  it("reads a number as seconds", () => {
    expect(parseDuration(60)).toEqual({ ms: MINUTE, text: "1m" });
    expect(parseDuration(7_200)).toEqual({ ms: 2 * HOUR, text: "2h" });
  });

  it.each(["59s", "0m", "31d", "721h", ""])("refuses %j, outside one minute to 30 days", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each(["2 hours", "h", "2", "1.5h", "-1h", "2w", "1h30"])("refuses the malformed %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it.each([59, -60, 0, Number.NaN, Number.POSITIVE_INFINITY, 30 * 86_400 + 1])("refuses the number %d", (n) => {
    expect(parseDuration(n)).toBeUndefined();
  });

  it("never throws, and what it accepts is between one minute and 30 days", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^(\d{1,12}[smhdSMHD]){1,4}$/), fc.double()), (value) => {
        const parsed = parseDuration(value);
        if (parsed) {
          expect(parsed.ms).toBeGreaterThanOrEqual(MINUTE);
          expect(parsed.ms).toBeLessThanOrEqual(30 * DAY);
          expect(parsed.text).toBe(formatDuration(parsed.ms));
        }
      }),
    );
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0ms"],
    [-5, "0ms"],
    [250.4, "250ms"],
    [1_000, "1s"],
    [1_499, "1s"],
    [45_000, "45s"],
    [MINUTE, "1m"],
    [HOUR + 30 * MINUTE, "1h 30m"],
    [DAY + 1_000, "1d 1s"],
  ])("formats %d ms as %j", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("round-trips through parseDuration when the duration has one unit", () => {
    fc.assert(
      fc.property(fc.constantFrom("m", "h", "d"), fc.integer({ min: 1, max: 30 }), (unit, n) => {
        const text = `${n}${unit}`;
        const parsed = parseDuration(text);
        if (parsed) expect(parseDuration(formatDuration(parsed.ms).replaceAll(" ", ""))?.ms).toBe(parsed.ms);
      }),
    );
  });
});
