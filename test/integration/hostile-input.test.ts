/**
 * Hostile and malformed input (issue 5), end to end: property-based and adversarial requests to the
 * real server's `/slack/events` and `/gitlab/webhook`, signed as Slack and GitLab sign them, against
 * one harness. The invariants: no 5xx for client input, the process keeps serving (/healthz 200 after
 * every batch), and forged input changes nothing: no request or approval rows beyond the legitimate
 * flow's, no `POST /pipeline-promotions`, no `chat.postMessage`.
 *
 * Requests Bolt never acknowledges (unknown action ids, bodies of no known type) are answered 404 only
 * after Bolt's 3 s ack timeout, so the Slack batches are sent concurrently: `fuzz()` draws its inputs
 * with `fc.sample` from a fixed seed (reproducible) and reports every failing input, smallest first.
 * The GitLab route answers at once, so its properties run under `fc.assert` (with shrinking).
 *
 * Bugs found are pinned by `it.fails` tests named "BUG n", each with a comment giving the place, the
 * input, and expected vs actual; the general properties leave those inputs out (see `breaksBolt`,
 * `teamId`, `looksLikeSlack`). When a bug is fixed its test starts failing: make it a plain `it`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/views/action-ids.js";
import { exampleRecords, gitlabHeaders, pipelineHook } from "../../stand-ins/gitlab-events.js";
import { SLACK_APP_ID, SLACK_TEAM_ID } from "../../stand-ins/slack.js";
import { blockActionBody, signSlackRequest, slashCommandBody } from "../../stand-ins/slack-requests.js";
import {
  APPROVER_A,
  APPROVER_B,
  BYSTANDER,
  buttonValue,
  CHANNEL,
  GROUP_APPROVER,
  type Harness,
  PROJECT_ID,
  pipelinesYaml,
  REQUESTER,
  SIGNING_SECRET,
  startHarness,
} from "../support/harness.js";

const SEED = 20_251_127;
const FORM = "application/x-www-form-urlencoded";
/** The body limits the README documents for the two routes. */
const SLACK_LIMIT = 256 * 1024;
const GITLAB_LIMIT = 1024 * 1024;
const OTHER_CHANNEL = "C0ELSEWHERE";
const KNOWN_USERS = [REQUESTER, APPROVER_A, APPROVER_B, GROUP_APPROVER, BYSTANDER];
const MAY_DECIDE = [REQUESTER, APPROVER_A, APPROVER_B, GROUP_APPROVER];
const SQLISH = [
  "' OR '1'='1",
  "'; DROP TABLE requests; --",
  "1 OR 1=1",
  '" OR ""="',
  "%' --",
  "x'); DELETE FROM approvals; --",
  "\\x00",
  "null",
  "undefined",
  "[object Object]",
  "../../../etc/passwd",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, meant literally.
  "${7*7}",
  "{{7*7}}",
];

let h: Harness;
/** The legitimate flow's ids: R1 was approved once (by APPROVER_B), then rejected; R2 is pending. */
const ids = { candidate: "", r1: "", r2: "" };
/** APPROVER_B's Approve click on R1 exactly as Slack sent it, before R1 was rejected. */
let r1ApproveBody = "";
/** Generated inputs per property, printed once at the end (figures for docs/reliability.md). */
const fuzzed: Record<string, number> = {};

// ------------------------------------------------------------------------------------------ helpers

interface Answer {
  status: number;
  body: string;
  ms: number;
}

/** POSTs to the bot. Status 0: no answer within `timeoutMs` (a hang) or the connection was reset. */
async function post(
  path: string,
  body: string | Uint8Array | undefined,
  headers: Record<string, string>,
  timeoutMs = 8_000,
): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(`${h.bot.url}${path}`, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.status, body: await response.text(), ms: Date.now() - started };
  } catch (error) {
    return { status: 0, body: String(error), ms: Date.now() - started };
  }
}

/** A correctly signed request to /slack/events (form content type unless told otherwise; null: none). */
function slack(rawBody: string, opts: { contentType?: string | null; timestamp?: number } = {}): Promise<Answer> {
  const headers = signSlackRequest(SIGNING_SECRET, rawBody, opts.timestamp);
  if (opts.contentType === null) delete headers["content-type"];
  else headers["content-type"] = opts.contentType ?? FORM;
  return post("/slack/events", rawBody, headers);
}

/** A request to /gitlab/webhook with the right token. `event` null: no X-Gitlab-Event header. */
function gitlab(
  body: string | Uint8Array,
  event: string | null,
  contentType: string | null = "application/json",
): Promise<Answer> {
  const headers = gitlabHeaders(event ?? "Pipeline Hook");
  if (event === null) delete headers["X-Gitlab-Event"];
  if (contentType === null) delete headers["Content-Type"];
  else headers["Content-Type"] = contentType;
  return post("/gitlab/webhook", body, headers);
}

const is2xxOr4xx = (status: number) => status >= 200 && status < 500;

/** A signed `/promote help …` command body of exactly `size` bytes. */
function paddedCommand(size: number): string {
  const args = { userId: REQUESTER, channelId: CHANNEL, responseUrl: "http://127.0.0.1:9/unreachable" };
  // The trigger id Slack sends has a fixed length, so the padding is exact.
  const base = slashCommandBody({ ...args, text: "help " });
  return slashCommandBody({ ...args, text: `help ${"x".repeat(size - base.length)}` });
}

function signedHeaders(body: string): Record<string, string> {
  return { ...signSlackRequest(SIGNING_SECRET, body), "content-type": FORM };
}

function chunks(body: string | Buffer, size: number): Buffer[] {
  const bytes = Buffer.from(body);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

/** The bytes of an HTTP/1.1 POST: `parts` as a chunked body when there are several, else with Content-Length. */
function rawHttpRequest(path: string, headers: Record<string, string>, parts: Buffer[]): Buffer {
  const { host } = new URL(h.bot.url);
  const chunked = parts.length > 1;
  const lines = [`POST ${path} HTTP/1.1`, `host: ${host}`, "connection: keep-alive"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  lines.push(chunked ? "transfer-encoding: chunked" : `content-length: ${parts[0]?.length ?? 0}`);
  const head = Buffer.from(`${lines.join("\r\n")}\r\n\r\n`);
  if (!chunked) return Buffer.concat([head, ...parts]);
  const body = parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from("\r\n")]);
  return Buffer.concat([head, ...body, Buffer.from("0\r\n\r\n")]);
}

/** One raw TCP connection to the bot, to see exactly what happens on it. */
async function rawConnection(): Promise<{
  send(bytes: Buffer): void;
  /** The status of the next response on the connection; 0 if none within `timeoutMs` or it closed. */
  nextStatus(timeoutMs: number): Promise<number>;
  closed(): boolean;
  destroy(): void;
}> {
  const { hostname, port } = new URL(h.bot.url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let received = "";
  let isClosed = false;
  let seen = 0;
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    isClosed = true;
  });
  return {
    send: (bytes) => socket.write(bytes),
    async nextStatus(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
        if (statuses.length > seen) return statuses[seen++] as number;
        if (isClosed || Date.now() > deadline) return 0;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    closed: () => isClosed,
    destroy: () => socket.destroy(),
  };
}

async function expectHealthy(): Promise<void> {
  const response = await fetch(`${h.bot.url}/healthz`);
  expect(response.status).toBe(200);
}

