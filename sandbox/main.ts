/**
 * `npm run sandbox`: the real bot on a simulated Slack, Heroku and GitLab, used from a web page.
 * SANDBOX_PORT picks the page's port (default 3000); SANDBOX_REQUIRED_APPROVALS (default 1) and
 * SANDBOX_ALLOW_SELF_APPROVAL (default false) set the demo pipeline's approval rules;
 * SANDBOX_BOT_LOG=1 prints the bot's own log lines.
 */
import { startSandbox } from "./server.js";

function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    process.stderr.write(`${name} must be a whole number, got "${raw}"\n`);
    process.exit(1);
  }
  return value;
}

const port = positiveInteger("SANDBOX_PORT", 3000);
const requiredApprovals = positiveInteger("SANDBOX_REQUIRED_APPROVALS", 1);
const sandbox = await startSandbox({
  port,
  pipeline: {
    requiredApprovals: Math.max(1, requiredApprovals),
    allowSelfApproval: process.env.SANDBOX_ALLOW_SELF_APPROVAL === "true",
  },
  ...(process.env.SANDBOX_BOT_LOG === "1"
    ? { onBotLine: (line: string) => process.stdout.write(`bot: ${line}\n`) }
    : {}),
}).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const inUse = /EADDRINUSE/.test(message) ? ` (port ${port} is taken: set SANDBOX_PORT)` : "";
  process.stderr.write(`The sandbox could not start${inUse}: ${message}\n`);
  process.exit(1);
});

process.stdout.write(
  [
    "",
    "promote-bot sandbox",
    `  Open ${sandbox.url} in a browser.`,
    `  The bot (pid ${sandbox.bot.pid}) runs dist/main.js on ${sandbox.bot.url}, store ${sandbox.storePath}.`,
    "  Slack, Heroku and GitLab are simulated on loopback; nothing leaves this machine.",
    "  Ctrl-C stops everything and removes the store.",
    "",
  ].join("\n"),
);

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  sandbox.close().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`error while stopping: ${String(error)}\n`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
