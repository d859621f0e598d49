/**
 * Configuration: environment variables and the pipelines document, parsed once at start-up.
 * Nothing else in src/ reads process.env. loadConfig reports every problem at once, one line each,
 * naming the variable or the path of the bad field and what was expected, never echoing a secret.
 */
import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { DriftMode } from "./domain/drift.js";
import { type Duration, parseDuration } from "./domain/duration.js";
import { type FreezeWindow, isTimeZone, WEEKDAYS } from "./domain/freeze.js";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export type DatabaseConfig = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

export type Strategy = "heroku" | "gitlab-job";

export interface PipelineConfig {
  /** The name typed in `/promote <name>`. */
  name: string;
  herokuPipeline: string;
  gitlabProject: string | number;
  /** Undefined: the GitLab project's default branch. */
  branch: string | undefined;
  channel: string;
  from: string;
  to: string;
  strategy: Strategy;
  productionJob: string | undefined;
  /** Slack user ids (U…/W…). */
  approverUsers: string[];
  /** Slack user-group ids (S…). */
  approverGroups: string[];
  requiredApprovals: number;
  allowSelfApproval: boolean;
  requestTtl: Duration;
  /** Recurring windows during which the pipeline behaves as locked. */
  freeze: FreezeWindow[];
  /** What drift between the source and the targets does: shown (warn) or stops approvals (block). */
  drift: DriftMode;
  /** Config var names and add-on services that differ on purpose. */
  driftIgnore: string[];
}

export interface Config {
  slack: { botToken: string; signingSecret: string; appToken: string | undefined; apiUrl: string };
  heroku: {
    apiToken: string;
    apiUrl: string;
    /**
     * The secret Heroku signs app webhook deliveries with (Heroku-Webhook-Hmac-SHA256). Unset: the bot
     * takes no Heroku webhooks (POST /heroku/webhook answers 404) and reads Heroku for every view.
     */
    webhookSecret: string | undefined;
    /** An app's release view is trusted this long after its last Heroku webhook event; then it is read again. */
    eventsFreshForMs: number;
  };
  /** The bot's public base URL (https://promote-bot.example.com), for the webhook subscriptions it sets up. */
  publicUrl: string | undefined;
  gitlab: { token: string; url: string; webhookSecret: string };
  database: DatabaseConfig;
  pipelines: PipelineConfig[];
  port: number;
  logLevel: LogLevel;
  /** Run every flow but, instead of promoting, playing a job or rolling back, say what would happen. */
  dryRun: boolean;
  /** Every secret value, for log redaction. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

const STAGES = ["review", "development", "staging", "production"] as const;

/** Empty strings count as unset (Heroku and shells make them easily). */
const optionalString = z.preprocess((v) => (v === "" ? undefined : v), z.string().optional());
const requiredString = (what: string) =>
  z.preprocess((v) => (v === "" ? undefined : v), z.string({ error: `required: ${what}` }));

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `expected an http(s) URL (${what})` }).transform((u) => u.replace(/\/+$/, ""));