async function until(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the worker is idle and nothing has reached the stand-ins or the log for a while. */
async function settle(): Promise<void> {
  const activity = () => h.slack.calls.length + h.heroku.calls.length + h.gitlab.calls.length + h.logs.lines.length;
  let last = -1;
  let quiet = 0;
  const deadline = Date.now() + 8_000;
  while (quiet < 3 && Date.now() < deadline) {
    await h.bot.bot.worker.idle();
    await new Promise((r) => setTimeout(r, 60));
    const now = activity();
    quiet = now === last ? quiet + 1 : 0;
    last = now;
  }
}

interface State {
  requests: Array<{ id: string; state: string; message_ts: string | null; promotion_id: string | null }>;
  approvals: Array<{ request_id: string; approver: string }>;
  candidates: Array<{ id: string; state: string; message_ts: string }>;
  deliveries: number;
  promotionPosts: number;
  postMessages: number;
}

/** Everything forged input must leave alone. */
async function state(): Promise<State> {
  const db = h.bot.store.db;
  return {
    requests: await db
      .selectFrom("requests")
      .select(["id", "state", "message_ts", "promotion_id"])
      .orderBy("id")
      .execute(),
    approvals: await db
      .selectFrom("approvals")
      .select(["request_id", "approver"])
      .orderBy("request_id")
      .orderBy("approver")
      .execute(),
    candidates: await db.selectFrom("candidates").select(["id", "state", "message_ts"]).orderBy("id").execute(),
    deliveries: (await db.selectFrom("deliveries").select("id").execute()).length,
    promotionPosts: h.heroku.callsTo("POST", "/pipeline-promotions").length,
    postMessages: h.slack.callsTo("POST", "/api/chat.postMessage").length,
  };
}

function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 400 ? `${text.slice(0, 400)}… (${text.length} chars)` : text;
}

/**
 * Draws `numRuns` inputs from `arb` (fixed seed), sends them all concurrently, lets the bot settle,
 * then checks each input against its answer. Fails listing the failing inputs, smallest first.
 * (Concurrent on purpose: see the file's header; the price is no shrinking, hence the listing.)
 */
async function fuzz<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  numRuns: number,
  send: (input: T) => Promise<Answer>,
  check: (input: T, answer: Answer) => string | undefined,
  /** What must be true before checking, beyond the bot falling quiet (polled for up to 10 s). */
  done?: (inputs: T[], answers: Answer[]) => boolean,
): Promise<void> {
  const inputs = fc.sample(arb, { numRuns, seed: SEED });
  const answers = await Promise.all(inputs.map(send));
  if (done) await until(async () => done(inputs, answers), 10_000).catch(() => {});
  await settle();
  const failures: Array<{ input: T; answer: Answer; problem: string }> = [];
  inputs.forEach((input, i) => {
    const answer = answers[i] as Answer;
    const problem = check(input, answer);
    if (problem) failures.push({ input, answer, problem });
  });
  fuzzed[name] = (fuzzed[name] ?? 0) + inputs.length;
  if (failures.length > 0) {
    failures.sort((a, b) => show(a.input).length - show(b.input).length);
    const listed = failures
      .slice(0, 6)
      .map((f) => `  - ${f.problem}\n    input: ${show(f.input)}\n    answer: ${show(f.answer)}`)
      .join("\n");
    throw new Error(`${name}: ${failures.length} of ${inputs.length} inputs failed (seed ${SEED}):\n${listed}`);
  }
}

/** An `fc.assert` property over sequential requests (with shrinking), counted for the summary. */
async function property<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  numRuns: number,
  predicate: (input: T) => Promise<void>,
): Promise<void> {
  await fc.assert(fc.asyncProperty(arb, predicate), { numRuns, seed: SEED });
  fuzzed[name] = (fuzzed[name] ?? 0) + numRuns;
}

// ------------------------------------------------------------------------------------------ arbitraries

const controlChars = fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) });
const loneSurrogates = fc.string({
  unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  maxLength: 8,
});
/** 2,000 to 100,000 characters: a random piece repeated. */
const hugeText = fc
  .tuple(fc.string({ minLength: 1, maxLength: 12 }), fc.integer({ min: 2_000, max: 100_000 }))
  .map(([piece, n]) => piece.repeat(Math.ceil(n / piece.length)).slice(0, n));
const hostileText = fc.oneof(
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 300 }), weight: 3 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 300 }), weight: 2 },
  { arbitrary: controlChars, weight: 1 },
  { arbitrary: loneSurrogates, weight: 1 },
  { arbitrary: hugeText, weight: 1 },
  {
    arbitrary: fc.constantFrom(
      "",
      "whitewave",
      " WhiteWave ",
      "whitewave now please",
      "help",
      "help <!channel>",
      "<!channel> deploy",
      "<!here|here> <!everyone>",
      `<@${APPROVER_A}> please`,
      "<!subteam^S0RELEASERS>",
      "<https://evil.example|click me>",
      "whitewave\u0000",
      "\u202ewhitewave",
      "white\u200bwave",
      "`whitewave` *bold* _it_ ~s~",
      ...SQLISH,
    ),
    weight: 2,
  },
);
const userId = fc.oneof(
  fc.constantFrom(...KNOWN_USERS),
  fc.stringMatching(/^[UW][A-Z0-9]{2,11}$/),
  fc.string({ maxLength: 20 }),
  fc.constantFrom("", "<!channel>", "USLACKBOT", `${APPROVER_A} `, APPROVER_A.toLowerCase()),
);
const channelId = fc.oneof(
  fc.constant(CHANNEL),
  fc.constant(OTHER_CHANNEL),
  fc.stringMatching(/^[CDG][A-Z0-9]{2,11}$/),
  fc.string({ maxLength: 20 }),
);
/** Team ids; Object.prototype member names are BUG 2 (see below), so they are left to that test. */
const teamId = fc
  .oneof(fc.constant(SLACK_TEAM_ID), fc.stringMatching(/^T[A-Z0-9]{2,11}$/), fc.string({ maxLength: 20 }))
  .filter((t) => !(t in Object.prototype));

/**
 * `<…>` sequences an answer may contain: the pending request's requester and channel, dates, links,
 * and the help text's own `<pipeline>` placeholder. Anything else came from the input.
 */
function forgedMentions(text: string): string[] {
  const allowed = [`@${REQUESTER}`, `#${CHANNEL}`, "pipeline"];
  return [...text.matchAll(/<([^<>]*)>/g)]
    .map((m) => m[1] ?? "")
    .filter((inner) => !allowed.includes(inner) && !inner.startsWith("!date^") && !/^https?:\/\//.test(inner));
}

// ------------------------------------------------------------------------------------------ set-up

beforeAll(async () => {
  h = await startHarness({ pipeline: { requiredApprovals: 2 } });
  // The legitimate flow that forged input is measured against.
  const shipped = h.shipToStaging("Ship the rainbow");
  await h.sendGitLab(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId));
  const ready = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.promote)));
  ids.candidate = buttonValue(ready, ACTIONS.promote) as string;

  expect((await h.slash(REQUESTER, "whitewave")).status).toBe(200);
  const r1Message = await h.slack.waitFor(() => h.channelMessages().find((m) => buttonValue(m, ACTIONS.approve)));
  ids.r1 = buttonValue(r1Message, ACTIONS.approve) as string;
  r1ApproveBody = blockActionBody({
    userId: APPROVER_B,
    channelId: r1Message.channel,
    messageTs: r1Message.ts,
    message: r1Message,
    actionId: ACTIONS.approve,
    value: ids.r1,
    responseUrl: h.slack.responseUrl({ channel: r1Message.channel, user: APPROVER_B, messageTs: r1Message.ts }),
  });
  expect((await slack(r1ApproveBody)).status).toBe(200);
  await until(async () => (await h.bot.store.db.selectFrom("approvals").selectAll().execute()).length === 1);
  expect((await h.click(APPROVER_A, r1Message, ACTIONS.reject)).status).toBe(200);
  await h.slack.waitFor(() => h.slack.replies(CHANNEL, r1Message.ts)[0]);

  expect((await h.slash(REQUESTER, "whitewave")).status).toBe(200);
  const r2Message = await h.slack.waitFor(() =>
    h.channelMessages().find((m) => {
      const value = buttonValue(m, ACTIONS.approve);
      return value && value !== ids.r1;
    }),
  );
  ids.r2 = buttonValue(r2Message, ACTIONS.approve) as string;
  await settle();
  const rows = await h.bot.store.db.selectFrom("requests").select(["id", "state"]).orderBy("created_at").execute();
  expect(rows).toEqual([
    { id: ids.r1, state: "rejected" },
    { id: ids.r2, state: "pending" },
  ]);
}, 30_000);

