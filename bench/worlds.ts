/**
 * The worlds the bench runs the bot in: the test stand-ins (test/support/harness.ts) with 50 ms of
 * latency on every Slack, Heroku and GitLab call, and request templates signed per request by the
 * load generator.
 */

import type { SlackMessage, SlackStandIn } from "../stand-ins/slack.js";
import { blockActionBody, slashCommandBody } from "../stand-ins/slack-requests.js";
import type { TestDatabase } from "../test/support/databases.js";
import { PROJECT_ID, pipelinesYaml, startWorld, type World } from "../test/support/harness.js";
import type { BodyTemplate } from "./protocol.js";

/** The latency the issue asks for on every external call. */
export const EXTERNAL_LATENCY_MS = 50;
/** Production's default level; lines go to a null sink in the server child, so they are built but not printed. */
export const BENCH_LOG_LEVEL = "info";

const SLOT = "BENCHRESPONSEURLSLOT";

export async function benchWorld(options: { db?: TestDatabase; pipelinesYaml?: string } = {}): Promise<World> {
  const world = await startWorld({
    ...(options.db ? { db: options.db } : {}),
    env: {
      LOG_LEVEL: BENCH_LOG_LEVEL,
      ...(options.pipelinesYaml ? { PIPELINES_YAML: options.pipelinesYaml } : {}),
    },
  });
  for (const standIn of [world.slack, world.heroku, world.gitlab]) standIn.latencyMs = EXTERNAL_LATENCY_MS;
  return world;
}

/** A response_url as it appears in a form-encoded body (the same in a plain field and inside the `payload` JSON). */
function formEncoded(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

function template(body: string): BodyTemplate {
  const at = body.indexOf(SLOT);
  if (at < 0 || body.indexOf(SLOT, at + 1) >= 0) throw new Error("the body template must hold the slot once");
  return { prefix: body.slice(0, at), suffix: body.slice(at + SLOT.length) };
}

export function slashTemplate(user: string, channel: string, text: string): BodyTemplate {
  return template(slashCommandBody({ userId: user, channelId: channel, text, responseUrl: SLOT }));
}

export function clickTemplate(user: string, message: SlackMessage, actionId: string, value: string): BodyTemplate {
  return template(
    blockActionBody({
      userId: user,
      channelId: message.channel,
      messageTs: message.ts,
      message,
      actionId,
      value,
      responseUrl: SLOT,
    }),
  );
}

/** Fresh response_urls, form-encoded, as Slack gives one to every command and click (5 uses each). */
export function responseUrlPool(
  slack: SlackStandIn,
  count: number,
  context: { channel: string; user: string; messageTs?: string },
): string[] {
  return Array.from({ length: count }, () => formEncoded(slack.responseUrl(context)));
}

/**
 * A pipeline event of the configured GitLab project but on a branch no pipeline is configured for:
 * it is verified, validated, recorded, deduplicated and processed (to "ignored") like any other,
 * without Heroku or Slack work, so the load measures ingestion. The pipeline id is the slot.
 */
export function unconfiguredBranchEvent(world: World): { headers: Record<string, string>; body: BodyTemplate } {
  const branch = "bench/unconfigured";
  world.gitlab.createBranch(PROJECT_ID, branch, "main");
  const commit = world.gitlab.commit(PROJECT_ID, branch, "Benchmark commit on an unconfigured branch");
  const ci = world.gitlab.addPipeline(PROJECT_ID, commit.id, { ref: branch, status: "success" });
  const delivery = world.gitlab.pipelineEvent(PROJECT_ID, ci.id);
  const marker = 987_654_321_012;
  const body = delivery.body as unknown as { object_attributes: { id: number } };
  body.object_attributes.id = marker;
  const raw = JSON.stringify(body);
  const at = raw.indexOf(String(marker));
  const headers = { ...delivery.headers };
  delete headers["Idempotency-Key"];
  delete headers["X-Gitlab-Event-UUID"];
  return { headers, body: { prefix: raw.slice(0, at), suffix: raw.slice(at + String(marker).length) } };
}

export function pipelineName(i: number): string {
  return `svc-${String(i).padStart(3, "0")}`;
}

/**
 * A world with `count` configured pipelines (whitewave and svc-001…), each with a staging app one
 * commit ahead of production and CI passed, all announced in the same channel.
 */
export async function manyPipelinesWorld(count: number, channel: string, approver: string): Promise<World> {
  const names = Array.from({ length: count - 1 }, (_, i) => pipelineName(i + 1));
  const yaml = [
    pipelinesYaml(),
    ...names.flatMap((name) => [
      `  ${name}:`,
      `    heroku_pipeline: ${name}`,
      `    gitlab_project: acme/${name}`,
      "    branch: main",
      `    channel: ${channel}`,
      `    approvers: [${approver}]`,
    ]),
  ].join("\n");
  const world = await benchWorld({ pipelinesYaml: yaml });
  // whitewave: staging one commit ahead, as for the others.
  world.shipToStaging("Ahead of production");
  names.forEach((name, i) => {
    const { heroku, gitlab } = world;
    const pipeline = heroku.addPipeline(name);
    const staging = heroku.addApp(`${name}-staging`, pipeline.id, "staging");
    const production = heroku.addApp(`${name}-prod`, pipeline.id, "production");
    const project = gitlab.addProject(`acme/${name}`, { id: PROJECT_ID + 1 + i, defaultBranch: "main" });
    const first = gitlab.commit(project.id, "main", `Initial release of ${name}`);
    gitlab.addPipeline(project.id, first.id, { ref: "main", status: "success" });
    heroku.deploy(staging.id, first.id);
    heroku.deploy(production.id, first.id, { slugId: heroku.currentRelease(staging.id)?.slug?.id as string });
    const next = gitlab.commit(project.id, "main", `Next change of ${name}`);
    gitlab.addPipeline(project.id, next.id, { ref: "main", status: "success" });
    heroku.deploy(staging.id, next.id);
  });
  return world;
}

/** Waits until no stand-in has received a call for `quietMs` (the bot's background work has ended). */
export async function settle(world: World, quietMs = 300, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    const now = world.slack.calls.length + world.heroku.calls.length + world.gitlab.calls.length;
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