const envSchema = z.object({
  SLACK_BOT_TOKEN: requiredString("the bot token (xoxb-…) from the Slack app's OAuth page").pipe(
    z.string().regex(/^xoxb-/, { error: "expected a Slack bot token starting with xoxb-" }),
  ),
  SLACK_SIGNING_SECRET: requiredString("the signing secret from the Slack app's Basic Information page"),
  SLACK_APP_TOKEN: optionalString.pipe(
    z
      .string()
      .regex(/^xapp-/, { error: "expected an app-level token starting with xapp- (or leave it unset)" })
      .optional(),
  ),
  SLACK_API_URL: optionalString.pipe(
    z
      .url({ protocol: /^https?$/, error: "expected an http(s) URL ending in /api/" })
      .refine((u) => u.endsWith("/api/"), { error: "expected the URL to end with /api/ (as https://slack.com/api/)" })
      .default("https://slack.com/api/"),
  ),
  HEROKU_API_TOKEN: requiredString(
    "a Heroku API token of an account without two-factor (e.g. heroku authorizations:create)",
  ),
  HEROKU_API_URL: optionalString.pipe(httpUrl("the Heroku Platform API").default("https://api.heroku.com")),
  HEROKU_WEBHOOK_SECRET: optionalString.pipe(
    z
      .string()
      .min(32, { error: "expected at least 32 characters (e.g. openssl rand -hex 32), or leave it unset" })
      .optional(),
  ),
  HEROKU_EVENTS_FRESH_FOR: optionalString.pipe(
    z
      .string()
      .transform((value, ctx) => {
        const parsed = parseDuration(value);
        if (!parsed) {
          ctx.addIssue({ code: "custom", message: 'expected a duration such as "30m" or "1h" (at least 1 minute)' });
          return z.NEVER;
        }
        return parsed.ms;
      })
      .default(60 * 60_000),
  ),
  PUBLIC_URL: optionalString.pipe(httpUrl("the bot's public base URL, as https://promote-bot.example.com").optional()),
  GITLAB_TOKEN: requiredString("a GitLab access token with the api scope"),
  GITLAB_URL: optionalString.pipe(httpUrl("your GitLab instance").default("https://gitlab.com")),
  GITLAB_WEBHOOK_SECRET: requiredString("the secret token set on the GitLab webhook"),
  DATABASE_URL: optionalString,
  PIPELINES_FILE: optionalString.pipe(z.string().default("pipelines.yml")),
  PIPELINES_YAML: optionalString,
  PORT: optionalString.pipe(
    z
      .string()
      .regex(/^\d+$/, { error: "expected a port number (0-65535)" })
      .transform(Number)
      .pipe(z.number().int().min(0).max(65535, { error: "expected a port number (0-65535)" }))
      .default(3000),
  ),
  DRY_RUN: optionalString.pipe(
    z
      .enum(["true", "false", "1", "0"], { error: "expected true or false" })
      .transform((v) => v === "true" || v === "1")
      .default(false),
  ),
  LOG_LEVEL: optionalString.pipe(
    z
      .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
        error: "expected one of fatal, error, warn, info, debug, trace, silent",
      })
      .default("info"),
  ),
});

/** Every environment variable the bot reads (app.json and the docs are checked against this list). */
export const ENV_VARIABLES = Object.keys(envSchema.shape) as ReadonlyArray<keyof typeof envSchema.shape>;

const SECRET_VARS = [
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "HEROKU_API_TOKEN",
  "GITLAB_TOKEN",
  "GITLAB_WEBHOOK_SECRET",
  "HEROKU_WEBHOOK_SECRET",
  "DATABASE_URL",
] as const;

const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const parsed = parseDuration(value);
  if (!parsed) {
    ctx.addIssue({ code: "custom", message: 'expected a duration such as "30m", "2h" or "1d" (at least 1 minute)' });
    return z.NEVER;
  }
  return parsed;
});

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a time "HH:MM" (24-hour)' });

const freezeSchema = z
  .object({
    days: z
      .array(z.enum(WEEKDAYS, { error: "expected days as mon, tue, wed, thu, fri, sat, sun" }))
      .min(1, { error: "expected at least one day" }),
    from: hhmm,
    to: hhmm,
    timezone: z.string().refine(isTimeZone, { error: "expected an IANA time zone such as Europe/Paris or UTC" }),
    reason: z.string().min(1, { error: "expected a reason shown to people who try to promote" }).max(300),
  })
  .strict();

const slackId = (prefix: RegExp, what: string) => z.string().regex(prefix, { error: `expected ${what}` });