afterAll(async () => {
  const total = Object.values(fuzzed).reduce((a, b) => a + b, 0);
  console.info(`hostile-input: ${total} generated inputs ${JSON.stringify(fuzzed)}`);
  await h?.close();
});

// ------------------------------------------------------------------------------------------ /slack/events

interface Click {
  actionId: string;
  actionType: string;
  value: unknown;
  user: string;
  channel: string;
  omit: string[];
  omitInAction: string[];
  replace: Record<string, unknown>;
  extraActions: unknown[];
  responseUrl: "stand-in" | "missing" | "unreachable";
}

const PAYLOAD_KEYS = [
  "type",
  "user",
  "api_app_id",
  "token",
  "container",
  "trigger_id",
  "team",
  "enterprise",
  "is_enterprise_install",
  "channel",
  "message",
  "state",
  "response_url",
  "actions",
] as const;
const ACTION_KEYS = ["action_id", "block_id", "text", "value", "type", "action_ts"] as const;

/**
 * Shapes Slack never sends on which Bolt itself throws before any listener runs, answered 500:
 * `user` absent or null, `channel` null, `actions` not iterable (BUG 2). Left to the BUG 2 tests.
 */
function breaksBolt(c: Pick<Click, "omit" | "replace">): boolean {
  if (c.omit.includes("user")) return true;
  const r = c.replace;
  if ("user" in r && r.user === null) return true;
  if ("channel" in r && r.channel === null) return true;
  return "actions" in r && !(typeof r.actions === "string" || Array.isArray(r.actions));
}

/** Button clicks with forged values, unknown action ids, wrong types and missing fields. */
function clickArb(shape: "well-formed" | "broken"): fc.Arbitrary<Click> {
  const stringValue = fc.oneof(
    fc.uuid(),
    fc.constantFrom(...SQLISH),
    // Other requests' and candidates' ids, and near-misses of the pending request's id.
    fc.constantFrom(ids.r1, ids.candidate, ids.r1.toUpperCase(), ` ${ids.r2}`, `${ids.r2}\u0000`, ids.r2.slice(0, 35)),
    fc.constantFrom(`${ids.r2}'--`, `${ids.r2}%`, `${ids.r2.slice(0, 8)}%`, "%", "_", "*", ""),
    fc.string({ unit: "grapheme", maxLength: 80 }),
    fc.string({ unit: "binary", maxLength: 80 }),
    controlChars,
    fc.string({ minLength: 2_001, maxLength: 6_000 }),
  );
  const forgedValue = fc.oneof(
    { arbitrary: stringValue.filter((v) => v !== ids.r2), weight: 4 },
    { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
  );
  const mayNotDecide = fc.oneof(
    fc.constant(BYSTANDER),
    userId.filter((u) => !MAY_DECIDE.includes(u)),
  );
  const who = fc.oneof(
    { arbitrary: fc.record({ value: forgedValue, user: userId }), weight: 3 },
    // The pending request's real id, clicked by someone who may not decide it.
    { arbitrary: fc.record({ value: fc.constant<unknown>(ids.r2), user: mayNotDecide }), weight: 2 },
  );
  return fc
    .record({
      actionId: fc.oneof(
        { arbitrary: fc.constantFrom(...Object.values(ACTIONS)), weight: 8 },
        { arbitrary: fc.string({ maxLength: 40 }), weight: 1 },
        {
          arbitrary: fc.constantFrom("approve_request ", "APPROVE_REQUEST", "approve_request\u0000", "approve"),
          weight: 1,
        },
      ),
      actionType: fc.oneof(
        { arbitrary: fc.constant("button"), weight: 6 },
        { arbitrary: fc.constantFrom("static_select", "overflow", "checkboxes", "datepicker"), weight: 1 },
        { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
      ),
      who,
      channel: channelId,
      omit: fc.subarray([...PAYLOAD_KEYS], { maxLength: 3 }),
      omitInAction: fc.subarray([...ACTION_KEYS], { maxLength: 2 }),
      replace: fc.dictionary(fc.constantFrom(...PAYLOAD_KEYS), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 2 }),
      extraActions: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 2 }),
      responseUrl: fc.constantFrom("stand-in", "stand-in", "stand-in", "missing", "unreachable"),
    })
    .map(({ who, ...rest }): Click => ({ ...rest, value: who.value, user: who.user }))
    .filter((c) => breaksBolt(c) === (shape === "broken"));
}

/** The signed-ready `payload=` body of a click: Slack's real shape, then the click's damage applied. */
function clickBody(c: Click): string {
  const form = new URLSearchParams(
    blockActionBody({
      userId: c.user,
      channelId: c.channel,
      messageTs: "1700000000.000100",
      actionId: c.actionId,
      value: "placeholder",
      responseUrl:
        c.responseUrl === "stand-in"
          ? h.slack.responseUrl({ channel: c.channel, user: c.user })
          : "http://127.0.0.1:9/unreachable",
    }),
  );
  const body = JSON.parse(form.get("payload") as string) as Record<string, unknown>;
  const actions = body.actions as Array<Record<string, unknown>>;
  const action = actions[0] as Record<string, unknown>;
  action.type = c.actionType;
  action.value = c.value;
  for (const key of c.omitInAction) delete action[key];
  actions.push(...(c.extraActions as Array<Record<string, unknown>>));
  if (c.responseUrl === "missing") delete body.response_url;
  for (const key of c.omit) delete body[key];
  Object.assign(body, c.replace);
  return new URLSearchParams({ payload: JSON.stringify(body) }).toString();
}

/** Is this the form body of a click Bolt routes to one of our listeners (which ack at once)? */
/** An answer Slack shows from the acknowledgement's body (help and usage hints are answered there). */
function answerInAck(body: string): { text: string; blocks?: unknown[] } | undefined {
  if (!body.trim().startsWith("{")) return undefined;
  const parsed = JSON.parse(body) as { text?: unknown; blocks?: unknown[] };
  return typeof parsed.text === "string"
    ? { text: parsed.text, ...(parsed.blocks ? { blocks: parsed.blocks } : {}) }
    : undefined;
}

function reachesListener(c: Click): boolean {
  const known = (Object.values(ACTIONS) as string[]).includes(c.actionId) && !c.omitInAction.includes("action_id");
  const intact = (key: string) => !(key in c.replace) && !c.omit.includes(key);
  // A payload without a usable `user` is refused by the intake (400) before any listener runs.
  return known && intact("actions") && intact("type") && intact("user");
}

