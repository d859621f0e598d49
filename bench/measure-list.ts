/**
 * Item 6: `/promote list` with 100 configured pipelines and 50 ms per external call. The command is
 * acknowledged at once and the list arrives through the response_url; measured cold (fresh process)
 * and warm (again at once, within the bot's short-lived caches). Until the command exists the bot
 * answers with a refusal or the help, which is reported as "not available" rather than as a failure.
 */

import type { EphemeralResponse } from "../stand-ins/slack.js";
import { postSlack, slashCommandBody } from "../stand-ins/slack-requests.js";
import { CHANNEL, REQUESTER, SIGNING_SECRET, type World } from "../test/support/harness.js";
import type { ServerChild } from "./children.js";
import { pipelineName, settle } from "./worlds.js";

export interface ListCall {
  ackMs: number;
  ackStatus: number;
  /** From sending the command to the first / last answer recorded at the response_url. */
  firstAnswerMs: number | null;
  fullAnswerMs: number | null;
  answers: number;
  pipelinesNamed: number;
  herokuCalls: number;
  gitlabCalls: number;
}

export type ListResult =
  | { available: true; pipelines: number; cold: ListCall; warm: ListCall }
  /** unavailable: the bot has no `/promote list` yet; failed: it has one, and it did not answer with a list. */
  | { available: false; kind: "unavailable" | "failed"; reason: string };

const ANSWER_TIMEOUT_MS = 10_000;
/** The answer is complete when no further answer arrives for this long (or the response_url's 5 uses are spent). */
const QUIET_MS = 1_000;

function answerText(answers: EphemeralResponse[]): string {
  return answers.map((a) => `${a.text}\n${JSON.stringify(a.blocks ?? [])}`).join("\n");
}

async function listOnce(world: World, server: ServerChild, names: string[]): Promise<ListCall & { text: string }> {
  const responseUrl = world.slack.responseUrl({ channel: CHANNEL, user: REQUESTER });
  const body = slashCommandBody({ userId: REQUESTER, channelId: CHANNEL, text: "list", responseUrl });
  const heroku0 = world.heroku.calls.length;
  const gitlab0 = world.gitlab.calls.length;
  const sentAt = Date.now();
  const started = performance.now();
  const ack = await postSlack(server.url, SIGNING_SECRET, body);
  const ackMs = performance.now() - started;
  const mine = () => world.slack.ephemerals.filter((e) => e.url === responseUrl);
  const deadline = Date.now() + ANSWER_TIMEOUT_MS;
  let count = 0;
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    const n = mine().length;
    if (n !== count) {
      count = n;
      quietSince = Date.now();
    }
    if (count >= 5 || (count > 0 && Date.now() - quietSince >= QUIET_MS)) break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const answers = mine();
  await server.idle();
  await settle(world);
  const text = answerText(answers);
  const first = answers[0];
  const last = answers.at(-1);
  return {
    ackMs,
    ackStatus: ack.status,
    firstAnswerMs: first ? first.at - sentAt : null,
    fullAnswerMs: last ? last.at - sentAt : null,
    answers: answers.length,
    pipelinesNamed: names.filter((name) => text.includes(name)).length,
    herokuCalls: world.heroku.calls.length - heroku0,
    gitlabCalls: world.gitlab.calls.length - gitlab0,
    text,
  };
}

/** Why an answer is not the list, or undefined when it is. */
function notAList(call: ListCall & { text: string }): { kind: "unavailable" | "failed"; reason: string } | undefined {
  if (/no pipeline called/i.test(call.text))
    return { kind: "unavailable", reason: "the bot took `list` for a pipeline name" };
  if (/promote-bot commands|I did not understand/.test(call.text)) {
    return { kind: "unavailable", reason: "the bot answered with its help" };
  }
  if (call.ackStatus !== 200) return { kind: "failed", reason: `the command was answered ${call.ackStatus}` };
  if (call.answers === 0) return { kind: "failed", reason: `no answer within ${ANSWER_TIMEOUT_MS / 1000} s` };
  if (/Something went wrong/.test(call.text)) return { kind: "failed", reason: "the bot answered with an error" };
  if (call.pipelinesNamed === 0) return { kind: "failed", reason: "the answer names no pipeline" };
  return undefined;
}

export async function measureList(world: World, server: ServerChild, pipelines: number): Promise<ListResult> {
  const names = ["whitewave", ...Array.from({ length: pipelines - 1 }, (_, i) => pipelineName(i + 1))];
  const cold = await listOnce(world, server, names);
  const problem = notAList(cold);
  if (problem) return { available: false, ...problem };
  const warm = await listOnce(world, server, names);
  const strip = ({ text: _text, ...call }: ListCall & { text: string }): ListCall => call;
  return { available: true, pipelines, cold: strip(cold), warm: strip(warm) };
}
