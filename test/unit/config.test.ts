import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Config, ConfigError, loadConfig, parseDatabaseUrl, parsePipelines } from "../../src/config.js";

const PIPELINES = `
pipelines:
  whitewave:
    gitlab_project: acme/whitewave
    channel: C0123456789
    approvers: [U0AAAAAAA, S0BBBBBBB]
`;

/** Distinctive secret values, so a test can search every problem line for them. */
const SECRETS = {
  SLACK_BOT_TOKEN: "xoxb-bot-0000-sekrit-bot-token",
  SLACK_SIGNING_SECRET: "sekrit-signing-secret-1111",
  HEROKU_API_TOKEN: "sekrit-heroku-token-2222",
  GITLAB_TOKEN: "glpat-sekrit-gitlab-3333",
  GITLAB_WEBHOOK_SECRET: "sekrit-webhook-secret-4444",
};

function validEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...SECRETS, PIPELINES_YAML: PIPELINES, ...overrides };
}

function problemsOf(env: Record<string, string | undefined>): { problems: string[]; message: string } {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return { problems: error.problems, message: error.message };
    throw error;
  }
  throw new Error("expected loadConfig to throw a ConfigError");
}

function pipelineProblems(text: string): string[] {
  const result = parsePipelines(text);
  expect(result.pipelines).toBeUndefined();
  return result.problems;
}

function onePipeline(text: string) {
  const result = parsePipelines(text);
  expect(result.problems).toEqual([]);
  expect(result.pipelines).toHaveLength(1);
  return result.pipelines![0]!;
}

/** A pipelines document with one pipeline `whitewave` made of the valid fields plus `extra` YAML lines. */
function withFields(
  extra: string,
  base = "gitlab_project: acme/whitewave\nchannel: C0123456789\napprovers: [U0AAAAAAA]",
): string {
  const lines = [...base.split("\n"), ...extra.split("\n")].filter(Boolean);
  return `pipelines:\n  whitewave:\n${lines.map((l) => `    ${l}`).join("\n")}\n`;
}

