/**
 * One pino root logger with redaction of secrets, and an adapter to Bolt's Logger interface
 * so that Bolt's own log lines are JSON too. Secret values given by the config are also
 * scrubbed from any string that reaches the log (an error message quoting a URL with a token).
 */
import type { Logger as BoltLogger, LogLevel as BoltLogLevel } from "@slack/bolt";
import { type DestinationStream, type Logger, pino } from "pino";
import type { LogLevel } from "../config.js";

export type { Logger };

const REDACT_PATHS = [
  "token",
  "*.token",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "headers.cookie",
  'headers["x-gitlab-token"]',
  'headers["x-slack-signature"]',
  "req.headers.authorization",
  'req.headers["x-gitlab-token"]',
  "config.slack.botToken",
  "config.slack.signingSecret",
  "config.slack.appToken",
  "config.heroku.apiToken",
  "config.gitlab.token",
  "config.gitlab.webhookSecret",
];

function scrubber(secrets: readonly string[]): (value: unknown) => unknown {
  const values = secrets.filter((s) => s.length >= 6);
  const scrub = (value: unknown, depth: number): unknown => {
    if (typeof value === "string") {
      let out = value;
      for (const secret of values) if (out.includes(secret)) out = out.split(secret).join("[REDACTED]");
      return out;
    }
    if (depth > 6 || value === null || typeof value !== "object") return value;
    if (value instanceof Error) {
      return { type: value.name, message: scrub(value.message, depth + 1), stack: scrub(value.stack, depth + 1) };
    }
    if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, depth + 1)]));
  };
  return (value) => scrub(value, 0);
}

export function createLogger(options: {
  level: LogLevel;
  secrets?: readonly string[];
  destination?: DestinationStream;
}): Logger {
  const scrub = scrubber(options.secrets ?? []);
  return pino(
    {
      level: options.level,
      base: { service: "promote-bot" },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      formatters: {
        log: (object) => scrub(object) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          // Scrub the message string too (the object is handled by the formatter).
          const scrubbed = args.map((a) => (typeof a === "string" ? scrub(a) : a)) as Parameters<typeof method>;
          method.apply(this, scrubbed);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}

const BOLT_LEVELS: Record<string, BoltLogLevel> = {
  trace: "debug" as BoltLogLevel,
  debug: "debug" as BoltLogLevel,
  info: "info" as BoltLogLevel,
  warn: "warn" as BoltLogLevel,
  error: "error" as BoltLogLevel,
  fatal: "error" as BoltLogLevel,
  silent: "error" as BoltLogLevel,
};

/** Bolt's Logger, writing through pino. */
export function boltLogger(root: Logger): BoltLogger {
  let log = root.child({ component: "bolt" });
  const join = (parts: unknown[]): string => parts.map((p) => (typeof p === "string" ? p : String(p))).join(" ");
  return {
    debug: (...msg: unknown[]) => log.debug(join(msg)),
    info: (...msg: unknown[]) => log.info(join(msg)),
    warn: (...msg: unknown[]) => log.warn(join(msg)),
    error: (...msg: unknown[]) => log.error(join(msg)),
    setLevel: () => {},
    getLevel: () => BOLT_LEVELS[root.level] ?? ("info" as BoltLogLevel),
    setName: (name: string) => {
      log = root.child({ component: name });
    },
  };
}
