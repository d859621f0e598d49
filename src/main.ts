/**
 * Composition root: loadConfig -> startBot -> serve until SIGTERM/SIGINT, then drain.
 * A bad configuration stops the process before it listens, exit code 1, one line per problem.
 */
import { loadConfigOrExit } from "./config.js";
import { createLogger } from "./infra/logger.js";
import { startBot } from "./server.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit((problems) => {
    process.stderr.write("promote-bot cannot start: the configuration has problems:\n");
    for (const problem of problems) process.stderr.write(`  ${problem}\n`);
  });
  const log = createLogger({ level: config.logLevel, secrets: config.secrets });
  const running = await startBot({ config, log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining before exit");
    // Heroku sends SIGKILL 30 s after SIGTERM; finish well within that.
    running.close(20_000).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "error while shutting down");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("unhandledRejection", (reason) => log.error({ err: reason }, "unhandled promise rejection"));
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`promote-bot failed to start: ${message}\n`);
  process.exit(1);
});