const pipelineFields = z
  .object({
    heroku_pipeline: z.string().min(1).optional(),
    gitlab_project: z.union([
      z
        .string()
        .regex(/^[\w.-]+(\/[\w.-]+)+$/, { error: "expected a project path such as acme/whitewave or a numeric id" }),
      z.number().int().positive(),
    ]),
    branch: z.string().min(1).optional(),
    channel: slackId(/^[CG][A-Z0-9]{2,}$/, "a Slack channel id such as C0123456789 (not a #name)"),
    from: z.enum(STAGES).default("staging"),
    to: z.enum(STAGES).default("production"),
    strategy: z.enum(["heroku", "gitlab-job"]).default("heroku"),
    production_job: z.string().min(1).optional(),
    approvers: z
      .array(slackId(/^[UWS][A-Z0-9]{2,}$/, "a Slack user id (U…/W…) or user-group id (S…)"))
      .min(1, { error: "expected at least one approver (Slack user or user-group id)" }),
    required_approvals: z
      .number({ error: "expected a positive integer" })
      .int({ error: "expected a positive integer" })
      .positive({ error: "expected a positive integer" })
      .default(1),
    allow_self_approval: z.boolean({ error: "expected true or false" }).default(false),
    request_ttl: durationSchema.default(parseDuration("2h") as Duration),
    freeze: z.array(freezeSchema).default([]),
    drift: z.enum(["warn", "block"], { error: "expected warn or block" }).default("warn"),
    drift_ignore: z
      .array(
        z
          .string()
          .min(1)
          .max(200)
          .regex(/^[^\s]+$/, { error: "expected a config var name or add-on service, without spaces" }),
      )
      .default([]),
  })
  .strict();

/** Every key a pipeline may have (docs/configuration.md is checked against this list). */
export const PIPELINE_KEYS = Object.keys(pipelineFields.shape);

const pipelineSchema = pipelineFields.superRefine((p, ctx) => {
  if (p.strategy === "gitlab-job" && !p.production_job) {
    ctx.addIssue({ code: "custom", path: ["production_job"], message: "required when strategy is gitlab-job" });
  }
  const groups = p.approvers.filter((a) => a.startsWith("S")).length;
  const users = p.approvers.length - groups;
  if (groups === 0 && users > 0 && p.required_approvals > users) {
    ctx.addIssue({
      code: "custom",
      path: ["required_approvals"],
      message: `expected at most ${users}, the number of approvers listed (no request could ever be approved)`,
    });
  }
  if (p.from === p.to) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "expected a stage different from `from`" });
  }
});

const PIPELINE_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const pipelinesDocument = z
  .object({
    pipelines: z
      .record(z.string(), pipelineSchema)
      .refine((r) => Object.keys(r).length > 0, { error: "expected at least one pipeline" })
      .superRefine((record, ctx) => {
        // Checked here rather than as the record's key schema, whose errors zod words generically.
        for (const name of Object.keys(record)) {
          if (!PIPELINE_NAME.test(name)) {
            ctx.addIssue({
              code: "custom",
              path: [name],
              message: "expected a lower-case name of letters, digits, - and _ (it is typed in /promote <name>)",
            });
          }
        }
      }),
  })
  .strict();

function formatPath(prefix: string, path: ReadonlyArray<PropertyKey>): string {
  return [prefix, ...path.map(String)].filter(Boolean).join(".");
}

