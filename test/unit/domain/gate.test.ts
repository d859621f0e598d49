import { describe, expect, it } from "vitest";
import type { FreezeWindow } from "../../../src/domain/freeze.js";
import { type Gate, gateKey, gatePasses } from "../../../src/domain/gate.js";

const window: FreezeWindow = { days: ["fri"], from: "16:00", to: "08:00", timezone: "Europe/Paris", reason: "weekend" };
type Closed = Exclude<Gate, { kind: "open" }>;
const lockAt = (iso: string): Closed => ({
  kind: "locked",
  lock: { pipeline: "whitewave", reason: "incident", lockedBy: "U0A", lockedAt: new Date(iso) },
});
const frozen: Closed = { kind: "frozen", window };

describe("gatePasses", () => {
  it("lets every request through an open gate, and none without an override through a closed one", () => {
    expect(gatePasses({ kind: "open" }, { overrideReason: null, overrideGate: null })).toBe(true);
    expect(gatePasses(frozen, { overrideReason: null, overrideGate: null })).toBe(false);
    expect(gatePasses(lockAt("2026-11-27T10:00:00Z"), { overrideReason: null, overrideGate: null })).toBe(false);
  });

  it("lets an override through the lock or window it was given for, and no other", () => {
    const lock = lockAt("2026-11-27T10:00:00Z");
    const forLock = { overrideReason: "hotfix", overrideGate: gateKey(lock) };
    expect(gatePasses(lock, forLock)).toBe(true);
    expect(gatePasses(lockAt("2026-11-27T11:00:00Z"), forLock)).toBe(false); // unlocked and locked again
    expect(gatePasses(frozen, forLock)).toBe(false);
    const forWindow = { overrideReason: "security fix", overrideGate: gateKey(frozen) };
    expect(gatePasses(frozen, forWindow)).toBe(true);
    expect(gatePasses(lock, forWindow)).toBe(false);
    expect(gatePasses({ kind: "frozen", window: { ...window, reason: "release train" } }, forWindow)).toBe(false);
  });

  it("keeps the old meaning for a request stored before overrides named their gate: any gate", () => {
    expect(gatePasses(frozen, { overrideReason: "legacy", overrideGate: null })).toBe(true);
  });
});
