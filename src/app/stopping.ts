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
