import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FreezeWindow, inWindow, isTimeZone, localTime } from "../../../src/domain/freeze.js";

const weekend: FreezeWindow = {
  days: ["fri", "sat", "sun"],
  from: "16:00",
  to: "08:00",
  timezone: "Europe/Paris",
  reason: "weekend freeze",
};

describe("freeze windows", () => {
  it("reads wall-clock time in the named zone", () => {
    // 2026-01-16 is a Friday; 15:30 UTC is 16:30 in Paris (UTC+1 in winter).
    expect(localTime(new Date("2026-01-16T15:30:00Z"), "Europe/Paris")).toEqual({ day: "fri", minute: 16 * 60 + 30 });
    expect(localTime(new Date("2026-01-16T15:30:00Z"), "America/New_York")).toEqual({
      day: "fri",
      minute: 10 * 60 + 30,
    });
  });

  it("is inside from Friday 16:00 until Monday 08:00 Paris time, overnight windows included", () => {
    expect(inWindow(weekend, new Date("2026-01-16T14:59:00Z"))).toBe(false); // Fri 15:59 Paris
    expect(inWindow(weekend, new Date("2026-01-16T15:00:00Z"))).toBe(true); // Fri 16:00
    expect(inWindow(weekend, new Date("2026-01-17T12:00:00Z"))).toBe(true); // Sat 13:00: Friday's window runs on through the weekend
    expect(inWindow(weekend, new Date("2026-01-19T06:59:00Z"))).toBe(true); // Mon 07:59, Sunday's night
    expect(inWindow(weekend, new Date("2026-01-19T07:00:00Z"))).toBe(false); // Mon 08:00
    expect(inWindow(weekend, new Date("2026-01-14T15:30:00Z"))).toBe(false); // Wed 16:30
    expect(inWindow(weekend, new Date("2026-01-16T09:00:00Z"))).toBe(false); // Fri 10:00, before the window
    const friday: FreezeWindow = { ...weekend, days: ["fri"] };
    expect(inWindow(friday, new Date("2026-01-17T06:59:00Z"))).toBe(true); // Sat 07:59
    expect(inWindow(friday, new Date("2026-01-17T12:00:00Z"))).toBe(false); // Sat 13:00
  });

  it("follows daylight saving: 16:00 Paris is 15:00 UTC in winter and 14:00 UTC in summer", () => {
    // Europe/Paris moves to summer time on Sunday 2026-03-29. Friday 2026-04-03 is in summer time.
    expect(inWindow(weekend, new Date("2026-04-03T13:59:00Z"))).toBe(false); // 15:59 CEST
    expect(inWindow(weekend, new Date("2026-04-03T14:00:00Z"))).toBe(true); // 16:00 CEST
    // The night of the change itself: Sunday 02:00 does not exist; the window still covers it.
    expect(inWindow(weekend, new Date("2026-03-29T01:30:00Z"))).toBe(true); // 03:30 CEST Sunday
    // Back to winter time on Sunday 2026-10-25: Monday 08:00 CET is 07:00 UTC.
    expect(inWindow(weekend, new Date("2026-10-26T06:59:00Z"))).toBe(true);
    expect(inWindow(weekend, new Date("2026-10-26T07:00:00Z"))).toBe(false);
  });

  it("handles same-day windows and whole days", () => {
    const lunch: FreezeWindow = { days: ["mon"], from: "12:00", to: "13:00", timezone: "UTC", reason: "lunch" };
    expect(inWindow(lunch, new Date("2026-01-19T12:30:00Z"))).toBe(true);
    expect(inWindow(lunch, new Date("2026-01-19T13:00:00Z"))).toBe(false);
    const holiday: FreezeWindow = { days: ["thu"], from: "00:00", to: "00:00", timezone: "UTC", reason: "holiday" };
    expect(inWindow(holiday, new Date("2026-01-15T23:59:00Z"))).toBe(true);
    expect(inWindow(holiday, new Date("2026-01-16T00:00:00Z"))).toBe(false);
  });

  it("knows real time zones", () => {
    expect(isTimeZone("Europe/Paris")).toBe(true);
    expect(isTimeZone("Mars/Olympus_Mons")).toBe(false);
  });

  it("never throws for any instant", () => {
    fc.assert(
      fc.property(fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }), (at) => {
        expect(typeof inWindow(weekend, at)).toBe("boolean");
      }),
    );
  });
});
