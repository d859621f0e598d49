/**
 * End-to-end harness: the three stand-ins, a store, and the real bot on a loopback port, configured
 * only through the environment variables an operator would set. Tests talk to the bot over HTTP,
 * signed exactly as Slack and GitLab sign their requests.
 */

import { Writable } from "node:stream";
import { afterEach } from "vitest";
import type { Tuning } from "../../src/app/context.js";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/infra/logger.js";
import { type RunningBot, startBot } from "../../src/server.js";
import { ACTIONS } from "../../src/views/action-ids.js";
import { GitLabStandIn } from "../../stand-ins/gitlab.js";
import { DEFAULT_WEBHOOK_SECRET, type GitLabDelivery } from "../../stand-ins/gitlab-events.js";
import { HerokuStandIn } from "../../stand-ins/heroku.js";
import { type SlackMessage, SlackStandIn } from "../../stand-ins/slack.js";
import { blockActionBody, postSlack, slashCommandBody } from "../../stand-ins/slack-requests.js";
import { sqliteDatabase, type TestDatabase } from "./databases.js";

export const CHANNEL = "C0WHITEWAVE";
export const REQUESTER = "U0REQUESTER";
export const APPROVER_A = "U0APPROVERA";
export const APPROVER_B = "U0APPROVERB";
export const GROUP_APPROVER = "U0GROUPAPPR";
export const BYSTANDER = "U0BYSTANDER";
export const APPROVER_GROUP = "S0RELEASERS";
export const CHANNEL_NAME = "whitewave-releases";
export const APPROVER_GROUP_HANDLE = "releasers";
/** The people of the world, with the part each plays in the default pipeline. */
export const PEOPLE = [
  { id: REQUESTER, name: "rita", role: "requester" },
  { id: APPROVER_A, name: "alice", role: "approver" },
  { id: APPROVER_B, name: "bob", role: "approver" },
  { id: GROUP_APPROVER, name: "gina", role: "approver via @releasers" },
  { id: BYSTANDER, name: "sam", role: "bystander" },
] as const;
export const SIGNING_SECRET = "test-signing-secret-0123456789";
export const PROJECT = "acme/whitewave";
export const PROJECT_ID = 4242;

export const FAST_TUNING: Partial<Tuning> = {
  stagingWaitMs: 400,
  stagingFirstDelayMs: 50,
  pollFirstMs: 20,
  pollFactor: 1.5,
  pollMaxMs: 60,
  // The stand-in settles a promotion on a later poll, not by time as Heroku does: keep polling often.
  eventPollMaxMs: 100,
  followLimitMs: 20_000,
  jobReleaseWaitMs: 600,
  promotionLeaseMs: 5_000,
  promotionPostTimeoutMs: 300,
  promotionTraceWindowMs: 600,
  deliveryLeaseMs: 10_000,
  deliveryRetryFirstMs: 100,
  deliveryRetryMaxMs: 400,
  sweepIntervalMs: 200,
  messageSettleMs: 400,
  userGroupCacheMs: 60_000,
  herokuRetry: { attempts: 4, baseMs: 20, maxMs: 100 },
  gitlabRetry: { attempts: 3, baseMs: 20, maxMs: 100 },
};

export interface PipelineOptions {
  requiredApprovals?: number;
  allowSelfApproval?: boolean;
  requestTtl?: string;
  approvers?: string[];
  /** A YAML flow sequence for `freeze:`. */
  freeze?: string;
  /** `gitlab-job`: play the manual `deploy_production` job instead of a Heroku promotion. */
  strategy?: "heroku" | "gitlab-job";
  drift?: "warn" | "block";
  /** A YAML flow sequence for `drift_ignore:`. */
  driftIgnore?: string;
}

export function pipelinesYaml(options: PipelineOptions = {}): string {
  const approvers = options.approvers ?? [APPROVER_A, APPROVER_B, APPROVER_GROUP];
  return [
    "pipelines:",
    "  whitewave:",
    "    heroku_pipeline: whitewave",
    `    gitlab_project: ${PROJECT}`,
    "    branch: main",
    `    channel: ${CHANNEL}`,
    `    approvers: [${approvers.join(", ")}]`,
    `    required_approvals: ${options.requiredApprovals ?? 1}`,
    `    allow_self_approval: ${options.allowSelfApproval ?? false}`,
    `    request_ttl: ${options.requestTtl ?? "2h"}`,
    ...(options.freeze ? [`    freeze: ${options.freeze}`] : []),
    ...(options.drift ? [`    drift: ${options.drift}`] : []),
    ...(options.driftIgnore ? [`    drift_ignore: ${options.driftIgnore}`] : []),
    ...(options.strategy === "gitlab-job" ? ["    strategy: gitlab-job", "    production_job: deploy_production"] : []),
  ].join("\n");
}

/** Collects every log line, to assert on what was logged (and what never was). */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

