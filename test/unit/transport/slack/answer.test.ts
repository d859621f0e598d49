import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { postToResponseUrl, replyThrough } from "../../../../src/transport/slack/answer.js";

interface Received {
  path: string;
  contentType: string | undefined;
  body: unknown;
}

/** A response_url endpoint answering `status`, recording what it was sent and how many connections carried it. */
async function endpoint(status = 200): Promise<{ url: string; received: Received[]; connections: () => number }> {
  const received: Received[] = [];
  let connections = 0;
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      res.writeHead(status, { "content-type": "text/plain" });
      res.end(status === 200 ? "ok" : "no_such_url");
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/actions/T1/123/abc`, received, connections: () => connections };
}

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

describe("answers through a response_url", () => {
  it("posts an ephemeral reply as JSON that leaves the original message alone", async () => {
    const slack = await endpoint();
    await replyThrough(slack.url)({ text: "Only the approvers can approve.", blocks: [{ type: "section" }] });
    expect(slack.received).toEqual([
      {
        path: "/actions/T1/123/abc",
        contentType: "application/json",
        body: {
          response_type: "ephemeral",
          replace_original: false,
          text: "Only the approvers can approve.",
          blocks: [{ type: "section" }],
        },
      },
    ]);
  });

  it("keeps the connection for the next answer", async () => {
    const slack = await endpoint();
    for (let i = 0; i < 3; i++) await postToResponseUrl(slack.url, { text: `answer ${i}` });
    expect(slack.received).toHaveLength(3);
    expect(slack.connections()).toBe(1);
  });

  it("fails when Slack refuses the post (an expired response_url), without quoting the url", async () => {
    const slack = await endpoint(404);
    const failure = postToResponseUrl(slack.url, { text: "late" });
    await expect(failure).rejects.toThrow("Slack answered 404 to a post to the response_url");
    await expect(failure).rejects.not.toThrow(/abc/);
  });

  it("refuses a response_url that is not http(s)", async () => {
    await expect(postToResponseUrl("file:///etc/passwd", { text: "no" })).rejects.toThrow(/must be http\(s\)/);
  });
});
