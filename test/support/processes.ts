/** Real bot processes (test/support/bot-process.mjs over dist/) started on a test world. */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { KyselyStore } from "../../src/adapters/store/kysely-store.js";
import type { Tuning } from "../../src/app/context.js";
import { FAST_TUNING, type World } from "./harness.js";

const ENTRY = join(import.meta.dirname, "bot-process.mjs");

export const PROCESS_TUNING: Partial<Tuning> = {
  ...FAST_TUNING,
  promotionLeaseMs: 1_500,
  messageGraceMs: 500,
  promotionPostTimeoutMs: 1_500,
  sweepIntervalMs: 200,
};

export interface BotProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or null when killed by a signal). */
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export async function spawnBot(
  world: World,
  tuning: Partial<Tuning> = PROCESS_TUNING,
  options: { clockSkewMs?: number } = {},
): Promise<BotProcess> {
  const child = spawn(process.execPath, [ENTRY], {
    env: {
      PATH: process.env.PATH ?? "",
      ...world.env,
      TEST_TUNING: JSON.stringify(tuning),
      TEST_CLOCK_SKEW_MS: String(options.clockSkewMs ?? 0),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  for (let i = 0; i < 400; i++) {
    const match = /"port":(\d+).*promote-bot listening/.exec(output);
    if (match) {
      const url = `http://127.0.0.1:${match[1]}`;
      return {
        url,
        child,
        output: () => output,
        exited,
        async kill(signal) {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      };
    }
    if (child.exitCode !== null) throw new Error(`bot process exited at start: ${output}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill("SIGKILL");
  throw new Error(`bot process did not start: ${output}`);
}

/** A second connection to the world's store, to look at what the processes stored. */
export function openStore(world: World): KyselyStore {
  return KyselyStore.connect(world.db.config);
}

export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