export function parseDatabaseUrl(value: string | undefined): DatabaseConfig | string {
  if (!value) return { kind: "sqlite", path: "data/promote.db" };
  if (/^postgres(ql)?:\/\//.test(value)) return { kind: "postgres", url: value };
  if (value.startsWith("sqlite:")) {
    const path = value.slice("sqlite:".length);
    if (!path) return "DATABASE_URL: expected sqlite:PATH with a file path (or sqlite::memory:)";
    return { kind: "sqlite", path };
  }
  return "DATABASE_URL: expected postgres://…, postgresql://… or sqlite:PATH";
}

function readPipelinesSource(env: { PIPELINES_YAML?: string | undefined; PIPELINES_FILE: string }): {
  text?: string;
  problem?: string;
  origin: string;
} {
  if (env.PIPELINES_YAML) return { text: env.PIPELINES_YAML, origin: "PIPELINES_YAML" };
  const origin = `PIPELINES_FILE (${env.PIPELINES_FILE})`;
  if (!existsSync(env.PIPELINES_FILE)) {
    return {
      origin,
      problem: `${origin}: file not found; create it from pipelines.example.yml or set PIPELINES_YAML`,
    };
  }
  return { text: readFileSync(env.PIPELINES_FILE, "utf8"), origin };
}

/** Parses the pipelines YAML/JSON document; returns the pipelines or the problems, each with its path. */
export function parsePipelines(
  text: string,
  origin = "pipelines",
): { pipelines?: PipelineConfig[]; problems: string[] } {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    return { problems: [`${origin}: not valid YAML: ${message}`] };
  }
  const result = pipelinesDocument.safeParse(raw);
  if (!result.success) {
    return {
      problems: result.error.issues.map((issue) => `${formatPath("", issue.path) || origin}: ${issue.message}`),
    };
  }
  const pipelines = Object.entries(result.data.pipelines).map(
    ([name, p]): PipelineConfig => ({
      name,
      herokuPipeline: p.heroku_pipeline ?? name,
      gitlabProject: p.gitlab_project,
      branch: p.branch,
      channel: p.channel,
      from: p.from,
      to: p.to,
      strategy: p.strategy,
      productionJob: p.production_job,
      approverUsers: p.approvers.filter((a) => !a.startsWith("S")),
      approverGroups: p.approvers.filter((a) => a.startsWith("S")),
      requiredApprovals: p.required_approvals,
      allowSelfApproval: p.allow_self_approval,
      requestTtl: p.request_ttl,
      freeze: p.freeze,
      drift: p.drift,
      driftIgnore: p.drift_ignore,
    }),
  );
  return { pipelines, problems: [] };
}

/** Reads and validates the whole configuration; throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const parsedEnv = envSchema.safeParse(env);
  if (!parsedEnv.success) {
    for (const issue of parsedEnv.error.issues) {
      const name = String(issue.path[0] ?? "environment");
      problems.push(`${name}: ${issue.message}`);
    }
  }
  const database = parseDatabaseUrl(env.DATABASE_URL === "" ? undefined : env.DATABASE_URL);
  if (typeof database === "string") problems.push(database);

  const pipelinesEnv = {
    PIPELINES_YAML: env.PIPELINES_YAML || undefined,
    PIPELINES_FILE: env.PIPELINES_FILE || "pipelines.yml",
  };
  const source = readPipelinesSource(pipelinesEnv);
  let pipelines: PipelineConfig[] = [];
  if (source.problem) problems.push(source.problem);
  else if (source.text !== undefined) {
    const parsed = parsePipelines(source.text, source.origin);
    problems.push(...parsed.problems);
    pipelines = parsed.pipelines ?? [];
  }

  if (problems.length > 0 || !parsedEnv.success || typeof database === "string") throw new ConfigError(problems);
  const e = parsedEnv.data;
  return {
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
    },
    heroku: {
      apiToken: e.HEROKU_API_TOKEN,
      apiUrl: e.HEROKU_API_URL,
      webhookSecret: e.HEROKU_WEBHOOK_SECRET,
      eventsFreshForMs: e.HEROKU_EVENTS_FRESH_FOR,
    },
    publicUrl: e.PUBLIC_URL,
    gitlab: { token: e.GITLAB_TOKEN, url: e.GITLAB_URL, webhookSecret: e.GITLAB_WEBHOOK_SECRET },
    database,
    pipelines,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    dryRun: e.DRY_RUN,
    secrets: SECRET_VARS.map((name) => env[name]).filter((v): v is string => typeof v === "string" && v.length > 0),
  };
}

/** For the entry points: the configuration, or `report` of every problem and exit code 1. */
export function loadConfigOrExit(report: (problems: string[]) => void, env = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    report(error.problems);
    process.exit(1);
  }
}
