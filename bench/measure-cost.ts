/**
 * Item 5: what one staging-ready message and one promotion cost in Heroku and GitLab calls, counted
 * from the stand-ins' recorded calls over full flows driven like the integration tests do (a real
 * pipeline webhook, a click on Promote, an approver's click on Approve); and what following a
 * 30-minute promotion costs in polls with the default backoff, computed rather than waited for.
 */
import { DEFAULT_TUNING, type Tuning } from "../src/app/context.js";
import { ACTIONS } from "../src/views/action-ids.js";
import type { RecordedCall } from "../stand-ins/http-stand-in.js";
import type { SlackMessage } from "../stand-ins/slack.js";
import {
  APPROVER_A,
  BYSTANDER,
  buttonValue,
  messageText,
  PROJECT_ID,
  REQUESTER,
  type World,
} from "../test/support/harness.js";
import type { ServerChild } from "./children.js";
import { settle } from "./worlds.js";

/** Heroku status polls of a promotion: excluded from the per-promotion count, as the issue says. */
const POLL = /^\/pipeline-promotions\/[^/]+(\/promotion-targets)?$/;
/** The drift check's reads (issue 16): each app's config vars, buildpacks and add-ons, and the app itself. */
const DRIFT = /^\/apps\/[^/]+\/(config-vars|buildpack-installations|addons)$/;
const APP = /^\/apps\/[^/]+$/;

export interface CallCount {
  heroku: number;
  gitlab: number;
  slack: number;
  herokuPolls: number;
  /** Calls of the drift check (issue 16), counted apart: a cost issue 6's target predates. */
  herokuDrift: number;
  /** e.g. "GET /apps/:id/releases ×2". */
  herokuCalls: string[];
  gitlabCalls: string[];
}

export interface FlowCosts {
  stagingReady: CallCount;
  request: CallCount;
  approveAndPromote: CallCount;
}

export interface CostResult {
  cold: FlowCosts;
  warm: FlowCosts;
  /** Polls a promotion that takes 30 minutes costs, from DEFAULT_TUNING. */
  pollsFor30Min: number;
  pollSchedule: string;
  /** The pending request the click loads are denied on. */
  pendingMessage: SlackMessage;
}

function normalize(path: string): string {
  return path
    .split("/")
    .map((part) => {
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(part)) return ":id";
      if (/^[0-9a-f]{40}$/i.test(part)) return ":sha";
      if (/^\d+$/.test(part)) return ":n";
      return part;
    })
    .join("/");
}