describe("POST /slack/events under hostile input", () => {
  it("when signed /promote commands carry arbitrary text from any user or channel, then each gets one answer Slack accepts, with no forged mention, and nothing changes", async () => {
    const before = await state();
    const urls = new Map<unknown, string>();
    const arb = fc.record({ text: hostileText, user: userId, channel: channelId, team: teamId });
    await fuzz(
      "slash command text",
      arb,
      300,
      (input) => {
        const responseUrl = h.slack.responseUrl({ channel: input.channel, user: input.user });
        urls.set(input, responseUrl);
        const body = slashCommandBody({
          userId: input.user,
          channelId: input.channel,
          text: input.text,
          teamId: input.team,
          responseUrl,
        });
        return slack(body);
      },
      (input, answer) => {
        const body = slashCommandBody({
          userId: input.user,
          channelId: input.channel,
          text: input.text,
          responseUrl: "",
        });
        if (Buffer.byteLength(body) > SLACK_LIMIT - 200) {
          return answer.status === 413 || answer.status === 200 ? undefined : `status ${answer.status}, not 413`;
        }
        if (answer.status !== 200) return `status ${answer.status}`;
        // Help and usage hints come back in the acknowledgement itself; everything else at the response_url.
        const inAck = answerInAck(answer.body);
        const answers = [...(inAck ? [inAck] : []), ...h.slack.ephemerals.filter((e) => e.url === urls.get(input))];
        if (answers.length !== 1) return `${answers.length} answers (in the ack or at the response_url)`;
        const text = `${answers[0]?.text} ${JSON.stringify(answers[0]?.blocks ?? [])}`;
        const forged = forgedMentions(text);
        return forged.length > 0 ? `the answer contains ${forged.map((f) => `<${f}>`).join(" ")}` : undefined;
      },
      (inputs, answers) => {
        const answered = new Set(h.slack.ephemerals.map((e) => e.url));
        return inputs.every(
          (input, i) =>
            answers[i]?.status !== 200 ||
            answerInAck(answers[i]?.body ?? "") !== undefined ||
            answered.has(urls.get(input)),
        );
      },
    );
    await expectHealthy();
    expect(await state()).toEqual(before);
  });

  it("when signed commands have random, missing or extra form fields, then they are answered 2xx/4xx and nothing changes", async () => {
    const before = await state();
    const fields = fc.record(
      {
        token: fc.string({ maxLength: 30 }),
        team_id: teamId,
        team_domain: fc.string({ maxLength: 30 }),
        channel_id: channelId,
        channel_name: fc.string({ maxLength: 30 }),
        user_id: userId,
        user_name: fc.string({ maxLength: 30 }),
        command: fc.oneof({ arbitrary: fc.constant("/promote"), weight: 5 }, fc.string({ maxLength: 12 })),
        text: hostileText,
        api_app_id: fc.oneof(fc.constant(SLACK_APP_ID), fc.string()),
        is_enterprise_install: fc.constantFrom("false", "true", "", "maybe"),
        response_url: fc.constantFrom("stand-in", "stand-in", "not a url", "http://127.0.0.1:9/unreachable"),
        trigger_id: fc.string({ maxLength: 40 }),
        ssl_check: fc.constantFrom("0", "1", ""),
      },
      { requiredKeys: [] },
    );
    // `payload` has its own properties below (and `payload=null` is BUG 1).
    const extra = fc.dictionary(
      fc.string({ maxLength: 10 }).filter((k) => k !== "payload"),
      fc.string({ maxLength: 30 }),
      { maxKeys: 3 },
    );
    await fuzz(
      "slash command fields",
      fc.tuple(fields, extra),
      200,
      ([f, more]) => {
        const form: Record<string, string> = { ...f, ...more };
        if (form.response_url === "stand-in") {
          form.response_url = h.slack.responseUrl({ channel: form.channel_id, user: form.user_id });
        }
        return slack(new URLSearchParams(form).toString());
      },
      (_, answer) => (is2xxOr4xx(answer.status) ? undefined : `status ${answer.status}`),
    );
    await expectHealthy();
    expect(await state()).toEqual(before);
  });

  it("when signed clicks carry forged values, unknown action ids, wrong types, other channels or missing fields, then no 5xx, no state change, no message and no promotion", async () => {
    const before = await state();
    await fuzz(
      "button clicks",
      clickArb("well-formed"),
      300,
      (c) => slack(clickBody(c)),
      (c, answer) => {
        if (!is2xxOr4xx(answer.status)) return `status ${answer.status}`;
        if (reachesListener(c) && answer.status !== 200) return `a known action answered ${answer.status}`;
        return undefined;
      },
    );
    await expectHealthy();
    expect(await state()).toEqual(before);
  });

  it("when `payload` is not JSON, then 400", async () => {
    const notJson = fc.oneof(fc.string(), fc.string({ unit: "binary" }), hugeText).filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    });
    await property("payload not JSON", notJson, 150, async (payload) => {
      const body = new URLSearchParams({ payload }).toString();
      const answer = await slack(body);
      expect(answer.status).toBe(Buffer.byteLength(body) > SLACK_LIMIT ? 413 : 400);
    });
    await expectHealthy();
  });

  it("when signed bodies are arbitrary JSON or form text that is no Slack request, then 2xx/4xx and nothing changes", async () => {
    const before = await state();
    // Random keys (not Slack's) at the top level; `null` alone is BUG 1 and left to its own test.
    const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => v !== null);
    const arb = fc.oneof(
      json.map((v) => ({ kind: "json" as const, body: JSON.stringify(v) })),
      json.map((v) => ({
        kind: "payload" as const,
        body: new URLSearchParams({ payload: JSON.stringify(v) }).toString(),
      })),
      fc
        .oneof(fc.string(), fc.string({ unit: "binary" }), controlChars)
        .map((s) => ({ kind: "form" as const, body: s })),
    );
    await fuzz(
      "arbitrary bodies",
      arb.filter((b) => !looksLikeSlack(b.body)),
      200,
      (b) => slack(b.body, { contentType: b.kind === "json" ? "application/json" : FORM }),
      (_, answer) => (is2xxOr4xx(answer.status) ? undefined : `status ${answer.status}`),
    );
    await expectHealthy();
    expect(await state()).toEqual(before);
  });

  it("when the content type is wrong or missing, or the body is empty, then 4xx", async () => {
    const command = slashCommandBody({
      userId: REQUESTER,
      channelId: CHANNEL,
      text: "help",
      responseUrl: h.slack.responseUrl({ channel: CHANNEL, user: REQUESTER }),
    });
    const cases: Array<[string, string, string | null]> = [
      ["json content type", command, "application/json"],
      ["text/plain", command, "text/plain"],
      ["multipart", command, "multipart/form-data; boundary=xyz"],
      // Bolt compares the content type with ===; Slack sends exactly `application/x-www-form-urlencoded`.
      ["form with charset", command, `${FORM}; charset=utf-8`],
      ["no content type", command, null],
      ["empty JSON", "", "application/json"],
      ["empty form", "", FORM],
    ];
    const answers = await Promise.all(cases.map(([, body, type]) => slack(body, { contentType: type })));
    const unsigned = await post("/slack/events", "", { "content-type": FORM });
    fuzzed["content types"] = cases.length + 1;
    const not4xx = cases
      .map(([name], i) => ({ name, status: answers[i]?.status ?? 0 }))
      .filter(({ status }) => status < 400 || status >= 500);
    expect(not4xx).toEqual([]);
    expect(unsigned.status).toBe(401);
    await expectHealthy();
  });

  it("when a body is over 256 KiB, declared or streamed, then 413; at 256 KiB it is served", async () => {
    const atLimit = paddedCommand(SLACK_LIMIT);
    expect(Buffer.byteLength(atLimit)).toBe(SLACK_LIMIT);
    expect((await slack(atLimit)).status).toBe(200);
    const over = paddedCommand(SLACK_LIMIT + 1);
    expect((await slack(over)).status).toBe(413);
    // Streamed (chunked, no Content-Length): only the reading limit can stop it. On a connection of
    // its own, which is then discarded: it is left unusable (BUG 5).
    const big = paddedCommand(SLACK_LIMIT + 64 * 1024);
    const connection = await rawConnection();
    try {
      connection.send(rawHttpRequest("/slack/events", signedHeaders(big), chunks(big, 16 * 1024)));
      expect(await connection.nextStatus(3_000)).toBe(413);
    } finally {
      connection.destroy();
    }
    fuzzed["body limits"] = 3;
    await expectHealthy();
  });

  // BUG 5 (src/server.ts:136-143, the /slack/events branch): a streamed (chunked) body over 256 KiB
  // is refused by Bolt's reader (raw-body) with 413 and `Connection: keep-alive`; raw-body pauses the
  // request with the rest of the body unread, so the next request on that connection is never parsed
  // nor answered, and the connection hangs until the keep-alive timeout drops it. (The server's own
  // check of a declared Content-Length answers `Connection: close` and is fine; so is the GitLab
  // route.) Input: a signed `/promote` body of 320 KiB sent chunked, then a small signed request on
  // the same connection. Expected: the server closes the connection after the 413, or answers the
  // next request; actual: neither. Whether a client reuses such a connection, and how much of the
  // body the server had buffered, depend on timing, hence a raw socket that sends the body's last
  // 100 bytes only after the 413 (stalls every time; with the whole body sent at once, about one time
  // in five). Setting `Connection: close` on /slack/events requests without a Content-Length, or
  // destroying the request after a 413, would fix it.
  it("BUG 5 (fixed): after a streamed body over 256 KiB is refused, the connection is closed or the next request on it served", async () => {
    const big = paddedCommand(SLACK_LIMIT + 64 * 1024);
    const parts = chunks(big, 16 * 1024);
    const request = rawHttpRequest("/slack/events", signedHeaders(big), parts);
    // All but the last 100 bytes, the 413, then the rest of the body: as an upload whose answer
    // arrives before its last bytes are sent.
    const cut = request.length - 100;
    const connection = await rawConnection();
    try {
      connection.send(request.subarray(0, cut));
      expect(await connection.nextStatus(3_000)).toBe(413);
      connection.send(request.subarray(cut));
      const small = paddedCommand(600);
      connection.send(rawHttpRequest("/slack/events", signedHeaders(small), [Buffer.from(small)]));
      const next = await connection.nextStatus(1_500);
      expect(connection.closed() || next === 200).toBe(true);
    } finally {
      connection.destroy();
    }
  });

  it("when a signed request is replayed more than 5 minutes later, or its signature headers are bad, then 401", async () => {
    const body = slashCommandBody({
      userId: REQUESTER,
      channelId: CHANNEL,
      text: "help",
      responseUrl: h.slack.responseUrl({ channel: CHANNEL, user: REQUESTER }),
    });
    const now = Math.floor(Date.now() / 1000);
    const signed = signSlackRequest(SIGNING_SECRET, body, now - 5 * 60 - 1);
    const variants: Array<Record<string, string>> = [
      signed,
      signSlackRequest(SIGNING_SECRET, r1ApproveBody, now - 6 * 60),
      { ...signSlackRequest(SIGNING_SECRET, body), "x-slack-request-timestamp": "not-a-number" },
      { ...signSlackRequest(SIGNING_SECRET, body), "x-slack-signature": "v1=00" },
      { ...signSlackRequest(SIGNING_SECRET, `${body}&x=1`) },
      { ...signSlackRequest("not-the-secret", body) },
    ];
    const answers = await Promise.all(
      variants.map((headers, i) =>
        post("/slack/events", i === 1 ? r1ApproveBody : body, { ...headers, "content-type": FORM }),
      ),
    );
    fuzzed["signature and replay"] = variants.length;
    expect(answers.map((a) => a.status)).toEqual(variants.map(() => 401));
    await expectHealthy();
  });

  // -------------------------------------------------------------------------------- bugs

  // BUG 2 (src/server.ts:66-71, `new HTTPReceiver({...})`): the receiver is built without a
  // `processEventErrorHandler`, so anything Bolt's App.processEvent throws before a listener acks is
  // answered by Bolt's default handler with **500**. Bolt dereferences fields of signed bodies
  // without checking them, e.g.
  //   payload={"type":"shortcut"}                       no `user` (buildSource reads user.team_id)
  //   payload={"type":"block_actions",...}              without `user`, or "user":null, or "channel":null
  //   payload={"type":"block_actions","actions":null}   ([payload] = actions)
  //   {"type":"event_callback","event":null}            ('channel' in event)
  //   team_id=__proto__ / constructor / toString        (this.clients[teamId] is an Object member)
  // Expected 400 (or 2xx) for every malformed body; actual 500. Only Slack can sign, so the impact is
  // small, but it is a 5xx for client input. A processEventErrorHandler that answers 400 when no
  // response was sent yet (and logs) closes the whole class.
  it("BUG 2 (fixed): when signed clicks lack `user`, have `channel`/`user` null or non-iterable `actions`, or are arbitrary JSON over Slack's field names, then 2xx/4xx", async () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.dictionary(fc.constantFrom(...SLACK_FIELDS), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    );
    const body = fc.dictionary(fc.constantFrom(...SLACK_FIELDS), value, { maxKeys: 6 });
    const typed = fc
      .tuple(fc.constantFrom(...SLACK_TYPES), body)
      .map(([type, rest]) => ({ ...rest, type }) as Record<string, unknown>);
    const noServerError = (_: unknown, answer: Answer) =>
      is2xxOr4xx(answer.status) ? undefined : `status ${answer.status}`;
    // Both batches at once: each waits out Bolt's 3 s ack timeout for the bodies it cannot route.
    const results = await Promise.allSettled([
      fuzz("BUG 2 broken clicks", clickArb("broken"), 60, (c) => slack(clickBody(c)), noServerError),
      fuzz(
        "BUG 2 Slack-shaped JSON",
        fc.tuple(fc.oneof(body, typed), fc.boolean()),
        120,
        ([b, asPayload]) =>
          asPayload
            ? slack(new URLSearchParams({ payload: JSON.stringify(b) }).toString())
            : slack(JSON.stringify(b), { contentType: "application/json" }),
        noServerError,
      ),
    ]);
    for (const result of results) if (result.status === "rejected") throw result.reason;
  });

  it("BUG 2 (fixed): minimal examples are answered 2xx/4xx", async () => {
    const user = { id: BYSTANDER, team_id: SLACK_TEAM_ID };
    const action = { action_id: ACTIONS.approve, type: "button", value: ids.r2 };
    const payloads: unknown[] = [
      { type: "shortcut" },
      { type: "block_actions", actions: [action], team: { id: SLACK_TEAM_ID } },
      { type: "block_actions", actions: [action], user, channel: null },
      { type: "block_actions", actions: null, user },
      { type: "block_actions", actions: [action], user, team: { id: "toString" } },
    ];
    const answers = await Promise.all([
      ...payloads.map((p) => slack(new URLSearchParams({ payload: JSON.stringify(p) }).toString())),
      slack(JSON.stringify({ type: "event_callback", event: null }), { contentType: "application/json" }),
      slack(`command=%2Fpromote&text=help&user_id=${BYSTANDER}&team_id=__proto__`),
      slack(`command=%2Fpromote&text=help&user_id=${BYSTANDER}&team_id=constructor`),
    ]);
    expect(answers.map((a) => a.status).filter((s) => !is2xxOr4xx(s))).toEqual([]);
  });

  // BUG 3 (src/server.ts:66-71, Bolt's verify-request.js:32): only timestamps older than 5 minutes
  // are refused; one 6 minutes in the *future* is accepted. Slack's recipe refuses a timestamp more
  // than 5 minutes from local time either way
  // (https://docs.slack.dev/authentication/verifying-requests-from-slack). Input: a correctly signed
  // request with X-Slack-Request-Timestamp = now + 360. Expected 401; actual 200.
  it("BUG 3 (fixed): when the signed timestamp is more than 5 minutes in the future, then 401", async () => {
    const body = slashCommandBody({
      userId: REQUESTER,
      channelId: CHANNEL,
      text: "help",
      responseUrl: h.slack.responseUrl({ channel: CHANNEL, user: REQUESTER }),
    });
    const answer = await slack(body, { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 });
    expect(answer.status).toBe(401);
  });
});