/** The stand-ins, a store and the operator's environment, without a bot: tests start bots on it. */
export interface World {
  slack: SlackStandIn;
  heroku: HerokuStandIn;
  gitlab: GitLabStandIn;
  db: TestDatabase;
  env: Record<string, string>;
  ids: { pipeline: string; staging: string; production: string };
  /** The bot that the helpers below talk to. */
  url: string;
  /** A new commit on main whose CI passed and which staging now runs. */
  shipToStaging(title: string): { sha: string; pipelineId: number; releaseVersion: number };
  sendGitLab(delivery: Pick<GitLabDelivery, "headers" | "rawBody">, url?: string): Promise<Response>;
  slash(user: string, text: string, url?: string): Promise<Response>;
  click(user: string, message: SlackMessage, actionId: string, url?: string): Promise<Response>;
  clickValue(user: string, message: SlackMessage, actionId: string, value: string, url?: string): Promise<Response>;
  /** Ephemeral answers the user got, newest last. */
  answersFor(user: string): string[];
  /** Waits for an answer to the user that matches. */
  answer(user: string, pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The channel message that carries a request's Approve button, if any. */
  approvalMessage(): SlackMessage | undefined;
  /** Waits until the message with this ts matches (as it is updated in place). */
  messageMatching(ts: string, pattern: RegExp, timeoutMs?: number): Promise<SlackMessage>;
  channelMessages(): SlackMessage[];
  close(): Promise<void>;
}

export interface Harness extends World {
  bot: RunningBot;
  logs: LogCapture;
}

export function buttonValue(message: SlackMessage, actionId: string): string | undefined {
  for (const block of message.blocks as Array<{
    type: string;
    elements?: Array<{ action_id?: string; value?: string }>;
  }>) {
    if (block.type !== "actions") continue;
    const element = block.elements?.find((e) => e.action_id === actionId);
    if (element) return element.value;
  }
  return undefined;
}

export function messageText(message: SlackMessage): string {
  return JSON.stringify(message.blocks) + message.text;
}

export interface WorldOptions {
  pipeline?: PipelineOptions;
  db?: TestDatabase;
  env?: Record<string, string>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const slack = new SlackStandIn();
  const heroku = new HerokuStandIn();
  const gitlab = new GitLabStandIn();
  await Promise.all([slack.start(), heroku.start(), gitlab.start()]);

  slack.addChannel(CHANNEL, { name: CHANNEL_NAME, isMember: true });
  for (const user of PEOPLE) slack.addUser(user.id, user.name);
  slack.addUserGroup(APPROVER_GROUP, APPROVER_GROUP_HANDLE, [GROUP_APPROVER]);

  const pipeline = heroku.addPipeline("whitewave");
  const staging = heroku.addApp("whitewave-staging", pipeline.id, "staging");
  const production = heroku.addApp("whitewave-prod", pipeline.id, "production");
  gitlab.addProject(PROJECT, { id: PROJECT_ID, defaultBranch: "main" });
  const first = gitlab.commit(PROJECT_ID, "main", "Initial release");
  gitlab.addPipeline(PROJECT_ID, first.id, { ref: "main", status: "success" });
  heroku.deploy(staging.id, first.id);
  heroku.deploy(production.id, first.id, { slugId: heroku.currentRelease(staging.id)?.slug?.id as string });

  const db = options.db ?? (await sqliteDatabase());
  const env: Record<string, string> = {
    SLACK_BOT_TOKEN: "xoxb-test-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    HEROKU_API_TOKEN: "heroku-test-token",
    HEROKU_API_URL: heroku.url,
    GITLAB_TOKEN: "gitlab-test-token",
    GITLAB_URL: gitlab.url,
    GITLAB_WEBHOOK_SECRET: DEFAULT_WEBHOOK_SECRET,
    DATABASE_URL: db.url,
    PIPELINES_YAML: pipelinesYaml(options.pipeline),
    LOG_LEVEL: "debug",
    ...options.env,
  };

