/**
 * POST /heroku/webhook under hostile input (issue 15): arbitrary JSON, wrong types, invalid UTF-8 and
 * forged signatures, sent to the real server. No 5xx for client input, the process keeps serving, and
 * nothing is recorded, posted or promoted.
 */
import { createHmac, randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "../../support/harness.js";

const SECRET = "hostile-heroku-webhook-secret-0123456789";
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { HEROKU_WEBHOOK_SECRET: SECRET } });
  // The start-up read of the pipeline (its apps and what they run) ends before the state is compared.
  await h.bot.bot.worker.idle();
});
afterAll(async () => {
  await h?.close();
});

const sign = (body: Buffer | string, secret = SECRET) => createHmac("sha256", secret).update(body).digest("base64");

async function send(body: Buffer | string, signature: string | undefined): Promise<number> {
  const response = await fetch(`${h.url}/heroku/webhook`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(signature !== undefined ? { "Heroku-Webhook-Hmac-SHA256": signature } : {}),
    },
    body,
  });
  await response.arrayBuffer();
  return response.status;
}

async function state() {
  const deliveries = await h.bot.store.db.selectFrom("deliveries").select("id").execute();
  const views = await h.bot.store.db.selectFrom("app_releases").select("release_id").execute();
  return {
    deliveries: deliveries.length,
    views: views.length,
    posts: h.slack.calls.filter((c) => c.path.endsWith("chat.postMessage")).length,
    promotions: h.heroku.callsTo("POST", "/pipeline-promotions").length,
  };
}

const validEvent = () => ({
  id: randomUUID(),
  action: "create",
  resource: "release",
  created_at: new Date().toISOString(),
  data: {
    id: randomUUID(),
    version: 5,
    status: "succeeded",
    app: { id: h.ids.production, name: "whitewave-prod" },
    slug: { id: randomUUID() },
    created_at: new Date().toISOString(),
  },
});

describe("POST /heroku/webhook under hostile input", () => {
  it("when a correctly signed body is arbitrary JSON or a release event with wrong types, then 400 (or 200 ignored for other resources), never 5xx, and nothing is recorded", async () => {
    const before = await state();
    const release = fc
      .dictionary(
        fc.constantFrom("id", "version", "status", "app", "slug", "created_at"),
        fc.jsonValue({ maxDepth: 2 }),
      )
      .map((data) => ({ ...validEvent(), data: { ...validEvent().data, ...data } }))
      .filter((event) => {
        const d = event.data as Record<string, unknown>;
        return typeof d.version !== "number" || typeof d.id !== "string" || typeof d.status !== "string";
      });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue({ maxDepth: 4 }), release), async (value) => {
        const body = JSON.stringify(value) ?? "null";
        const status = await send(body, sign(body));
        expect([200, 400]).toContain(status);
      }),
      { numRuns: 200 },
    );
    const after = await state();
    expect(after).toEqual(before);
  });

  it("when the body is not UTF-8, is nested 100,000 levels deep, or the signature is forged, then 400 or 401 and nothing changes", async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 512 }), fc.string(), async (bytes, forged) => {
        const body = Buffer.from(bytes);
        expect(await send(body, forged)).toBe(401);
        expect([400]).toContain(await send(body, sign(body)));
      }),
      { numRuns: 150 },
    );
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    expect(await send(deep, sign(deep))).toBe(400);
    const event = JSON.stringify(validEvent());
    expect(await send(event, sign(event, "another-secret-another-secret-another"))).toBe(401);
    expect(await send(event, sign(`${event}\n`))).toBe(401);
    expect(await send(event, undefined)).toBe(401);
    expect(await state()).toEqual(before);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});
