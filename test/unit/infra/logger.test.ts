import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/domain/errors.js";
import { boltLogger, createLogger, lazyChild } from "../../../src/infra/logger.js";

const SECRET = "xoxb-sekrit-0000-token";

function collecting(level: "info" | "debug" | "warn" = "info", secrets: string[] = [SECRET]) {
  const lines: string[] = [];
  const log = createLogger({ level, secrets, destination: { write: (line: string) => void lines.push(line) } });
  const output = () => lines.join("");
  const records = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { log, output, records };
}

describe("createLogger", () => {
  it("writes one JSON line per record, tagged with the service", () => {
    const { log, records } = collecting();
    log.info({ requestId: "req_1" }, "approved");
    expect(records()).toEqual([
      expect.objectContaining({ level: 30, service: "promote-bot", requestId: "req_1", msg: "approved" }),
    ]);
    expect(records()[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it("leaves out records below the level", () => {
    const { log, records } = collecting("warn");
    log.info("quiet");
    log.warn("loud");
    expect(records().map((r) => r.msg)).toEqual(["loud"]);
  });

  it("scrubs a secret from the message", () => {
    const { log, output } = collecting();
    log.info(`calling https://slack.example/api?token=${SECRET}`);
    expect(output()).not.toContain(SECRET);
    expect(output()).toContain("token=[REDACTED]");
  });

  it("hands every line to beforeScrubbing as written, so a test can see a secret the scrubber hides", () => {
    const raw: string[] = [];
    const scrubbed: string[] = [];
    const log = createLogger({
      level: "info",
      secrets: [SECRET],
      destination: { write: (line: string) => void scrubbed.push(line) },
      beforeScrubbing: { write: (line: string) => void raw.push(line) },
    });
    log.info(`token=${SECRET}`);
    expect(raw.join("")).toContain(SECRET);
    expect(scrubbed.join("")).not.toContain(SECRET);
    expect(scrubbed.join("")).toContain("token=[REDACTED]");
  });

  it("scrubs a secret from a %s argument", () => {
    const { log, output } = collecting();
    log.info("token is %s", SECRET);
    expect(output()).not.toContain(SECRET);
  });

  it("scrubs a secret from any object field", () => {
    const { log, output } = collecting();
    log.info(
      { url: `https://x.example/?t=${SECRET}`, list: [`a ${SECRET}`], nested: { deeper: { note: SECRET } } },
      "m",
    );
    expect(output()).not.toContain(SECRET);
  });

  it("scrubs a secret from an error's message and stack", () => {
    const { log, output, records } = collecting();
    log.error({ err: new Error(`GET https://api.example/?token=${SECRET} failed`) }, "request failed");
    expect(output()).not.toContain(SECRET);
    expect(JSON.stringify(records()[0]?.err)).toContain("[REDACTED]");
  });

  it("scrubs a secret from an error nested in an object", () => {
    const { log, output } = collecting();
    log.error({ context: { cause: new Error(`bad ${SECRET}`) } }, "failed");
    expect(output()).not.toContain(SECRET);
  });

  it("redacts authorization and GitLab token headers", () => {
    const { log, records } = collecting();
    log.info(
      {
        headers: {
          authorization: "Bearer abc123",
          "x-gitlab-token": "gl-hook-secret",
          "content-type": "application/json",
        },
        req: { headers: { authorization: "Bearer def456", "x-gitlab-token": "gl-hook-secret-2" } },
      },
      "request",
    );
    const [record] = records();
    expect(record?.headers).toEqual({
      authorization: "[REDACTED]",
      "x-gitlab-token": "[REDACTED]",
      "content-type": "application/json",
    });
    expect(record?.req).toEqual({ headers: { authorization: "[REDACTED]", "x-gitlab-token": "[REDACTED]" } });
  });

  it("redacts the secrets of a logged config", () => {
    const { log, output } = collecting("info", []);
    log.info(
      { config: { slack: { botToken: "bot-value-1", signingSecret: "sig-value-2" }, gitlab: { token: "gl-value-3" } } },
      "config",
    );
    for (const value of ["bot-value-1", "sig-value-2", "gl-value-3"]) expect(output()).not.toContain(value);
  });

  it("redacts token, password and secret fields", () => {
    const { log, output } = collecting("info", []);
    log.info({ token: "tok-value-1", password: "pw-value-2", heroku: { secret: "sec-value-3" } }, "fields");
    for (const value of ["tok-value-1", "pw-value-2", "sec-value-3"]) expect(output()).not.toContain(value);
  });

  // BUG (src/infra/logger.ts): `log.error(err)` puts err.message in `msg`, which neither the logMethod hook
  // (it scrubs only string arguments) nor formatters.log (it sees the object, not the message) scrubs.
  it("scrubs a secret from the message of an error logged on its own", () => {
    const { log, output } = collecting();
    log.error(new Error(`GET https://api.example/?token=${SECRET} failed`));
    expect(output()).not.toContain(SECRET);
  });

  // BUG (src/infra/logger.ts): objects interpolated into the message (%o, %j, %O) are not scrubbed.
  it("scrubs a secret from an object interpolated into the message", () => {
    const { log, output } = collecting();
    log.info("options %o", { url: `https://x.example/?t=${SECRET}` });
    expect(output()).not.toContain(SECRET);
  });

  // BUG (src/infra/logger.ts): child-logger bindings go through formatters.bindings, not formatters.log,
  // so they are never scrubbed (e.g. log.child({ url }) with a token in the URL).
  it("scrubs a secret from a child logger's bindings", () => {
    const { log, output } = collecting();
    log.child({ url: `https://x.example/?token=${SECRET}` }).info("child");
    expect(output()).not.toContain(SECRET);
  });

  // BUG (src/infra/logger.ts, scrubber): past depth 6 objects are returned unscrubbed.
  it("scrubs a secret however deep it is nested", () => {
    const { log, output } = collecting();
    log.info({ a: { b: { c: { d: { e: { f: { g: { h: SECRET } } } } } } } }, "deep");
    expect(output()).not.toContain(SECRET);
  });

  // BUG (src/infra/logger.ts, scrubber): the scrubber turns an Error into { type, message, stack } before
  // pino's err serializer runs, so the serializer then reports type "Object" and the error's own fields
  // (DomainError's code and details, an HTTP error's status, `cause`) are lost from every error log.
  it("keeps an error's type and code", () => {
    const { log, records } = collecting();
    log.error({ err: new DomainError("NOT_APPROVER", "no") }, "refused");
    expect(records()[0]?.err).toMatchObject({ type: "DomainError", code: "NOT_APPROVER", message: "no" });
  });

  it("does not scrub secrets shorter than 6 characters (too likely to match ordinary text)", () => {
    const { log, output } = collecting("info", ["abc12"]);
    log.info("value abc12");
    expect(output()).toContain("abc12");
  });
});

describe("boltLogger", () => {
  it("writes Bolt's log lines through pino, scrubbed, with the component name", () => {
    const { log, records } = collecting("debug");
    const bolt = boltLogger(log);
    bolt.warn("could not", "connect", 3, SECRET);
    bolt.setName("socket-mode");
    bolt.debug("hello");
    expect(records()).toEqual([
      expect.objectContaining({ level: 40, component: "bolt", msg: "could not connect 3 [REDACTED]" }),
      expect.objectContaining({ level: 20, component: "socket-mode", msg: "hello" }),
    ]);
  });

  it("reports pino's level in Bolt's terms", () => {
    expect(boltLogger(collecting("debug").log).getLevel()).toBe("debug");
    expect(boltLogger(collecting("warn").log).getLevel()).toBe("warn");
  });
});

describe("lazyChild", () => {
  it("writes its bindings with each line, and makes no child while only disabled levels are used", () => {
    const lines: string[] = [];
    const root = createLogger({
      level: "info",
      secrets: [],
      destination: { write: (line: string) => void lines.push(line) },
    });
    let made = 0;
    const counting = new Proxy(root, {
      get(target, key) {
        if (key === "child") made += 1;
        return Reflect.get(target, key, target);
      },
    });
    const log = lazyChild(counting, { slackUser: "U1", action: "approve_request" });
    log.debug({ code: "NOT_APPROVER" }, "refused");
    expect(made).toBe(0);
    expect(lines).toEqual([]);
    log.info("clicked");
    log.warn("again");
    expect(made).toBe(1);
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ slackUser: "U1", action: "approve_request", msg: "clicked" }),
      expect.objectContaining({ slackUser: "U1", action: "approve_request", msg: "again" }),
    ]);
  });
});