/** Field names and types Slack's bodies use, for the Slack-shaped fuzz and the no-Slack filter. */
const SLACK_FIELDS = [
  "type",
  "event",
  "command",
  "actions",
  "user",
  "team",
  "channel",
  "team_id",
  "user_id",
  "channel_id",
  "ssl_check",
  "challenge",
  "name",
  "view",
  "container",
  "message",
  "response_url",
  "authorizations",
  "enterprise",
  "is_enterprise_install",
  "text",
  "trigger_id",
  "item",
  "function_data",
];
const SLACK_TYPES = [
  "block_actions",
  "event_callback",
  "shortcut",
  "message_action",
  "view_submission",
  "view_closed",
  "block_suggestion",
  "dialog_submission",
  "interactive_message",
  "url_verification",
];

/** Does a body name any field Bolt routes on? (Such bodies are the BUG 2 fuzz's business.) */
function looksLikeSlack(raw: string): boolean {
  const seen = new Set<string>();
  const collect = (v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) for (const k of Object.keys(v)) seen.add(k);
  };
  try {
    collect(JSON.parse(raw));
  } catch {
    // not JSON
  }
  const form = new URLSearchParams(raw);
  for (const k of form.keys()) seen.add(k);
  const payload = form.get("payload");
  if (payload !== null) {
    try {
      const parsed: unknown = JSON.parse(payload);
      if (parsed === null) return true;
      collect(parsed);
    } catch {
      // not JSON: answered 400
    }
  }
  return [...seen].some((k) => SLACK_FIELDS.includes(k));
}