  const world: World = {
    slack,
    heroku,
    gitlab,
    db,
    env,
    ids: { pipeline: pipeline.id, staging: staging.id, production: production.id },
    url: "",
    shipToStaging(title) {
      const commit = gitlab.commit(PROJECT_ID, "main", title, { authorName: "Ada Lovelace" });
      const ci = gitlab.addPipeline(PROJECT_ID, commit.id, { ref: "main", status: "success" });
      const release = heroku.deploy(staging.id, commit.id);
      return { sha: commit.id, pipelineId: ci.id, releaseVersion: release.version };
    },
    sendGitLab(delivery, url = world.url) {
      return fetch(`${url}/gitlab/webhook`, { method: "POST", headers: delivery.headers, body: delivery.rawBody });
    },
    async slash(user, text, url = world.url) {
      const body = slashCommandBody({
        userId: user,
        channelId: CHANNEL,
        text,
        responseUrl: slack.responseUrl({ channel: CHANNEL, user }),
      });
      const r = await postSlack(url, SIGNING_SECRET, body);
      // An answer carried in the acknowledgement itself is shown as Slack shows it.
      if (r.status === 200 && r.body.trim().startsWith("{")) {
        slack.acknowledgement({ channel: CHANNEL, user }, JSON.parse(r.body) as Record<string, unknown>);
      }
      return new Response(r.body, { status: r.status });
    },
    async click(user, message, actionId, url = world.url) {
      const value = buttonValue(message, actionId);
      if (value === undefined) throw new Error(`message ${message.ts} has no ${actionId} button`);
      return world.clickValue(user, message, actionId, value, url);
    },
    async clickValue(user, message, actionId, value, url = world.url) {
      const body = blockActionBody({
        userId: user,
        channelId: message.channel,
        messageTs: message.ts,
        message,
        actionId,
        value,
        responseUrl: slack.responseUrl({ channel: message.channel, user, messageTs: message.ts }),
      });
      const r = await postSlack(url, SIGNING_SECRET, body);
      return new Response(r.body, { status: r.status });
    },
    answersFor(user) {
      return slack.ephemerals.filter((e) => e.user === user).map((e) => JSON.stringify(e.blocks ?? []) + e.text);
    },
    channelMessages() {
      return slack.topLevel(CHANNEL);
    },
    answer(user, pattern, timeoutMs = 10_000) {
      return slack.waitFor(() => world.answersFor(user).find((a) => pattern.test(a)), timeoutMs);
    },
    approvalMessage() {
      return slack.topLevel(CHANNEL).find((m) => buttonValue(m, ACTIONS.approve));
    },
    messageMatching(ts, pattern, timeoutMs = 10_000) {
      return slack.waitFor(() => {
        const m = slack.messages.find((x) => x.ts === ts);
        return m && pattern.test(messageText(m)) ? m : undefined;
      }, timeoutMs);
    },
    async close() {
      await Promise.all([slack.close(), heroku.close(), gitlab.close()]);
      if (!options.db) await db.drop();
    },
  };
  return world;
}

export const SECRET_VARIABLES = [
  "SLACK_BOT_TOKEN",
  "SLACK_SIGNING_SECRET",
  "SLACK_APP_TOKEN",
  "HEROKU_API_TOKEN",
  "GITLAB_TOKEN",
  "GITLAB_WEBHOOK_SECRET",
  "HEROKU_WEBHOOK_SECRET",
] as const;

/** Throws when a secret value appears in the log text or in anything posted to Slack. */
export function assertNoSecrets(world: World, logText: string): void {
  const posted = JSON.stringify([world.slack.messages, world.slack.ephemerals]);
  for (const name of SECRET_VARIABLES) {
    const value = world.env[name];
    if (!value) continue;
    if (logText.includes(value)) throw new Error(`the secret ${name} appeared in the bot's logs`);
    if (posted.includes(value)) throw new Error(`the secret ${name} appeared in a Slack message`);
  }
}

export interface HarnessOptions extends WorldOptions {
  tuning?: Partial<Tuning>;
  /** Runs after the world starts and before the bot does (e.g. to plug in another stand-in). */
  beforeStart?: (world: World) => Promise<void>;
  /** Runs after the bot has stopped and before the world's stand-ins close. */
  afterStop?: (world: World) => Promise<void>;
  /** The bot's clock (default the system's): a test moves it to open a freeze window. */
  clock?: { now(): Date };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const world = await startWorld(options);
  await options.beforeStart?.(world);
  const config = loadConfig(world.env);
  const logs = new LogCapture();
  // What the code logged before the scrubber: the no-secret check below reads this, so that it fails
  // when a secret is logged even though the scrubber would have hidden it.
  const unscrubbed = new LogCapture();
  const log = createLogger({ level: "debug", secrets: config.secrets, destination: logs, beforeScrubbing: unscrubbed });
  const bot = await startBot({
    config,
    log,
    tuning: { ...FAST_TUNING, ...options.tuning },
    host: "127.0.0.1",
    port: 0,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  world.url = bot.url;
  const closeWorld = world.close;
  return Object.assign(world, {
    bot,
    logs,
    async close() {
      await bot.close(2_000);
      await options.afterStop?.(world);
      await closeWorld();
      // Every end-to-end test doubles as a check that no secret was logged (before the scrubber) or
      // reached Slack.
      assertNoSecrets(world, unscrubbed.text);
    },
  });
}

/**
 * The harness of an integration test file, in place of the preamble each file repeated: `start()`
 * starts one for the current test (closed after it, and checked for secrets as `close()` does), and
 * the helpers most tests use read from it.
 */
export function useHarness() {
  let current: Harness | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const started = (): Harness => {
    if (!current) throw new Error("this test did not start the harness (await e2e.start())");
    return current;
  };
  return {
    start: async (options: HarnessOptions = {}): Promise<Harness> => {
      current = await startHarness(options);
      return current;
    },
    answer: (user: string, pattern: RegExp, timeoutMs = 10_000) => started().answer(user, pattern, timeoutMs),
    approvalMessage: () => started().approvalMessage(),
    channelText: () => started().channelMessages().map(messageText).join("\n"),
    promotionPosts: () => started().heroku.callsTo("POST", "/pipeline-promotions"),
    finalMessage: (ts: string, pattern: RegExp, timeoutMs = 10_000) =>
      started().messageMatching(ts, pattern, timeoutMs),
  };
}
