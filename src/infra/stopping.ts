/** Shutting down: waits end early so that work stops where another process can resume it. */
import type { Sleep } from "./retry.js";

/** Thrown out of a wait when the process is shutting down, so work stops where it can resume. */
export class Stopping extends Error {
  constructor() {
    super("the bot is shutting down");
    this.name = "Stopping";
  }
}

export function isStopping(error: unknown): boolean {
  return error instanceof Stopping;
}

/** A sleep that ends at once, throwing Stopping, when `signal` aborts (and refuses to start after). */
export function abortableSleep(signal: AbortSignal): Sleep {
  return (ms) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(new Stopping());
      const onAbort = () => {
        clearTimeout(timeout);
        reject(new Stopping());
      };
      const timeout = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
}