function summarize(calls: RecordedCall[]): string[] {
  const counts = new Map<string, number>();
  for (const call of calls) {
    const key = `${call.method} ${normalize(call.path)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, n]) => (n > 1 ? `${key} ×${n}` : key));
}

interface Mark {
  heroku: number;
  gitlab: number;
  slack: number;
}

function mark(world: World): Mark {
  return { heroku: world.heroku.calls.length, gitlab: world.gitlab.calls.length, slack: world.slack.calls.length };
}

function since(world: World, from: Mark): CallCount {
  const heroku = world.heroku.calls.slice(from.heroku);
  const gitlab = world.gitlab.calls.slice(from.gitlab);
  const polls = heroku.filter((c) => c.method === "GET" && POLL.test(c.path));
  const settings = heroku.filter((c) => c.method === "GET" && DRIFT.test(c.path));
  // Each check reads the app once besides its three settings: as many app reads as config-var reads.
  const checks = settings.filter((c) => c.path.endsWith("/config-vars")).length;
  const appReads = checks > 0 ? heroku.filter((c) => c.method === "GET" && APP.test(c.path)).slice(-checks) : [];
  const drift = [...settings, ...appReads];
  const counted = heroku.filter((c) => !polls.includes(c) && !drift.includes(c));
  return {
    heroku: counted.length,
    gitlab: gitlab.length,
    slack: world.slack.calls.length - from.slack,
    herokuPolls: polls.length,
    herokuDrift: drift.length,
    herokuCalls: summarize(counted),
    gitlabCalls: summarize(gitlab),
  };
}

function find(world: World, predicate: (m: SlackMessage) => boolean): SlackMessage | undefined {
  return world.slack.messages.find(predicate);
}

async function quiet(world: World, server: ServerChild): Promise<void> {
  await server.idle();
  await settle(world);
}

/** One staging-ready message, then a request from its Promote button, approved and promoted. */
async function flow(world: World, server: ServerChild, title: string): Promise<FlowCosts> {
  const shipped = world.shipToStaging(title);
  const sha = shipped.sha.slice(0, 8);

  const beforeReady = mark(world);
  const delivered = await world.sendGitLab(world.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
  if (!delivered.ok) throw new Error(`the pipeline webhook was answered ${delivered.status}`);
  const ready = await world.slack.waitFor(
    () => find(world, (m) => !!buttonValue(m, ACTIONS.promote) && messageText(m).includes(sha)),
    20_000,
  );
  await quiet(world, server);
  const stagingReady = since(world, beforeReady);

  const beforeRequest = mark(world);
  await world.click(REQUESTER, ready, ACTIONS.promote);
  const approval = await world.slack.waitFor(
    () => find(world, (m) => m.ts === ready.ts && !!buttonValue(m, ACTIONS.approve)),
    20_000,
  );
  await quiet(world, server);
  const request = since(world, beforeRequest);

  const beforeApproval = mark(world);
  await world.click(APPROVER_A, approval, ACTIONS.approve);
  await world.slack.waitFor(() => find(world, (m) => m.ts === ready.ts && /Promoted/.test(messageText(m))), 60_000);
  await quiet(world, server);
  const approveAndPromote = since(world, beforeApproval);
  return { stagingReady, request, approveAndPromote };
}

/** Reads a promotion's progress as execute-promotion.ts's pollUntil does: at once, then after each backoff delay. */
export function pollsFor(
  durationMs: number,
  tuning: Pick<Tuning, "pollFirstMs" | "pollFactor" | "pollMaxMs">,
): { polls: number; delays: number[] } {
  let elapsed = 0;
  let delay = tuning.pollFirstMs;
  const delays: number[] = [];
  for (let polls = 1; ; polls++) {
    if (elapsed >= durationMs) return { polls, delays };
    elapsed += delay;
    delays.push(delay);
    delay = Math.min(tuning.pollMaxMs, Math.round(delay * tuning.pollFactor));
  }
}

export async function measureCost(world: World, server: ServerChild): Promise<CostResult> {
  // Cold: the first flow of a fresh process (empty caches); warm: the same flow again.
  const cold = await flow(world, server, "Bench: first release");
  const warm = await flow(world, server, "Bench: second release");

  // A pending request for the click loads: a bystander's Approve click is denied on it.
  const shipped = world.shipToStaging("Bench: pending request");
  await world.slash(REQUESTER, "whitewave");
  const pendingMessage = await world.slack.waitFor(
    () => find(world, (m) => !!buttonValue(m, ACTIONS.approve) && messageText(m).includes(shipped.sha.slice(0, 8))),
    20_000,
  );
  await quiet(world, server);
  await world.click(BYSTANDER, pendingMessage, ACTIONS.approve);
  await world.slack.waitFor(() => world.answersFor(BYSTANDER).find((a) => /Only the approvers/.test(a)), 10_000);
  await quiet(world, server);

  const { polls, delays } = pollsFor(30 * 60_000, DEFAULT_TUNING);
  const distinct = [...new Set(delays)];
  const pollSchedule = `${delays.length} waits: ${distinct
    .map(
      (d) =>
        `${d / 1000} s${delays.filter((x) => x === d).length > 1 ? ` ×${delays.filter((x) => x === d).length}` : ""}`,
    )
    .join(", ")}`;
  return { cold, warm, pollsFor30Min: polls, pollSchedule, pendingMessage };
}
