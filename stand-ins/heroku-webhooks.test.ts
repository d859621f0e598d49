/**
 * The Heroku stand-in's app webhooks, driven with the real `heroku-client` (subscriptions, latest
 * releases) and received by a loopback server (signed deliveries, retries, order, fault knobs).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Heroku, { type HerokuError } from "heroku-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HerokuStandIn } from "./heroku.js";

interface HerokuClientError extends HerokuError {
  statusCode: number;
  body: { id: string; message: string; resource?: string };
}

interface Subscription {
  id: string;
  app: { id: string; name: string };
  include: string[];
  level: string;
  url: string;
  created_at: string;
  updated_at: string;
}

interface Envelope {
  id: string;
  action: string;
  resource: string;
  actor: { id: string; email: string };
  data: Record<string, unknown> & { id: string; status?: string; version?: number; state?: string };
  previous_data: Record<string, unknown>;
  webhook_metadata: {
    attempt: { id: string };
    delivery: { id: string };
    event: { id: string; include: string };
    webhook: { id: string };
  };
}

interface Received {
  headers: IncomingMessage["headers"];
  rawBody: string;
  body: Envelope;
}

/** A receiver on loopback: records every delivery and answers what `answer` says (default 204). */
class Receiver {
  readonly received: Received[] = [];
  answer: (delivery: Received) => number | "hang" | "reset" = () => 204;
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const rawBody = Buffer.concat(chunks).toString("utf8");
        const delivery = { headers: req.headers, rawBody, body: JSON.parse(rawBody) as Envelope };
        this.received.push(delivery);
        const answer = this.answer(delivery);
        if (answer === "hang") return;
        if (answer === "reset") {
          req.socket.destroy();
          return;
        }
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/heroku/webhook`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  releaseEvents(): Envelope[] {
    return this.received.map((r) => r.body).filter((b) => b.webhook_metadata.event.include === "api:release");
  }
}

function verify(delivery: Received, secret: string): boolean {
  const expected = createHmac("sha256", secret).update(delivery.rawBody).digest();
  const given = Buffer.from(String(delivery.headers["heroku-webhook-hmac-sha256"] ?? ""), "base64");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function rejection(promise: Promise<unknown>): Promise<HerokuClientError> {
  try {
    await promise;
  } catch (error) {
    return error as HerokuClientError;
  }
  throw new Error("expected the request to fail");
}

const SECRET = "s".repeat(40);

describe("HerokuStandIn app webhooks", () => {
  let heroku: HerokuStandIn;
  let client: Heroku;
  let receiver: Receiver;
  let responses: IncomingMessage[];
  let pipeline: { id: string; name: string };
  let staging: { id: string; name: string };
  let production: { id: string; name: string };

  beforeEach(async () => {
    heroku = new HerokuStandIn();
    receiver = new Receiver();
    await Promise.all([heroku.start(), receiver.start()]);
    heroku.webhooks.options.backoffMs = () => 5;
    heroku.webhooks.options.timeoutMs = 300;
    responses = [];
    client = new Heroku({
      token: "heroku-test-token",
      host: heroku.url,
      middleware: (res, next) => {
        responses.push(res);
        next();
      },
    });
    pipeline = heroku.addPipeline("whitewave");
    staging = heroku.addApp("whitewave-staging", pipeline.id, "staging");
    production = heroku.addApp("whitewave", pipeline.id, "production");
  });

  afterEach(async () => {
    await heroku.close();
    await receiver.close();
  });

  const subscribe = (app: string, body: Record<string, unknown> = {}) =>
    client.post<Subscription>(`/apps/${app}/webhooks`, {
      body: { include: ["api:release", "dyno"], level: "sync", url: receiver.url, secret: SECRET, ...body },
    });

  describe("subscriptions", () => {
    it("creates, lists, shows, updates and deletes a subscription with the schema's shape and no secret", async () => {
      const created = await subscribe(production.name, { authorization: "Bearer abc" });
      expect(responses.at(-1)?.statusCode).toBe(201);
      expect(responses.at(-1)?.headers["ratelimit-remaining"]).toBeDefined();
      expect(responses.at(-1)?.headers["heroku-webhook-secret"]).toBeUndefined();
      expect(Object.keys(created).sort()).toEqual(["app", "created_at", "id", "include", "level", "updated_at", "url"]);
      expect(created).toMatchObject({
        app: { id: production.id, name: production.name },
        include: ["api:release", "dyno"],
        level: "sync",
        url: receiver.url,
      });

      const list = await client.get<Subscription[]>(`/apps/${production.id}/webhooks`);
      expect(list).toEqual([created]);
      expect(responses.at(-1)?.headers["accept-ranges"]).toBe("id");
      const shown = await client.get<Subscription>(`/apps/${production.name}/webhooks/${created.id}`, {
        headers: { Accept: "application/vnd.heroku+json; version=3.webhooks" },
      });
      expect(shown).toEqual(created);
      expect(JSON.stringify([created, list, shown])).not.toContain(SECRET);

      const updated = await client.patch<Subscription>(`/apps/${production.name}/webhooks/${created.id}`, {
        body: { include: ["api:release"], level: "notify" },
      });
      expect(responses.at(-1)?.statusCode).toBe(200);
      expect(updated).toMatchObject({ id: created.id, include: ["api:release"], level: "notify", url: receiver.url });
      expect(updated).not.toHaveProperty("secret");

      const deleted = await client.delete<Subscription>(`/apps/${production.name}/webhooks/${created.id}`);
      expect(responses.at(-1)?.statusCode).toBe(200);
      expect(deleted.id).toBe(created.id);
      expect(await client.get(`/apps/${production.name}/webhooks`)).toEqual([]);
      const gone = await rejection(client.get(`/apps/${production.name}/webhooks/${created.id}`));
      expect(gone.statusCode).toBe(404);
      expect(gone.body.id).toBe("not_found");
    });

    it("generates a secret when none is given and returns it once, in Heroku-Webhook-Secret", async () => {
      const created = await client.post<Subscription>(`/apps/${staging.name}/webhooks`, {
        body: { include: ["api:release"], level: "notify", url: receiver.url },
      });
      const secret = responses.at(-1)?.headers["heroku-webhook-secret"] as string;
      expect(secret).toMatch(/^[0-9a-f]{60}$/);
      await client.get(`/apps/${staging.name}/webhooks/${created.id}`);
      expect(responses.at(-1)?.headers["heroku-webhook-secret"]).toBeUndefined();

      heroku.deploy(staging.name, "1111111aaaaaaa");
      await heroku.webhooksIdle();
      expect(receiver.received).toHaveLength(1);
      expect(verify(receiver.received[0] as Received, secret)).toBe(true);
    });

    it("refuses a bad include, a bad level, a missing url and an unknown app as Heroku does", async () => {
      const include = await rejection(subscribe(production.name, { include: ["api:relase"] }));
      expect(include.statusCode).toBe(422);
      expect(include.body.id).toBe("invalid_params");
      expect(include.body.message).toContain("api:relase");
      const level = await rejection(subscribe(production.name, { level: "eventually" }));
      expect(level.statusCode).toBe(422);
      expect(level.body.id).toBe("invalid_params");
      const url = await rejection(
        client.post(`/apps/${production.name}/webhooks`, { body: { include: ["api:release"], level: "sync" } }),
      );
      expect(url.statusCode).toBe(422);
      const patch = await rejection(
        client.patch(`/apps/${production.name}/webhooks/${(await subscribe(production.name)).id}`, {
          body: { level: "sometimes" },
        }),
      );
      expect(patch.statusCode).toBe(422);
      const app = await rejection(subscribe("no-such-app"));
      expect(app.statusCode).toBe(404);
      expect(app.body).toMatchObject({ id: "not_found", resource: "app" });
    });
  });

  describe("latest releases", () => {
    it("answers each coupled app's newest release (even when it is not current), with app and the usual headers", async () => {
      heroku.deploy(staging.name, "1111111aaaaaaa");
      const running = heroku.deploy(production.name, "1111111aaaaaaa");
      const pending = heroku.deploy(production.name, "2222222bbbbbbb", { status: "pending" });
      heroku.addApp("orphan"); // not in the pipeline

      const latest = await client.get<Array<{ id: string; app: { id: string }; current: boolean; version: number }>>(
        `/pipelines/${pipeline.id}/latest-releases`,
      );
      expect(responses.at(-1)?.statusCode).toBe(200);
      expect(responses.at(-1)?.headers["ratelimit-remaining"]).toMatch(/^\d+$/);
      expect(responses.at(-1)?.headers["request-id"]).toBeDefined();
      const byApp = new Map(latest.map((r) => [r.app.id, r]));
      expect(latest).toHaveLength(2);
      expect(byApp.get(staging.id)).toMatchObject({ version: 1, current: true });
      expect(byApp.get(production.id)).toMatchObject({ id: pending.id, version: 2, current: false, status: "pending" });
      expect(byApp.get(production.id)?.id).not.toBe(running.id);

      const missing = await rejection(client.get("/pipelines/whitewave/latest-releases"));
      expect(missing.statusCode).toBe(404);
      expect(missing.body.resource).toBe("pipeline");
    });
  });

  describe("deliveries", () => {
    it("signs each release event with the subscription's secret, sends Authorization, and carries the release as the API returns it", async () => {
      await subscribe(production.name, { authorization: "Bearer receiver-token" });
      const release = heroku.deploy(production.name, "1111111aaaaaaa");
      await heroku.webhooksIdle();

      expect(receiver.received).toHaveLength(1);
      const delivery = receiver.received[0] as Received;
      expect(verify(delivery, SECRET)).toBe(true);
      expect(verify({ ...delivery, rawBody: `${delivery.rawBody} ` }, SECRET)).toBe(false);
      expect(delivery.headers.authorization).toBe("Bearer receiver-token");
      const api = await client.get<Record<string, unknown>>(`/apps/${production.name}/releases/${release.id}`);
      expect(delivery.body).toMatchObject({
        action: "create",
        resource: "release",
        actor: { id: heroku.account.id, email: heroku.account.email },
        previous_data: {},
        version: "application/vnd.heroku+json; version=3",
        data: api,
      });
      expect(delivery.body.data.app).toEqual({ id: production.id, name: production.name });
      expect(delivery.body.webhook_metadata.event).toEqual({ id: delivery.body.id, include: "api:release" });
    });

    it("sends create and update events for promotions, rollbacks and status changes, to subscriptions including api:release only", async () => {
      await subscribe(production.name);
      await subscribe(production.name, { include: ["dyno"], url: `${receiver.url}?dyno-only` });
      heroku.promotionBehaviour.pollsUntilDone = 0;
      const first = heroku.deploy(staging.name, "1111111aaaaaaa");
      heroku.deploy(production.name, "0000000fffffff");
      await client.post("/pipeline-promotions", {
        body: {
          pipeline: { id: pipeline.id },
          source: { app: { id: staging.id }, release: { id: first.id } },
          targets: [{ app: { id: production.id } }],
        },
      });
      const v1 = heroku.releases(production.name)[0];
      await client.post(`/apps/${production.name}/releases`, { body: { release: v1?.id } });
      const pending = heroku.deploy(production.name, "3333333ccccccc", { status: "pending" });
      heroku.setReleaseStatus(pending.id, "failed");
      await heroku.webhooksIdle();

      const events = receiver.releaseEvents().map((e) => [e.action, e.data.version, e.data.status, e.previous_data]);
      expect(events).toEqual([
        ["create", 1, "succeeded", {}],
        ["create", 2, "pending", {}],
        ["update", 2, "succeeded", { status: "pending" }],
        ["create", 3, "succeeded", {}],
        ["create", 4, "pending", {}],
        ["update", 4, "failed", { status: "pending" }],
      ]);
      expect(heroku.webhooks.attempts.filter((a) => a.url.includes("dyno-only"))).toEqual([]);
      expect(
        receiver.received.some((r) => r.body.data.app && (r.body.data.app as { id: string }).id === staging.id),
      ).toBe(false);
    });

    it("delivers dyno state changes to subscriptions including dyno", async () => {
      await subscribe(production.name, { include: ["dyno"] });
      const release = heroku.deploy(production.name, "1111111aaaaaaa");
      heroku.emitDynoState(production.name, { type: "web", state: "up" });
      heroku.emitDynoState(production.name, { type: "web", state: "crashed", exitStatus: 1 });
      await heroku.webhooksIdle();

      const dynoEvents = receiver.received.map((r) => r.body);
      expect(dynoEvents).toHaveLength(2);
      expect(dynoEvents[1]).toMatchObject({
        action: "update",
        resource: "dyno",
        previous_data: { state: "up" },
        data: {
          app: { id: production.id, name: production.name },
          name: "web.1",
          state: "crashed",
          exit_status: 1,
          release: { id: release.id, version: release.version },
        },
        webhook_metadata: { event: { include: "dyno" } },
      });
      expect(dynoEvents[0]?.data.id).toBe(dynoEvents[1]?.data.id);
    });

    it("retries a sync delivery after a 5xx, a timeout and a reset, each a new attempt of the same event, holding back later events", async () => {
      await subscribe(production.name);
      const failures: Array<number | "hang" | "reset"> = [500, "hang", "reset"];
      receiver.answer = () => failures.shift() ?? 204;
      heroku.deploy(production.name, "1111111aaaaaaa");
      heroku.deploy(production.name, "2222222bbbbbbb");
      await heroku.webhooksIdle();

      const attempts = heroku.webhooks.attempts;
      expect(attempts.map((a) => a.status ?? a.error?.split(":")[0])).toEqual([
        500,
        "timeout",
        "connection error",
        204,
        204,
      ]);
      const [firstEvent] = attempts;
      expect(attempts.slice(0, 4).every((a) => a.eventId === firstEvent?.eventId)).toBe(true);
      expect(new Set(attempts.slice(0, 4).map((a) => a.attemptId)).size).toBe(4);
      expect(new Set(attempts.slice(0, 4).map((a) => a.rawBody)).size).toBe(4);
      // The second event waited for the first to be answered.
      expect(receiver.releaseEvents().map((e) => e.data.version)).toEqual([1, 1, 1, 1, 2]);
      const received = receiver.received.slice(0, 4);
      expect(received.every((r) => verify(r, SECRET))).toBe(true);
      expect(new Set(received.map((r) => r.headers["heroku-webhook-hmac-sha256"])).size).toBe(4);
      expect(heroku.webhooks.deliveries.map((d) => d.status)).toEqual(["succeeded", "succeeded"]);
    });

    it("gives up a sync delivery after maxAttempts and tries a notify delivery once", async () => {
      heroku.webhooks.options.maxAttempts = 3;
      await subscribe(production.name);
      await subscribe(production.name, { level: "notify", url: `${receiver.url}/notify` });
      receiver.answer = () => 503;
      heroku.deploy(production.name, "1111111aaaaaaa");
      await heroku.webhooksIdle();
      const byUrl = (suffix: string) => heroku.webhooks.attempts.filter((a) => a.url.endsWith(suffix));
      expect(byUrl("/heroku/webhook")).toHaveLength(3);
      expect(byUrl("/notify")).toHaveLength(1);
      expect(heroku.webhooks.deliveries.map((d) => d.status)).toEqual(["failed", "failed"]);
    });
  });

  describe("bad days", () => {
    it("pauses deliveries (events queue up) and delivers them in order on resume", async () => {
      await subscribe(production.name);
      heroku.webhooks.pauseDeliveries();
      heroku.deploy(production.name, "1111111aaaaaaa");
      heroku.deploy(production.name, "2222222bbbbbbb");
      await heroku.webhooksIdle();
      expect(receiver.received).toHaveLength(0);
      heroku.webhooks.resumeDeliveries();
      await heroku.webhooksIdle();
      expect(receiver.releaseEvents().map((e) => e.data.version)).toEqual([1, 2]);
    });

    it("drops events, which are never delivered", async () => {
      await subscribe(production.name);
      heroku.webhooks.dropEvents(1, (event) => event.action === "create");
      const dropped = heroku.deploy(production.name, "1111111aaaaaaa");
      heroku.deploy(production.name, "2222222bbbbbbb");
      await heroku.webhooksIdle();
      expect(receiver.releaseEvents().map((e) => e.data.id)).not.toContain(dropped.id);
      expect(receiver.received).toHaveLength(1);
      expect(heroku.webhooks.droppedEventIds).toHaveLength(1);
    });

    it("delivers an event twice: same event and delivery ids, a new attempt id and signature", async () => {
      await subscribe(production.name);
      heroku.webhooks.duplicateDeliveries(1);
      heroku.deploy(production.name, "1111111aaaaaaa");
      await heroku.webhooksIdle();
      const [first, second] = receiver.received.map((r) => r.body);
      expect(receiver.received).toHaveLength(2);
      expect(second?.id).toBe(first?.id);
      expect(second?.webhook_metadata.delivery.id).toBe(first?.webhook_metadata.delivery.id);
      expect(second?.webhook_metadata.attempt.id).not.toBe(first?.webhook_metadata.attempt.id);
      expect(receiver.received.every((r) => verify(r, SECRET))).toBe(true);
    });

    it("delivers out of order when asked, and releases a partial batch when waited for", async () => {
      await subscribe(production.name);
      heroku.webhooks.deliverOutOfOrder(2);
      heroku.deploy(production.name, "1111111aaaaaaa");
      heroku.deploy(production.name, "2222222bbbbbbb");
      heroku.webhooks.deliverOutOfOrder(5);
      heroku.deploy(production.name, "3333333ccccccc");
      await heroku.webhooksIdle();
      expect(receiver.releaseEvents().map((e) => e.data.version)).toEqual([2, 1, 3]);
    });

    it("delays a delivery by N ms", async () => {
      await subscribe(production.name);
      heroku.webhooks.delayDeliveries(150);
      const before = Date.now();
      heroku.deploy(production.name, "1111111aaaaaaa");
      await heroku.webhooksIdle();
      expect((heroku.webhooks.attempts[0]?.at ?? 0) - before).toBeGreaterThanOrEqual(140);
      expect(receiver.received).toHaveLength(1);
    });
  });
});
