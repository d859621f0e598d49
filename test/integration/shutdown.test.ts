/**
 * Stopping (SIGTERM on a deploy) while a Slack listener's work is still running after its ack: the
 * bot waits for it before closing the store, and work caught in a retry wait is told it was cut short.
 */
import { describe, expect, it } from "vitest";
import { KyselyStore } from "../../src/adapters/store/kysely-store.js";
import { type Harness, REQUESTER, useHarness } from "../support/harness.js";

let h: Harness;
const e2e = useHarness();

async function storedRequests(): Promise<Array<{ state: string }>> {
  const store = KyselyStore.connect(h.db.config);
  try {
    return await store.db.selectFrom("requests").select("state").execute();
  } finally {
    await store.close();
  }
}

describe("stopping with listener work in flight", () => {
  it("when the bot stops while a request is being checked, it finishes it before closing the store", async () => {
    h = await e2e.start();
    h.shipToStaging("Shipped during a deploy");
    h.heroku.latencyMs = 150; // the request's checks take several Heroku calls
    const heroku = h.heroku.calls.length;
    expect((await h.slash(REQUESTER, "whitewave")).status).toBe(200);
    await h.slack.waitFor(() => h.heroku.calls.length > heroku);
    await h.bot.close(5_000);
    expect(h.answersFor(REQUESTER).join("\n")).toMatch(/Requested the promotion/);
    expect(await storedRequests()).toEqual([{ state: "pending" }]);
    expect(h.logs.text).not.toMatch(/unexpected error/);
  });

  it("when the bot stops while a request waits to retry Heroku, the requester is told it was cut short", async () => {
    h = await e2e.start({ tuning: { herokuRetry: { attempts: 5, baseMs: 5_000, maxMs: 5_000 } } });
    h.shipToStaging("Shipped into an outage");
    h.heroku.fault({ path: /^\/pipelines\//, times: 1_000, response: { status: 503, body: { id: "unavailable" } } });
    expect((await h.slash(REQUESTER, "whitewave")).status).toBe(200);
    await h.slack.waitFor(() => h.heroku.callsTo("GET", /^\/pipelines\//).length > 0);
    await h.bot.close(5_000);
    expect(h.answersFor(REQUESTER).join("\n")).toMatch(/I am restarting and could not finish this/);
    expect(await storedRequests()).toEqual([]);
    expect(h.logs.text).not.toMatch(/unexpected error/);
  });
});
