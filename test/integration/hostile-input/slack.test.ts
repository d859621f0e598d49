/** Hostile input to POST /slack/events (see support.ts). */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTIONS } from "../../../src/views/action-ids.js";
import { SLACK_APP_ID, SLACK_TEAM_ID } from "../../../stand-ins/slack.js";
import { signSlackRequest, slashCommandBody } from "../../../stand-ins/slack-requests.js";
import { BYSTANDER, CHANNEL, pipelinesYaml, REQUESTER, SIGNING_SECRET } from "../../support/harness.js";
import {
  type Answer,
  answerInAck,
  channelId,
  chunks,
  clickArb,
  clickBody,
  controlChars,
  expectHealthy,
  FORM,
  forgedMentions,
  fuzz,
  fuzzed,
  h,
  hostileText,
  hugeText,
  ids,
  is2xxOr4xx,
  looksLikeSlack,
  paddedCommand,
  post,
  property,
  r1ApproveBody,
  rawConnection,
  rawHttpRequest,
  reachesListener,
  SLACK_FIELDS,
  SLACK_LIMIT,
  SLACK_TYPES,
  signedHeaders,
  slack,
  state,
  teamId,
  useHostileWorld,
  userId,
} from "./support.js";

useHostileWorld();

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

describe("BUG 1: a signed body that is JSON null", () => {
  const main = join(import.meta.dirname, "../../../dist/main.js");
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
