/**
 * The Heroku stand-in's `releaseDelayMs` knob: a promotion that acts slowly, its targets `pending` with
 * `release: null` (nullable in Heroku's schema) until their releases appear, as the model-based test
 * injects it. Driven with the real `heroku-client`.
 */
import Heroku from "heroku-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HerokuStandIn } from "./heroku.js";

interface Target {
  status: "pending" | "succeeded" | "failed";
  release: { id: string } | null;
}

describe("HerokuStandIn promotionBehaviour.releaseDelayMs", () => {
  let heroku: HerokuStandIn;
  let client: Heroku;
  let ids: { pipeline: string; staging: string; production: string };

  beforeEach(async () => {
    heroku = new HerokuStandIn();
    await heroku.start();
    client = new Heroku({ token: "heroku-test-token", host: heroku.url });
    const pipeline = heroku.addPipeline("whitewave");
    const staging = heroku.addApp("whitewave-staging", pipeline.id, "staging");
    const production = heroku.addApp("whitewave", pipeline.id, "production");
    ids = { pipeline: pipeline.id, staging: staging.id, production: production.id };
    heroku.deploy(staging.id, "a".repeat(40));
  });

  afterEach(async () => {
    await heroku.close();
  });

  const promote = () =>
    client.post<{ id: string }>("/pipeline-promotions", {
      body: {
        pipeline: { id: ids.pipeline },
        source: { app: { id: ids.staging } },
        targets: [{ app: { id: ids.production } }],
      },
    });
  const targets = (id: string) => client.get<Target[]>(`/pipeline-promotions/${id}/promotion-targets`);

  it("keeps each target pending with release null, and the release out of the app's list, until it appears", async () => {
    heroku.promotionBehaviour.releaseDelayMs = 300;
    const promotion = await promote();
    for (let i = 0; i < 3; i++)
      expect(await targets(promotion.id)).toMatchObject([{ status: "pending", release: null }]);
    expect(heroku.releases(ids.production)).toHaveLength(0);

    await new Promise((r) => setTimeout(r, 350));
    const [appeared] = await targets(promotion.id);
    expect(appeared?.release?.id).toEqual(expect.any(String));
    expect(heroku.releases(ids.production).map((r) => r.status)).toEqual(["pending"]);
    // Then it settles as any promotion does (pollsUntilDone: 1).
    await targets(promotion.id);
    expect(await targets(promotion.id)).toMatchObject([{ status: "succeeded" }]);
    expect(heroku.currentRelease(ids.production)?.id).toBe(appeared?.release?.id);
  });

  it("settles by itself once the release appears when no polls are needed", async () => {
    heroku.promotionBehaviour = { pollsUntilDone: 0, failTargets: {}, releaseDelayMs: 100 };
    await promote();
    expect(heroku.promotions[0]?.status).toBe("pending");
    await new Promise((r) => setTimeout(r, 150));
    heroku.revealDueReleases();
    expect(heroku.promotions[0]?.status).toBe("completed");
    expect(heroku.currentRelease(ids.production)?.status).toBe("succeeded");
  });

  it("changes nothing by default: the release exists from the POST on", async () => {
    const promotion = await promote();
    expect((await targets(promotion.id))[0]?.release).not.toBeNull();
  });
});