// ------------------------------------------------------------------------------------------ BUG 1

/**
 * BUG 1 (src/server.ts:142, `receiver.requestListener(req, res)`; Bolt HTTPReceiver.js:345): a signed
 * body whose JSON is `null` (form `payload=null`, or a JSON body `null`) makes Bolt read
 * `body.ssl_check` on null inside a detached async function. The rejection is unhandled and the
 * request is never answered: the connection hangs until the client gives up. Expected 400 at once.
 * In-process that rejection would fail the whole vitest run, so this runs the built server
 * (dist/main.js, as `npm start` does; `npm test` builds it first), whose unhandledRejection handler
 * logs it and keeps the process alive.
 */
describe("BUG 1: a signed body that is JSON null", () => {
  const main = join(import.meta.dirname, "../../dist/main.js");
  let child: ChildProcess | undefined;
  let dir = "";
  let output = "";
  let url = "";
  let answer: Answer = { status: -1, body: "", ms: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "promote-bot-hostile-"));
    child = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH ?? "",
        SLACK_BOT_TOKEN: "xoxb-hostile-test-token",
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: "http://127.0.0.1:9/api/",
        HEROKU_API_TOKEN: "heroku-hostile-token",
        HEROKU_API_URL: "http://127.0.0.1:9",
        GITLAB_TOKEN: "gitlab-hostile-token",
        GITLAB_URL: "http://127.0.0.1:9",
        GITLAB_WEBHOOK_SECRET: "webhook-hostile-secret",
        DATABASE_URL: `sqlite:${join(dir, "bot.db")}`,
        PIPELINES_YAML: pipelinesYaml(),
        PORT: "0",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    for (let i = 0; i < 200 && !url; i++) {
      const port = /"port":(\d+)/.exec(output)?.[1];
      if (port) url = `http://127.0.0.1:${port}`;
      else if (child.exitCode !== null) throw new Error(`server exited: ${output}`);
      else await new Promise((r) => setTimeout(r, 50));
    }
    if (!url) throw new Error(`server did not start: ${output}`);
    const body = "payload=null";
    const started = Date.now();
    try {
      const response = await fetch(`${url}/slack/events`, {
        method: "POST",
        headers: { ...signSlackRequest(SIGNING_SECRET, body), "content-type": FORM },
        body,
        signal: AbortSignal.timeout(1_500),
      });
      answer = { status: response.status, body: await response.text(), ms: Date.now() - started };
    } catch (error) {
      answer = { status: 0, body: String(error), ms: Date.now() - started };
    }
    fuzzed["payload=null"] = 1;
  }, 20_000);

  afterAll(() => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("the process survives it and keeps serving", async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(child?.exitCode).toBeNull();
  });

  it("BUG 1 (fixed): it is answered 400 at once", () => {
    expect(answer.status).toBe(400);
    expect(output).not.toContain("unhandled promise rejection");
  });
});

// ------------------------------------------------------------------------------------------ /gitlab/webhook

/** A valid pipeline event for a project no pipeline is configured for: accepted, posts nothing. */
function elsewhereEvent(): Record<string, unknown> {
  const { project, pipeline, commit } = exampleRecords();
  const delivery = pipelineHook({
    project: { ...project, id: 999, path_with_namespace: "acme/elsewhere" },
    pipeline: { ...pipeline, project_id: 999 },
    commit,
  });
  return JSON.parse(delivery.rawBody) as Record<string, unknown>;
}

const DELETE = Symbol("delete");
type FieldKind = "int" | "string" | "nonEmptyString" | "sha" | "bool" | "object" | "pipeline" | "build";

