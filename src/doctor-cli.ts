/** `npm run doctor` (on Heroku: `heroku run npm run doctor`). Exit 0 when every check passes, 1 otherwise. */
import { loadConfigOrExit } from "./config.js";
import { runDoctor } from "./doctor.js";
import { createLogger } from "./infra/logger.js";

async function main(): Promise<void> {
  const config = loadConfigOrExit((problems) => {
    process.stdout.write("FAIL  configuration\n");
    for (const problem of problems) process.stdout.write(`      ${problem}\n`);
  });
  const log = createLogger({ level: "silent", secrets: config.secrets });
  const result = await runDoctor(config, log);
  let out = result.lines.join("\n");
  // Belt and braces: no secret value ever leaves in the report.
  for (const secret of config.secrets) if (secret.length >= 6) out = out.split(secret).join("[REDACTED]");
  process.stdout.write(`${out}\n`);
  process.exit(result.ok ? 0 : 1);
}

main().catch((error: unknown) => {
  process.stderr.write(`doctor failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