const tmp = mkdtempSync(join(tmpdir(), "promote-bot-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("loadConfig", () => {
  it("reads a complete environment into a typed config", () => {
    const config: Config = loadConfig(validEnv({ SLACK_APP_TOKEN: "xapp-1-sekrit-app-token" }));
    expect(config.slack).toEqual({
      botToken: SECRETS.SLACK_BOT_TOKEN,
      signingSecret: SECRETS.SLACK_SIGNING_SECRET,
      appToken: "xapp-1-sekrit-app-token",
      apiUrl: "https://slack.com/api/",
    });
    expect(config.heroku).toEqual({
      apiToken: SECRETS.HEROKU_API_TOKEN,
      apiUrl: "https://api.heroku.com",
      webhookSecret: undefined,
      eventsFreshForMs: 3_600_000,
    });
    expect(config.publicUrl).toBeUndefined();
    expect(config.gitlab).toEqual({
      token: SECRETS.GITLAB_TOKEN,
      url: "https://gitlab.com",
      webhookSecret: SECRETS.GITLAB_WEBHOOK_SECRET,
    });
    expect(config.pipelines.map((p) => p.name)).toEqual(["whitewave"]);
  });

  it("applies the defaults when the optional variables are unset", () => {
    const config = loadConfig(validEnv());
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.slack.appToken).toBeUndefined();
    expect(config.heroku.apiUrl).toBe("https://api.heroku.com");
    expect(config.gitlab.url).toBe("https://gitlab.com");
    expect(config.database).toEqual({ kind: "sqlite", path: "data/promote.db" });
    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe("info");
  });

  it("treats empty strings as unset for optional variables", () => {
    const config = loadConfig(
      validEnv({
        SLACK_APP_TOKEN: "",
        SLACK_API_URL: "",
        HEROKU_API_URL: "",
        GITLAB_URL: "",
        DATABASE_URL: "",
        PORT: "",
        LOG_LEVEL: "",
        PIPELINES_FILE: "",
      }),
    );
    expect(config.slack.appToken).toBeUndefined();
    expect(config.slack.apiUrl).toBe("https://slack.com/api/");
    expect(config.heroku.apiUrl).toBe("https://api.heroku.com");
    expect(config.gitlab.url).toBe("https://gitlab.com");
    expect(config.database).toEqual({ kind: "sqlite", path: "data/promote.db" });
    expect(config.port).toBe(3000);
    expect(config.logLevel).toBe("info");
  });

  it("reports every missing required variable on its own line, naming it", () => {
    const { problems } = problemsOf({ PIPELINES_YAML: PIPELINES });
    const required = Object.keys(SECRETS);
    expect(problems).toHaveLength(required.length);
    for (const name of required) {
      expect(problems.filter((p) => p.startsWith(`${name}: required`))).toHaveLength(1);
    }
  });

  it("counts an empty required variable as missing", () => {
    const { problems } = problemsOf(validEnv({ GITLAB_TOKEN: "", SLACK_SIGNING_SECRET: "" }));
    expect(problems).toEqual([
      "SLACK_SIGNING_SECRET: required: the signing secret from the Slack app's Basic Information page",
      "GITLAB_TOKEN: required: a GitLab access token with the api scope",
    ]);
  });

  it("lists the problems in the error message too, one line each", () => {
    const { problems, message } = problemsOf({ PIPELINES_YAML: PIPELINES });
    expect(message.split("\n")).toEqual(["invalid configuration:", ...problems.map((p) => `  - ${p}`)]);
  });

  it("refuses a bot token that is not an xoxb- token", () => {
    const { problems } = problemsOf(validEnv({ SLACK_BOT_TOKEN: "xapp-1-not-a-bot-token" }));
    expect(problems).toEqual(["SLACK_BOT_TOKEN: expected a Slack bot token starting with xoxb-"]);
  });

  // BUG (src/config.ts, SLACK_BOT_TOKEN regex /^xox[bp]-/): a user token (xoxp-) is accepted although the
  // README and the error message both ask for a bot token (xoxb-). The bot would then act as a person.
  it("refuses a user token (xoxp-) as SLACK_BOT_TOKEN", () => {
    expect(() => loadConfig(validEnv({ SLACK_BOT_TOKEN: "xoxp-user-token-5555" }))).toThrow(ConfigError);
  });

  it("refuses an app token that is not an xapp- token", () => {
    const { problems } = problemsOf(validEnv({ SLACK_APP_TOKEN: "xoxb-wrong-kind-of-token" }));
    expect(problems).toEqual(["SLACK_APP_TOKEN: expected an app-level token starting with xapp- (or leave it unset)"]);
  });

  it("refuses a SLACK_API_URL that does not end with /api/", () => {
    expect(problemsOf(validEnv({ SLACK_API_URL: "https://slack.com/api" })).problems).toEqual([
      "SLACK_API_URL: expected the URL to end with /api/ (as https://slack.com/api/)",
    ]);
    expect(problemsOf(validEnv({ SLACK_API_URL: "ftp://slack.example/api/" })).problems).toEqual([
      "SLACK_API_URL: expected an http(s) URL ending in /api/",
    ]);
  });

  it("keeps the trailing /api/ of SLACK_API_URL", () => {
    expect(loadConfig(validEnv({ SLACK_API_URL: "http://127.0.0.1:4000/api/" })).slack.apiUrl).toBe(
      "http://127.0.0.1:4000/api/",
    );
  });

  it("drops trailing slashes from HEROKU_API_URL and GITLAB_URL", () => {
    const config = loadConfig(
      validEnv({ HEROKU_API_URL: "http://127.0.0.1:5000/", GITLAB_URL: "https://gitlab.example.com//" }),
    );
    expect(config.heroku.apiUrl).toBe("http://127.0.0.1:5000");
    expect(config.gitlab.url).toBe("https://gitlab.example.com");
  });

  it("refuses HEROKU_API_URL and GITLAB_URL that are not http(s) URLs", () => {
    expect(
      problemsOf(validEnv({ HEROKU_API_URL: "api.heroku.com", GITLAB_URL: "ssh://gitlab.example.com" })).problems,
    ).toEqual([
      "HEROKU_API_URL: expected an http(s) URL (the Heroku Platform API)",
      "GITLAB_URL: expected an http(s) URL (your GitLab instance)",
    ]);
  });

  it.each(["http", "-1", "3000.5", "65536", "99999", " 3000", "0x50"])("refuses PORT=%j", (port) => {
    expect(problemsOf(validEnv({ PORT: port })).problems).toEqual(["PORT: expected a port number (0-65535)"]);
  });

  it.each([
    ["0", 0],
    ["8080", 8080],
    ["65535", 65535],
  ])("accepts PORT=%s", (port, expected) => {
    expect(loadConfig(validEnv({ PORT: port })).port).toBe(expected);
  });

  it("reads the Heroku webhook secret, the events' freshness and the public URL", () => {
    const config = loadConfig(
      validEnv({
        HEROKU_WEBHOOK_SECRET: "h".repeat(40),
        HEROKU_EVENTS_FRESH_FOR: "30m",
        PUBLIC_URL: "https://promote-bot.example.com/",
      }),
    );
    expect(config.heroku.webhookSecret).toBe("h".repeat(40));
    expect(config.heroku.eventsFreshForMs).toBe(30 * 60_000);
    expect(config.publicUrl).toBe("https://promote-bot.example.com");
    expect(config.secrets).toContain("h".repeat(40));
  });

  it("refuses a short Heroku webhook secret, a bad freshness and a public URL that is not http(s), without echoing the secret", () => {
    const { problems } = problemsOf(
      validEnv({ HEROKU_WEBHOOK_SECRET: "short-sekrit", HEROKU_EVENTS_FRESH_FOR: "soon", PUBLIC_URL: "ftp://x" }),
    );
    expect(problems.find((p) => p.startsWith("HEROKU_WEBHOOK_SECRET:"))).toMatch(/at least 32 characters/);
    expect(problems.find((p) => p.startsWith("HEROKU_EVENTS_FRESH_FOR:"))).toMatch(/duration/);
    expect(problems.find((p) => p.startsWith("PUBLIC_URL:"))).toMatch(/http\(s\) URL/);
    expect(problems.join("\n")).not.toContain("short-sekrit");
  });

  it("refuses an unknown LOG_LEVEL and accepts the known ones", () => {
    expect(problemsOf(validEnv({ LOG_LEVEL: "verbose" })).problems).toEqual([
      "LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent",
    ]);
    for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) {
      expect(loadConfig(validEnv({ LOG_LEVEL: level })).logLevel).toBe(level);
    }
  });

  it("reads postgres://, postgresql:// and sqlite: database URLs", () => {
    expect(loadConfig(validEnv({ DATABASE_URL: "postgres://u:p@db:5432/promote" })).database).toEqual({
      kind: "postgres",
      url: "postgres://u:p@db:5432/promote",
    });
    expect(loadConfig(validEnv({ DATABASE_URL: "postgresql://u:p@db/promote" })).database).toEqual({
      kind: "postgres",
      url: "postgresql://u:p@db/promote",
    });
    expect(loadConfig(validEnv({ DATABASE_URL: "sqlite::memory:" })).database).toEqual({
      kind: "sqlite",
      path: ":memory:",
    });
    expect(loadConfig(validEnv({ DATABASE_URL: "sqlite:/var/lib/promote.db" })).database).toEqual({
      kind: "sqlite",
      path: "/var/lib/promote.db",
    });
  });

  it("refuses a database URL with an unknown scheme or without a sqlite path", () => {
    expect(problemsOf(validEnv({ DATABASE_URL: "mysql://u:pw@db/promote" })).problems).toEqual([
      "DATABASE_URL: expected postgres://…, postgresql://… or sqlite:PATH",
    ]);
    expect(problemsOf(validEnv({ DATABASE_URL: "sqlite:" })).problems).toEqual([
      "DATABASE_URL: expected sqlite:PATH with a file path (or sqlite::memory:)",
    ]);
  });

  it("never echoes a secret value in a problem or in the error message", () => {
    const badSecrets = {
      SLACK_BOT_TOKEN: "xapp-sekrit-wrong-bot-token-6666",
      SLACK_APP_TOKEN: "xoxb-sekrit-wrong-app-token-7777",
      DATABASE_URL: "mysql://admin:sekrit-db-password-8888@db/promote",
    };
    const { problems, message } = problemsOf({
      ...validEnv(badSecrets),
      PORT: "port",
      LOG_LEVEL: "loud",
      SLACK_API_URL: "https://slack.com/",
    });
    expect(problems).toHaveLength(6);
    for (const secret of [...Object.values(SECRETS), ...Object.values(badSecrets), "sekrit"]) {
      expect(message).not.toContain(secret);
      for (const problem of problems) expect(problem).not.toContain(secret);
    }
  });

  it("reports environment and pipelines problems together", () => {
    const { problems } = problemsOf({
      ...validEnv({ PORT: "no" }),
      PIPELINES_YAML: withFields("required_approvals: 0"),
    });
    expect(problems).toEqual([
      "PORT: expected a port number (0-65535)",
      "pipelines.whitewave.required_approvals: expected a positive integer",
    ]);
  });

  it("lists every secret value that is set, for log redaction", () => {
    const config = loadConfig(
      validEnv({ SLACK_APP_TOKEN: "xapp-1-sekrit-app-token", DATABASE_URL: "postgres://u:sekrit-pw@db/promote" }),
    );
    expect([...config.secrets].sort()).toEqual(
      [...Object.values(SECRETS), "xapp-1-sekrit-app-token", "postgres://u:sekrit-pw@db/promote"].sort(),
    );
  });

  it("leaves unset and empty secrets out of the secrets list", () => {
    const config = loadConfig(validEnv({ SLACK_APP_TOKEN: "" }));
    expect([...config.secrets].sort()).toEqual(Object.values(SECRETS).sort());
  });

  it("reads the pipelines from PIPELINES_FILE", () => {
    const file = join(tmp, "from-file.yml");
    writeFileSync(file, PIPELINES.replace("whitewave:", "bluewave:"));
    const config = loadConfig(validEnv({ PIPELINES_YAML: undefined, PIPELINES_FILE: file }));
    expect(config.pipelines.map((p) => p.name)).toEqual(["bluewave"]);
  });

  it("prefers PIPELINES_YAML over PIPELINES_FILE", () => {
    const file = join(tmp, "loses.yml");
    writeFileSync(file, PIPELINES.replace("whitewave:", "bluewave:"));
    const config = loadConfig(validEnv({ PIPELINES_FILE: file }));
    expect(config.pipelines.map((p) => p.name)).toEqual(["whitewave"]);
  });

  it("uses PIPELINES_FILE when PIPELINES_YAML is empty", () => {
    const file = join(tmp, "empty-yaml.yml");
    writeFileSync(file, PIPELINES.replace("whitewave:", "bluewave:"));
    const config = loadConfig(validEnv({ PIPELINES_YAML: "", PIPELINES_FILE: file }));
    expect(config.pipelines.map((p) => p.name)).toEqual(["bluewave"]);
  });

  it("says which pipelines file is missing and how to fix it", () => {
    const file = join(tmp, "does-not-exist.yml");
    const { problems } = problemsOf(validEnv({ PIPELINES_YAML: undefined, PIPELINES_FILE: file }));
    expect(problems).toEqual([
      `PIPELINES_FILE (${file}): file not found; create it from pipelines.example.yml or set PIPELINES_YAML`,
    ]);
  });

  it("names the pipelines file that is not valid YAML", () => {
    const file = join(tmp, "broken.yml");
    writeFileSync(file, "pipelines: [\n");
    const { problems } = problemsOf(validEnv({ PIPELINES_YAML: undefined, PIPELINES_FILE: file }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(new RegExp(`^PIPELINES_FILE \\(${file.replaceAll("/", "\\/")}\\): not valid YAML: `));
  });

  it("names PIPELINES_YAML when the inline document is not valid YAML", () => {
    const { problems } = problemsOf(validEnv({ PIPELINES_YAML: "pipelines: [" }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PIPELINES_YAML: not valid YAML: /);
  });
});

describe("parseDatabaseUrl", () => {
  it("defaults to the SQLite file data/promote.db", () => {
    expect(parseDatabaseUrl(undefined)).toEqual({ kind: "sqlite", path: "data/promote.db" });
  });
});

describe("parsePipelines", () => {
  it("applies the documented defaults", () => {
    const p = onePipeline(PIPELINES);
    expect(p).toEqual({
      name: "whitewave",
      herokuPipeline: "whitewave",
      gitlabProject: "acme/whitewave",
      branch: undefined,
      channel: "C0123456789",
      from: "staging",
      to: "production",
      strategy: "heroku",
      productionJob: undefined,
      approverUsers: ["U0AAAAAAA"],
      approverGroups: ["S0BBBBBBB"],
      requiredApprovals: 1,
      allowSelfApproval: false,
      requestTtl: { ms: 2 * 3_600_000, text: "2h" },
      freeze: [],
      drift: "warn",
      driftIgnore: [],
    });
  });

  it("reads drift and drift_ignore, and refuses an unknown mode", () => {
    const p = onePipeline(withFields("drift: block\ndrift_ignore: [SENTRY_ENVIRONMENT, papertrail]"));
    expect(p.drift).toBe("block");
    expect(p.driftIgnore).toEqual(["SENTRY_ENVIRONMENT", "papertrail"]);
    const result = parsePipelines(withFields("drift: loud"));
    expect(result.problems).toEqual([expect.stringMatching(/drift: expected warn or block/)]);
  });

  it("reads freeze windows and refuses bad days, times and time zones", () => {
    const p = onePipeline(
      withFields(
        'freeze: [{ days: [fri, sat, sun], from: "16:00", to: "08:00", timezone: Europe/Paris, reason: "weekend freeze" }]',
      ),
    );
    expect(p.freeze).toEqual([
      { days: ["fri", "sat", "sun"], from: "16:00", to: "08:00", timezone: "Europe/Paris", reason: "weekend freeze" },
    ]);
    const problems = pipelineProblems(
      withFields('freeze: [{ days: [friday], from: "25:00", to: "8", timezone: Mars/Base, reason: "" }]'),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pipelines\.whitewave\.freeze\.0\.days\.0: expected days as mon/),
        'pipelines.whitewave.freeze.0.from: expected a time "HH:MM" (24-hour)',
        'pipelines.whitewave.freeze.0.to: expected a time "HH:MM" (24-hour)',
        "pipelines.whitewave.freeze.0.timezone: expected an IANA time zone such as Europe/Paris or UTC",
        "pipelines.whitewave.freeze.0.reason: expected a reason shown to people who try to promote",
      ]),
    );
  });

  it("reads every field of a full pipeline", () => {
    const p = onePipeline(
      withFields(
        [
          "heroku_pipeline: whitewave-heroku",
          "branch: release",
          "from: development",
          "to: staging",
          "required_approvals: 2",
          "allow_self_approval: true",
          "request_ttl: 30m",
        ].join("\n"),
        "gitlab_project: acme/whitewave\nchannel: C0123456789\napprovers: [U0AAAAAAA, U0CCCCCCC]",
      ),
    );
    expect(p).toMatchObject({
      herokuPipeline: "whitewave-heroku",
      branch: "release",
      from: "development",
      to: "staging",
      requiredApprovals: 2,
      allowSelfApproval: true,
      requestTtl: { ms: 30 * 60_000, text: "30m" },
    });
  });

  it("splits approvers into users (U…, W…) and user groups (S…)", () => {
    const p = onePipeline(withFields("", "gitlab_project: a/b\nchannel: C0123\napprovers: [U01, S02, W03, S04]"));
    expect(p.approverUsers).toEqual(["U01", "W03"]);
    expect(p.approverGroups).toEqual(["S02", "S04"]);
  });

  it("accepts a numeric GitLab project id and nested group paths", () => {
    expect(onePipeline(withFields("", "gitlab_project: 42\nchannel: C0123\napprovers: [U01]")).gitlabProject).toBe(42);
    expect(
      onePipeline(withFields("", "gitlab_project: acme/payments/whitewave\nchannel: C0123\napprovers: [U01]"))
        .gitlabProject,
    ).toBe("acme/payments/whitewave");
  });

  it("accepts a request_ttl in seconds", () => {
    expect(onePipeline(withFields("request_ttl: 5400")).requestTtl).toEqual({ ms: 5_400_000, text: "1h 30m" });
  });

  it("accepts a JSON document", () => {
    const json = JSON.stringify({
      pipelines: { whitewave: { gitlab_project: "acme/whitewave", channel: "C0123456789", approvers: ["U0AAAAAAA"] } },
    });
    expect(onePipeline(json).name).toBe("whitewave");
  });

  it("reads several pipelines in document order", () => {
    const text = `${withFields("")}  bluewave:\n    gitlab_project: acme/bluewave\n    channel: G0123\n    approvers: [S01]\n`;
    const result = parsePipelines(text);
    expect(result.problems).toEqual([]);
    expect(result.pipelines?.map((p) => p.name)).toEqual(["whitewave", "bluewave"]);
  });

  it.each([["0"], ["-1"], ["1.5"], ['"2"']])("names the path of a bad required_approvals (%s)", (value) => {
    expect(pipelineProblems(withFields(`required_approvals: ${value}`))).toEqual([
      "pipelines.whitewave.required_approvals: expected a positive integer",
    ]);
  });

  it("refuses a non-boolean allow_self_approval", () => {
    expect(pipelineProblems(withFields('allow_self_approval: "yes"'))).toEqual([
      "pipelines.whitewave.allow_self_approval: expected true or false",
    ]);
  });

  it.each(["10s", "2 hours", "0", "31d", "soon"])("refuses the request_ttl %j", (ttl) => {
    expect(pipelineProblems(withFields(`request_ttl: ${ttl}`))).toEqual([
      'pipelines.whitewave.request_ttl: expected a duration such as "30m", "2h" or "1d" (at least 1 minute)',
    ]);
  });

  it("reads the gitlab-job strategy with its production job, and requires the job", () => {
    const p = onePipeline(withFields("strategy: gitlab-job\nproduction_job: deploy_production"));
    expect(p).toMatchObject({ strategy: "gitlab-job", productionJob: "deploy_production" });
    expect(pipelineProblems(withFields("strategy: gitlab-job"))).toEqual([
      "pipelines.whitewave.production_job: required when strategy is gitlab-job",
    ]);
  });

  it("refuses an unknown strategy", () => {
    expect(pipelineProblems(withFields("strategy: ftp"))).toEqual([
      expect.stringMatching(/^pipelines\.whitewave\.strategy: /),
    ]);
  });

  it("refuses unknown keys in a pipeline, naming them", () => {
    const problems = pipelineProblems(withFields("approver: [U01]"));
    expect(problems).toEqual([expect.stringMatching(/^pipelines\.whitewave: .*"approver"/)]);
  });

  it("refuses unknown top-level keys", () => {
    const problems = pipelineProblems(`${PIPELINES}defaults:\n  to: production\n`);
    expect(problems).toEqual([expect.stringMatching(/^pipelines: .*"defaults"/)]);
  });

  it.each(["'#releases'", "releases", "c0123456789", "U0123456789"])(
    "refuses the channel %s, asking for an id",
    (channel) => {
      expect(pipelineProblems(withFields("", `gitlab_project: a/b\nchannel: ${channel}\napprovers: [U01]`))).toEqual([
        "pipelines.whitewave.channel: expected a Slack channel id such as C0123456789 (not a #name)",
      ]);
    },
  );

  it("accepts a private channel id (G…)", () => {
    expect(onePipeline(withFields("", "gitlab_project: a/b\nchannel: G0123\napprovers: [U01]")).channel).toBe("G0123");
  });

  it("refuses approvers that are not Slack ids, naming the entry", () => {
    expect(pipelineProblems(withFields("", "gitlab_project: a/b\nchannel: C0123\napprovers: [U01, '@dana']"))).toEqual([
      "pipelines.whitewave.approvers.1: expected a Slack user id (U…/W…) or user-group id (S…)",
    ]);
  });

  it("refuses more required approvals than listed approvers when no user group is listed", () => {
    expect(pipelineProblems(withFields("required_approvals: 2"))).toEqual([
      "pipelines.whitewave.required_approvals: expected at most 1, the number of approvers listed (no request could ever be approved)",
    ]);
    const withGroup = parsePipelines(
      withFields("required_approvals: 3", "gitlab_project: a/b\nchannel: C0123\napprovers: [U01, S02]"),
    );
    expect(withGroup.problems).toEqual([]);
  });

  it("refuses an empty approvers list", () => {
    expect(pipelineProblems(withFields("", "gitlab_project: a/b\nchannel: C0123\napprovers: []"))).toEqual([
      "pipelines.whitewave.approvers: expected at least one approver (Slack user or user-group id)",
    ]);
  });

  it("refuses a GitLab project that is neither a path nor a positive id", () => {
    expect(pipelineProblems(withFields("", "gitlab_project: whitewave\nchannel: C0123\napprovers: [U01]"))).toEqual([
      expect.stringMatching(/^pipelines\.whitewave\.gitlab_project: /),
    ]);
    expect(pipelineProblems(withFields("", "gitlab_project: 0\nchannel: C0123\napprovers: [U01]"))).toEqual([
      expect.stringMatching(/^pipelines\.whitewave\.gitlab_project: /),
    ]);
  });

  it("refuses a pipeline whose from and to are the same stage", () => {
    expect(pipelineProblems(withFields("from: staging\nto: staging"))).toEqual([
      "pipelines.whitewave.to: expected a stage different from `from`",
    ]);
  });

  it("refuses a missing required field, naming its path", () => {
    expect(pipelineProblems(withFields("", "gitlab_project: a/b\napprovers: [U01]"))).toEqual([
      expect.stringMatching(/^pipelines\.whitewave\.channel: /),
    ]);
  });

  it("reports every bad field at once", () => {
    const problems = pipelineProblems(
      withFields("required_approvals: 0\nrequest_ttl: 1s", "gitlab_project: a/b\nchannel: '#x'\napprovers: [U01]"),
    );
    expect(problems).toEqual([
      "pipelines.whitewave.channel: expected a Slack channel id such as C0123456789 (not a #name)",
      "pipelines.whitewave.required_approvals: expected a positive integer",
      'pipelines.whitewave.request_ttl: expected a duration such as "30m", "2h" or "1d" (at least 1 minute)',
    ]);
  });

  it("refuses a pipeline name that is not lower-case, naming it", () => {
    const problems = pipelineProblems(PIPELINES.replace("whitewave:", "WhiteWave:"));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^pipelines\.WhiteWave: /);
  });

  // BUG (src/config.ts, the z.record key schema of pipelinesDocument): zod 4 reports a bad record key as
  // one "invalid_key" issue whose own message is "Invalid key in record"; the custom message (with the
  // nested issue) is dropped, so the operator reads `pipelines.WhiteWave: Invalid key in record`.
  it("explains what a pipeline name may contain", () => {
    expect(pipelineProblems(PIPELINES.replace("whitewave:", "WhiteWave:"))).toEqual([
      "pipelines.WhiteWave: expected a lower-case name of letters, digits, - and _ (it is typed in /promote <name>)",
    ]);
  });

  it("refuses a document without pipelines", () => {
    expect(pipelineProblems("pipelines: {}")).toEqual(["pipelines: expected at least one pipeline"]);
    expect(pipelineProblems("")).toEqual([expect.stringMatching(/^pipelines: /)]);
    expect(pipelineProblems("[]")).toEqual([expect.stringMatching(/^pipelines: /)]);
  });

  it("names the origin of a document that is not valid YAML, with the parser's first line only", () => {
    const problems = parsePipelines("pipelines:\n  a: 1\n  a: 2\n", "PIPELINES_YAML").problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PIPELINES_YAML: not valid YAML: /);
    expect(problems[0]).not.toContain("\n");
  });
});

describe("pipelines.example.yml", () => {
  it("is a valid pipelines document (it is what operators copy)", () => {
    const text = readFileSync(join(import.meta.dirname, "../../pipelines.example.yml"), "utf8");
    const result = parsePipelines(text);
    expect(result.problems).toEqual([]);
    expect(result.pipelines?.[0]?.freeze).toHaveLength(1);
  });
});
