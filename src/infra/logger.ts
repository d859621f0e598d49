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

/**
 * Wraps the destination so that every serialized line is scrubbed of every secret value, wherever
 * it sits (message, bindings, nested objects, error messages and stacks). Scrubbing the final line,
 * rather than the objects, covers every path pino has into the output.
 */
function scrubbingStream(secrets: readonly string[], destination: DestinationStream): DestinationStream {
  const needles = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 6) continue;
    needles.add(secret);
    // The JSON-escaped form, as the secret appears inside a serialized string.
    needles.add(JSON.stringify(secret).slice(1, -1));
  }
  if (needles.size === 0) return destination;
  const list = [...needles].sort((a, b) => b.length - a.length);
  return {
    write(line: string) {
      let out = line;
      for (const needle of list) if (out.includes(needle)) out = out.split(needle).join("[REDACTED]");
      destination.write(out);
    },
  };
}

export function createLogger(options: {
  level: LogLevel;
  secrets?: readonly string[];
  destination?: DestinationStream;
  /**
   * Receives every line as the code wrote it, before the secret scrubber (which is the last line of
   * defence): tests check there that no secret was logged at all.
   */
  beforeScrubbing?: DestinationStream;
}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const scrubbed = scrubbingStream(options.secrets ?? [], destination);
  const tap = options.beforeScrubbing;
  const stream: DestinationStream = tap
    ? {
        write(line: string) {
          tap.write(line);
          scrubbed.write(line);
        },
      }
    : scrubbed;
  return pino(
    {
      level: options.level,
      base: { service: "promote-bot" },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    stream,
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

const LEVEL_METHODS = new Set(["fatal", "error", "warn", "info", "debug", "trace"]);
const noop = () => {};

/**
 * A child logger made only when a line at an enabled level is written: pino serializes a child's
 * bindings when the child is made, which a denied click (the hot path, bench/RESULTS.md) would pay
 * for a line it never writes.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const made = () => {
    child ??= parent.child(bindings);
    return child;
  };
  return new Proxy(parent, {
    get(_target, key) {
      if (typeof key === "string" && LEVEL_METHODS.has(key) && !child && !parent.isLevelEnabled(key)) return noop;
      const target = made();
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