/** The fields each schema checks, with what it expects (src/domain/gitlab-events.ts). */
const CHECKED_FIELDS: Record<"Pipeline Hook" | "Job Hook", Array<[string[], FieldKind]>> = {
  "Pipeline Hook": [
    [["object_kind"], "pipeline"],
    [["object_attributes"], "object"],
    [["object_attributes", "id"], "int"],
    [["object_attributes", "ref"], "string"],
    [["object_attributes", "tag"], "bool"],
    [["object_attributes", "sha"], "sha"],
    [["object_attributes", "status"], "string"],
    [["project"], "object"],
    [["project", "id"], "int"],
    [["project", "path_with_namespace"], "nonEmptyString"],
  ],
  "Job Hook": [
    [["object_kind"], "build"],
    [["build_id"], "int"],
    [["build_name"], "string"],
    [["build_status"], "string"],
    [["pipeline_id"], "int"],
    [["project_id"], "int"],
    [["ref"], "string"],
    [["sha"], "string"],
  ],
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Values of the wrong type (or shape) for a field, or its deletion. */
function wrongValue(kind: FieldKind): fc.Arbitrary<unknown> {
  const anything = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constant(DELETE),
    fc.constantFrom("", "42", "1e3", "true", "null", "[]", "{}", 1.5, -0.5, 2 ** 53 + 0.5, Number.MAX_VALUE),
    hugeText,
  );
  const wrong: Record<FieldKind, (v: unknown) => boolean> = {
    int: (v) => !Number.isInteger(v),
    string: (v) => typeof v !== "string",
    nonEmptyString: (v) => typeof v !== "string" || v === "",
    sha: (v) => typeof v !== "string" || !/^[0-9a-f]{7,64}$/.test(v),
    bool: (v) => typeof v !== "boolean",
    object: (v) => !isPlainObject(v),
    pipeline: (v) => v !== "pipeline",
    build: (v) => v !== "build",
  };
  const extra: Partial<Record<FieldKind, fc.Arbitrary<unknown>>> = {
    sha: fc.constantFrom("ABCDEF0", "abc123", "g".repeat(40), "a".repeat(65), " abcdef0", "abcdef0\n"),
    pipeline: fc.constantFrom("Pipeline", "build", "pipeline ", "deployment"),
    build: fc.constantFrom("Build", "pipeline", "job"),
  };
  const pool = extra[kind] ? fc.oneof(anything, extra[kind] as fc.Arbitrary<unknown>) : anything;
  return pool.filter((v) => v === DELETE || wrong[kind](v));
}

function applyAt(body: Record<string, unknown>, path: string[], value: unknown): void {
  let target: unknown = body;
  for (const key of path.slice(0, -1)) target = isPlainObject(target) ? target[key] : undefined;
  const last = path[path.length - 1] as string;
  if (!isPlainObject(target)) return;
  if (value === DELETE) delete target[last];
  else target[last] = value;
}

function nested(depth: number, open: string, close: string, inner = "0"): string {
  return `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
}

describe("POST /gitlab/webhook under hostile input", () => {
  let configuredBody: Record<string, unknown>;
  let jobBody: Record<string, unknown>;
  beforeAll(() => {
    const shipped = h.shipToStaging("Hostile webhooks");
    configuredBody = JSON.parse(h.gitlab.pipelineEvent(PROJECT_ID, shipped.pipelineId).rawBody);
    jobBody = {
      object_kind: "build",
      ref: "main",
      tag: false,
      sha: shipped.sha,
      build_id: 77_001,
      build_name: "test",
      build_stage: "test",
      build_status: "success",
      pipeline_id: shipped.pipelineId,
      project_id: PROJECT_ID,
      project_name: "acme / whitewave",
    };
  });

  it("when a handled event's body is arbitrary JSON, then 400 and nothing is recorded or posted", async () => {
    const before = await state();
    const kinds = fc.constantFrom("Pipeline Hook", "Job Hook", "Deployment Hook");
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }),
      // Right object_kind, random rest.
      fc
        .tuple(
          fc.constantFrom("pipeline", "build", "deployment"),
          fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
        )
        .map(([kind, rest]) => ({ ...rest, object_kind: kind })),
    );
    await property("gitlab arbitrary JSON", fc.tuple(kinds, body), 200, async ([event, value]) => {
      const answer = await gitlab(JSON.stringify(value), event);
      expect(answer.status).toBe(400);
    });
    await settle();
    expect(await state()).toEqual(before);
    await expectHealthy();
  });

  it("when a checked field has the wrong type or is missing, then 400 naming the field, and nothing is recorded or posted", async () => {
    const before = await state();
    const mutation = (event: "Pipeline Hook" | "Job Hook") =>
      fc.array(
        fc.constantFrom(...CHECKED_FIELDS[event]).chain(([path, kind]) => wrongValue(kind).map((v) => ({ path, v }))),
        { minLength: 1, maxLength: 3 },
      );
    const arb = fc.oneof(
      mutation("Pipeline Hook").map((m) => ({ event: "Pipeline Hook" as const, m })),
      mutation("Job Hook").map((m) => ({ event: "Job Hook" as const, m })),
    );
    await property("gitlab wrong types", arb, 250, async ({ event, m }) => {
      const body = structuredClone(event === "Pipeline Hook" ? configuredBody : jobBody);
      for (const { path, v } of m) applyAt(body, path, v);
      const answer = await gitlab(JSON.stringify(body), event);
      expect(answer.status).toBe(400);
      const error = (JSON.parse(answer.body) as { error: string }).error;
      // The reason names one of the damaged fields (the base body is valid).
      const named = m.map(({ path }) => `invalid ${event} body: ${path.join(".")}: `);
      expect(
        named.some((prefix) => error.startsWith(prefix)),
        `${error} names none of ${named.join(", ")}`,
      ).toBe(true);
    });
    await settle();
    expect(await state()).toEqual(before);
    await expectHealthy();
  });

  it("when the event name is unknown, then 200 ignored whatever the body, and nothing is recorded", async () => {
    const before = await state();
    const name = fc
      .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })
      .map((s) => s.trim())
      .filter((s) => s !== "" && !["Pipeline Hook", "Job Hook", "Deployment Hook"].includes(s));
    const names = fc.oneof(
      name,
      fc.constantFrom(
        "pipeline hook",
        "PIPELINE HOOK",
        "Push Hook",
        "System Hook",
        "constructor",
        "__proto__",
        "toString",
        "hasOwnProperty",
      ),
    );
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.string(),
      fc.uint8Array({ maxLength: 512 }),
    );
    await property("gitlab unknown events", fc.tuple(names, body), 150, async ([event, raw]) => {
      const answer = await gitlab(raw, event);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ status: "ignored" });
    });
    await settle();
    expect(await state()).toEqual(before);
    await expectHealthy();
  });

  it("when the body is random bytes (invalid UTF-8), then 400 for handled events, and nothing is recorded", async () => {
    const before = await state();
    const invalidUtf8 = fc.constantFrom(
      Uint8Array.from([0xff, 0xfe, 0xfd]),
      Uint8Array.from([0xc0, 0x80]),
      Uint8Array.from([0xed, 0xa0, 0x80]),
      Uint8Array.from([0xf4, 0x90, 0x80, 0x80]),
      Uint8Array.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]),
    );
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 4_096 }), invalidUtf8);
    await property(
      "gitlab random bytes",
      fc.tuple(fc.constantFrom("Pipeline Hook", "Job Hook"), bytes),
      150,
      async ([event, raw]) => {
        const answer = await gitlab(raw, event);
        expect(answer.status).toBe(400);
      },
    );
    await settle();
    expect(await state()).toEqual(before);
    await expectHealthy();
  });

  it("when bodies are deeply nested, huge, empty, of the wrong content type, or lack X-Gitlab-Event, then 2xx/4xx and nothing is posted", async () => {
    const before = await state();
    const valid = elsewhereEvent();
    // Spliced as text: JSON.stringify of such nesting would overflow this process's stack first.
    const splice = (key: string, json: string) =>
      JSON.stringify({ ...valid, [key]: "@@HERE@@" }).replace('"@@HERE@@"', json);
    const withDeepMergeRequest = splice("merge_request", nested(5_000, '{"a":', "}"));
    const hugeTitle = structuredClone(valid);
    applyAt(hugeTitle, ["commit", "title"], "<!channel> ".repeat(90_000));
    const overLimit = JSON.stringify({ ...valid, padding: "x".repeat(GITLAB_LIMIT) });
    const cases: Array<{
      name: string;
      body: string | Uint8Array;
      event?: string | null;
      type?: string | null;
      expect: number | number[];
    }> = [
      { name: "10,000 nested arrays", body: nested(10_000, "[", "]"), expect: 400 },
      { name: "100,000 nested arrays", body: nested(100_000, "[", "]"), expect: 400 },
      { name: "100,000 nested objects", body: nested(100_000, '{"a":', "}"), expect: 400 },
      { name: "nesting inside a checked object", body: splice("project", nested(5_000, "[", "]")), expect: 400 },
      { name: "5,000 nested objects in an unchecked field", body: withDeepMergeRequest, expect: 200 },
      { name: "900 KB commit title", body: JSON.stringify(hugeTitle), expect: 200 },
      { name: "over 1 MiB", body: overLimit, expect: 413 },
      { name: "empty body", body: "", expect: 400 },
      { name: "empty body, unknown event", body: "", event: "Note Hook", expect: 200 },
      { name: "whitespace body", body: " \n\t ", expect: 400 },
      // RFC 8259 lets a parser ignore a leading byte order mark; the UTF-8 decoder drops it.
      { name: "BOM then JSON", body: `\ufeff${JSON.stringify(valid)}`, expect: 200 },
      {
        name: "form-encoded body",
        body: new URLSearchParams({ payload: JSON.stringify(valid) }).toString(),
        type: FORM,
        expect: 400,
      },
      // The content type is not checked (GitLab always sends JSON); a valid body is accepted whatever it says.
      { name: "valid body as text/plain", body: JSON.stringify(valid), type: "text/plain", expect: 200 },
      { name: "valid body, no content type", body: JSON.stringify(valid), type: null, expect: 200 },
      { name: "invalid body as text/plain", body: "{nope", type: "text/plain", expect: 400 },
      { name: "no X-Gitlab-Event", body: JSON.stringify(valid), event: null, expect: 400 },
      { name: "empty X-Gitlab-Event", body: JSON.stringify(valid), event: "", expect: 400 },
    ];
    const answers = await Promise.all(
      cases.map((c) =>
        gitlab(
          c.body,
          c.event === undefined ? "Pipeline Hook" : c.event,
          c.type === undefined ? "application/json" : c.type,
        ),
      ),
    );
    // Streamed over the limit (no Content-Length): stopped while reading, and the connection closed.
    const connection = await rawConnection();
    connection.send(rawHttpRequest("/gitlab/webhook", gitlabHeaders("Pipeline Hook"), chunks(overLimit, 64 * 1024)));
    const streamed = await connection.nextStatus(3_000);
    await until(async () => connection.closed(), 2_000).catch(() => {});
    const streamedClosed = connection.closed();
    connection.destroy();
    fuzzed["gitlab edge cases"] = cases.length + 1;
    expect(Object.fromEntries(cases.map((c, i) => [c.name, answers[i]?.status]))).toEqual(
      Object.fromEntries(cases.map((c) => [c.name, c.expect])),
    );
    expect(streamed).toBe(413);
    expect(streamedClosed).toBe(true);
    await settle();
    const after = await state();
    expect(after.postMessages).toBe(before.postMessages);
    expect(after.requests).toEqual(before.requests);
    // Only the five accepted bodies (the BOM one included) were recorded, and their processing finished.
    expect(after.deliveries).toBe(before.deliveries + 5);
    const unfinished = await h.bot.store.db
      .selectFrom("deliveries")
      .select("id")
      .where("state", "not in", ["done"])
      .execute();
    expect(unfinished).toEqual([]);
    await expectHealthy();
  });

  // BUG 4 (src/transport/gitlab/webhook-route.ts:61, `JSON.parse(raw.toString("utf8"))`): bytes that
  // are not UTF-8 are decoded with replacement characters instead of refused, so a body that is not
  // valid JSON text (RFC 8259 §8.1 requires UTF-8) is accepted and processed altered. Input: a valid
  // pipeline event whose commit title contains the bytes FF FE. Expected 400; actual 200 (recorded and
  // processed with the title turned into "\uFFFD\uFFFD"). Decoding with `new TextDecoder("utf-8", { fatal: true })` would refuse it.
  it("BUG 4 (fixed): when a valid event carries invalid UTF-8 inside a string, then 400", async () => {
    const [head, tail] = JSON.stringify(elsewhereEvent()).split('"title":"') as [string, string];
    const raw = Buffer.concat([Buffer.from(`${head}"title":"`), Buffer.from([0xff, 0xfe]), Buffer.from(tail)]);
    const answer = await gitlab(raw, "Pipeline Hook");
    await settle();
    expect(answer.status).toBe(400);
  });
});

