/**
 * The compiled server as an operator runs it (`npm start` = node dist/main.js): configuration errors
 * stop it with exit 1 and one line per problem; a configured server serves /healthz and refuses
 * unsigned Slack requests and wrong-token GitLab requests with 401; SIGTERM drains and exits 0.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { KyselyStore } from "../../src/adapters/store/kysely-store.js";
import { bigPipelineHook, gitlabHeaders } from "../../stand-ins/gitlab-events.js";
import { postSlack, slashCommandBody } from "../../stand-ins/slack-requests.js";
import { pipelinesYaml, SIGNING_SECRET } from "../support/harness.js";

const MAIN = join(import.meta.dirname, "../../dist/main.js");

function baseEnv(dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    SLACK_BOT_TOKEN: "xoxb-process-test-token",
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: "http://127.0.0.1:9/api/",
    HEROKU_API_TOKEN: "heroku-process-secret",
    HEROKU_API_URL: "http://127.0.0.1:9",
    GITLAB_TOKEN: "gitlab-process-secret",
    GITLAB_URL: "http://127.0.0.1:9",
    GITLAB_WEBHOOK_SECRET: "webhook-process-secret",
    DATABASE_URL: `sqlite:${join(dir, "bot.db")}`,
    PIPELINES_YAML: pipelinesYaml(),
    PORT: "0",
    LOG_LEVEL: "info",
  };
}

function run(env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, [MAIN], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  return Object.assign(child, { output: () => output });
}

function exit(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

async function listening(child: ReturnType<typeof run>): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const match = /"port":(\d+)/.exec(child.output());
    if (match) return `http://127.0.0.1:${match[1]}`;
    if (child.exitCode !== null) throw new Error(`server exited: ${child.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server did not start: ${child.output()}`);
}

describe("the server process", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  });

  it("when variables are missing or malformed, then it exits 1 with one line per problem and no secret", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-bot-proc-"));
    const env = baseEnv(dir);
    delete (env as Partial<typeof env>).SLACK_SIGNING_SECRET;
    env.SLACK_BOT_TOKEN = "not-a-token-secret-value";
    env.PORT = "eighty";
    const child = run(env);
    children.push(child);
    expect(await exit(child)).toBe(1);
    const out = child.output();
    expect(out).toMatch(/^ {2}SLACK_SIGNING_SECRET: required/m);
    expect(out).toMatch(/^ {2}SLACK_BOT_TOKEN: expected a Slack bot token/m);
    expect(out).toMatch(/^ {2}PORT: expected a port number/m);
    expect(out).not.toContain("not-a-token-secret-value");
    expect(out).not.toContain("listening");
  });

  it("when the pipelines file is bad, then it exits 1 naming the path of the bad field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-bot-proc-"));
    const file = join(dir, "pipelines.yml");
    writeFileSync(file, pipelinesYaml().replace("required_approvals: 1", "required_approvals: -2"));
    const env = baseEnv(dir);
    delete (env as Partial<typeof env>).PIPELINES_YAML;
    env.PIPELINES_FILE = file;
    const child = run(env);
    children.push(child);
    expect(await exit(child)).toBe(1);
    expect(child.output()).toMatch(/^ {2}pipelines\.whitewave\.required_approvals: expected a positive integer$/m);
  });

  it("serves /healthz, refuses unsigned Slack and wrong-token GitLab requests with 401, and drains on SIGTERM", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-bot-proc-"));
    const child = run(baseEnv(dir));
    children.push(child);
    const url = await listening(child);

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", store: "sqlite" });

    const body = slashCommandBody({ userId: "U1", channelId: "C1", text: "help", responseUrl: "http://127.0.0.1:9/r" });
    const unsigned = await fetch(`${url}/slack/events`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    expect(unsigned.status).toBe(401);
    const wrongSecret = await postSlack(url, "another-secret", body);
    expect(wrongSecret.status).toBe(401);
    const stale = await postSlack(url, SIGNING_SECRET, body, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);

    const gitlab = await fetch(`${url}/gitlab/webhook`, {
      method: "POST",
      headers: gitlabHeaders("Pipeline Hook", { token: "wrong" }),
      body: "{}",
    });
    expect(gitlab.status).toBe(401);

    child.kill("SIGTERM");
    expect(await exit(child)).toBe(0);
    expect(child.output()).toContain("promote-bot stopped");
    for (const secret of ["heroku-process-secret", "gitlab-process-secret", "webhook-process-secret", SIGNING_SECRET]) {
      expect(child.output()).not.toContain(secret);
    }
  });

  it("when SIGTERM arrives while a webhook is still being received, then it is answered and recorded before the process exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "promote-bot-proc-"));
    const env = baseEnv(dir);
    const child = run(env);
    children.push(child);
    const url = new URL(await listening(child));

    // A large delivery (200 jobs), sent in two halves with SIGTERM in between, over a raw socket. A
    // running pipeline is recorded and needs no processing, so nothing else holds up the exit.
    const delivery = bigPipelineHook(200, { token: env.GITLAB_WEBHOOK_SECRET });
    const running = { ...delivery.body, object_attributes: { ...delivery.body.object_attributes, status: "running" } };
    const body = Buffer.from(JSON.stringify(running));
    const headers = Object.entries(delivery.headers).filter(([name]) => name.toLowerCase() !== "content-length");
    const socket = connect(Number(url.port), "127.0.0.1");
    await once(socket, "connect");
    let response = "";
    socket.on("data", (d: Buffer) => {
      response += d.toString();
    });
    const ended = once(socket, "end");
    socket.write(
      `POST /gitlab/webhook HTTP/1.1\r\nHost: ${url.host}\r\n${headers.map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, body.length >> 1));
    await new Promise((r) => setTimeout(r, 200));

    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBeNull(); // still draining: our request is in flight
    socket.write(body.subarray(body.length >> 1));
    await ended; // the server closes the connection once it has answered
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    expect(await exit(child)).toBe(0);

    const store = KyselyStore.connect({ kind: "sqlite", path: join(dir, "bot.db") });
    try {
      const rows = await store.db.selectFrom("deliveries").select("event").execute();
      expect(rows).toEqual([{ event: "Pipeline Hook" }]);
    } finally {
      await store.close();
    }
  });
});
