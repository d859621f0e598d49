// The real server (compiled dist/) in a child process, as `npm start` runs it, with the test
// timings from TEST_TUNING (JSON) so that crash and multi-instance tests finish in seconds.
// It handles SIGTERM the way src/main.ts does: drain, then exit 0.
import { loadConfig } from "../../dist/config.js";
import { createLogger } from "../../dist/infra/logger.js";
import { startBot } from "../../dist/server.js";

const config = loadConfig(process.env);
const log = createLogger({ level: config.logLevel, secrets: config.secrets });
const tuning = JSON.parse(process.env.TEST_TUNING ?? "{}");
// A process whose clock is off (TEST_CLOCK_SKEW_MS, e.g. ±120000), as two dynos' clocks may be.
const skewMs = Number(process.env.TEST_CLOCK_SKEW_MS ?? 0);
const clock = { now: () => new Date(Date.now() + skewMs) };
const bot = await startBot({ config, log, tuning, host: "127.0.0.1", port: 0, clock });
process.on("SIGTERM", () => {
  bot.close(5_000).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
