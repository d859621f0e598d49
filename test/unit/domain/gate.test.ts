import { describe, expect, it } from "vitest";
import { type FreezeWindow, occurrenceStart } from "../../../src/domain/freeze.js";
import {
  blockingGate,
  closedGates,
  type Gate,
  gateKey,
  gatePasses,
  overriddenGates,
  overrideKeys,
} from "../../../src/domain/gate.js";

// 2026-11-30 is a Monday; Paris is UTC+1 in winter.
const lunch: FreezeWindow = {
  days: ["mon", "tue", "wed", "thu", "fri"],
  from: "12:00",
  to: "13:00",
  timezone: "Europe/Paris",
  reason: "lunch",
};
const weekend: FreezeWindow = {
  days: ["fri", "sat", "sun"],
  from: "16:00",
  to: "08:00",
  timezone: "Europe/Paris",
  reason: "weekend",
};
const always: FreezeWindow = {
  days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
  from: "00:00",
  to: "00:00",
  timezone: "Europe/Paris",
  reason: "maintenance",
};
const lock = (iso: string) => ({ pipeline: "whitewave", reason: "incident", lockedBy: "U0A", lockedAt: new Date(iso) });
const at = (iso: string) => new Date(iso);
type Closed = Exclude<Gate, { kind: "open" }>;
const first = (closed: Closed[]) => closed[0] as Closed;

describe("occurrenceStart", () => {
  it("finds when this occurrence of a window began, to the minute", () => {
    expect(occurrenceStart(lunch, at("2026-11-30T11:37:20Z"))).toEqual(at("2026-11-30T11:00:00Z"));
    // Sunday morning is part of the window that began on Friday at 16:00.
    expect(occurrenceStart(weekend, at("2026-11-29T06:00:00Z"))).toEqual(at("2026-11-27T15:00:00Z"));
  });

  it("says a window that never ends has no start", () => {
    expect(occurrenceStart(always, at("2026-11-30T11:00:00Z"))).toBeUndefined();
  });
});

describe("gatePasses", () => {
  it("lets every request through an open gate, and none without an override through a closed one", () => {
    expect(gatePasses({ kind: "open" }, { overrideReason: null, overrideGate: null })).toBe(true);
    const frozen = first(closedGates(undefined, [lunch], at("2026-11-30T11:30:00Z")));
    expect(gatePasses(frozen, { overrideReason: null, overrideGate: null })).toBe(false);
  });

  it("lets an override through the lock it was given for, and not through a later lock", () => {
    const locked = first(closedGates(lock("2026-11-27T10:00:00Z"), [], at("2026-11-27T10:05:00Z")));
    const request = { overrideReason: "hotfix", overrideGate: gateKey(locked) };
    expect(gatePasses(locked, request)).toBe(true);
    const relocked = first(closedGates(lock("2026-11-27T11:00:00Z"), [], at("2026-11-27T11:05:00Z")));
    expect(gatePasses(relocked, request)).toBe(false);
  });

  it("lets an override through the occurrence of the window it was given in, not the next day's", () => {
    const monday = closedGates(undefined, [lunch], at("2026-11-30T11:10:00Z"));
    const request = { overrideReason: "security fix", overrideGate: overrideKeys(monday) };
    expect(gatePasses(first(closedGates(undefined, [lunch], at("2026-11-30T11:50:00Z"))), request)).toBe(true);
    expect(gatePasses(first(closedGates(undefined, [lunch], at("2026-12-01T11:10:00Z"))), request)).toBe(false);
    const otherWindow = { ...lunch, reason: "release train" };
    expect(gatePasses(first(closedGates(undefined, [otherWindow], at("2026-11-30T11:50:00Z"))), request)).toBe(false);
  });

  it("covers everything closed at the time: after the lock is lifted, the window it also overrode still passes", () => {
    const both = closedGates(lock("2026-11-30T11:05:00Z"), [lunch], at("2026-11-30T11:10:00Z"));
    expect(both.map((g) => g.kind)).toEqual(["locked", "frozen"]);
    const request = { overrideReason: "hotfix", overrideGate: overrideKeys(both) };
    expect(gatePasses(first(both), request)).toBe(true);
    expect(gatePasses(first(closedGates(undefined, [lunch], at("2026-11-30T11:20:00Z"))), request)).toBe(true);
  });

  it("keeps the old meaning for a request stored before overrides named their gate: any gate", () => {
    const frozen = first(closedGates(undefined, [always], at("2026-11-30T11:00:00Z")));
    expect(gatePasses(frozen, { overrideReason: "legacy", overrideGate: null })).toBe(true);
  });
});

describe("blockingGate", () => {
  it("an override given during a lock does not let a freeze window that starts later through while the lock stays", () => {
    const locked = lock("2026-11-30T10:00:00Z");
    const request = {
      overrideReason: "hotfix",
      overrideGate: overrideKeys(closedGates(locked, [lunch], at("2026-11-30T10:30:00Z"))),
    };
    expect(blockingGate(locked, [lunch], at("2026-11-30T10:45:00Z"), request)).toEqual({ kind: "open" });
    expect(blockingGate(locked, [lunch], at("2026-11-30T11:15:00Z"), request).kind).toBe("frozen");
  });

  it("checks every freeze window in force, not only the first", () => {
    const train = { ...lunch, from: "12:30", to: "14:00", reason: "release train" };
    const request = {
      overrideReason: "fix",
      overrideGate: overrideKeys(closedGates(undefined, [lunch, train], at("2026-11-30T11:10:00Z"))),
    };
    // At 12:40 Paris both windows are in force; the override covered the lunch one only.
    const g = blockingGate(undefined, [lunch, train], at("2026-11-30T11:40:00Z"), request);
    expect(g.kind === "frozen" && g.window.reason).toBe("release train");
    expect(closedGates(undefined, [lunch, train], at("2026-11-30T11:40:00Z"))).toHaveLength(2);
  });
});

describe("overriddenGates", () => {
  it("reads back which lock and which occurrence of which window an override was given for", () => {
    const both = closedGates(lock("2026-11-30T11:05:00Z"), [lunch], at("2026-11-30T11:10:00Z"));
    expect(overriddenGates(overrideKeys(both))).toEqual([
      { kind: "locked", lockedBy: "U0A", lockedAt: at("2026-11-30T11:05:00Z") },
      { kind: "frozen", window: lunch, since: at("2026-11-30T11:00:00Z") },
    ]);
    expect(overriddenGates(overrideKeys(closedGates(undefined, [always], at("2026-11-30T11:00:00Z"))))).toEqual([
      { kind: "frozen", window: always, since: undefined },
    ]);
  });

  it("keeps a window whose reason holds the separators, and names nothing for no override or an old one", () => {
    const odd = { ...lunch, reason: 'deploys "paused"]: see #ops\nline' };
    const closed = closedGates(undefined, [odd], at("2026-11-30T11:10:00Z"));
    expect(overriddenGates(overrideKeys(closed))).toEqual([
      { kind: "frozen", window: odd, since: at("2026-11-30T11:00:00Z") },
    ]);
    expect(overriddenGates(null)).toEqual([]);
    expect(overriddenGates("something else")).toEqual([]);
  });
});