// ------------------------------------------------------------------------------------------ replays

describe("replayed and reused clicks", () => {
  it("when a rejected request's earlier Approve click is replayed with a fresh signature, then nothing changes; with its old timestamp, 401", async () => {
    const before = await state();
    const denied = async () =>
      (await h.bot.store.db.selectFrom("audit").select("id").where("event", "=", "denied").execute()).length;
    const deniedBefore = await denied();
    const answersBefore = h.answersFor(APPROVER_B).length;

    // The same raw body Slack sent, re-signed now: verifies, reaches the listener, and is refused.
    expect((await slack(r1ApproveBody)).status).toBe(200);
    // The same button value reused by another approver who never approved it.
    const reused = r1ApproveBody.replace(encodeURIComponent(APPROVER_B), encodeURIComponent(GROUP_APPROVER));
    expect(reused).not.toBe(r1ApproveBody);
    expect((await slack(reused)).status).toBe(200);
    // Replayed as captured, with the timestamp it was signed with 6 minutes ago.
    const stale = await slack(r1ApproveBody, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    await settle();
    fuzzed.replays = 3;

    expect(await state()).toEqual(before);
    expect(await denied()).toBe(deniedBefore + 2);
    // Both replies went to the captured click's response_url, which the stand-in files under APPROVER_B.
    const answers = h.answersFor(APPROVER_B).slice(answersBefore);
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(answer).toMatch(/reject/i);
    const r1 = await h.bot.store.db.selectFrom("requests").select("state").where("id", "=", ids.r1).executeTakeFirst();
    expect(r1?.state).toBe("rejected");
    await expectHealthy();
  });

  it("when an approver's click claims another channel, then nothing is posted or updated in that channel", async () => {
    const before = await state();
    const body = blockActionBody({
      userId: APPROVER_A,
      channelId: OTHER_CHANNEL,
      messageTs: "1700000000.000200",
      actionId: ACTIONS.approve,
      value: ids.r2,
      responseUrl: h.slack.responseUrl({ channel: OTHER_CHANNEL, user: APPROVER_A }),
    });
    expect((await slack(body)).status).toBe(200);
    await settle();
    const intoOther = h.slack.calls.filter(
      (c) => c.path.startsWith("/api/chat.") && (c.body as { channel?: string } | undefined)?.channel === OTHER_CHANNEL,
    );
    expect(intoOther).toEqual([]);
    const after = await state();
    expect(after.postMessages).toBe(before.postMessages);
    expect(after.promotionPosts).toBe(before.promotionPosts);
    const r2 = after.requests.find((r) => r.id === ids.r2);
    expect(r2?.state).toBe("pending");
    expect(after.approvals.filter((a) => a.request_id === ids.r2).length).toBeLessThanOrEqual(1);
    await expectHealthy();
  });
});
