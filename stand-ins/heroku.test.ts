/**
 * Drives the Heroku stand-in with the real `heroku-client`, so the stand-in is checked against
 * the client the bot uses (Basic auth `:token`, default `Range: id ..; max=1000`, Next-Range
 * following, errors as `{ statusCode, body }`).
 */
import type { IncomingMessage } from "node:http";
import Heroku, { type HerokuError } from "heroku-client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HerokuRelease, HerokuStandIn } from "./heroku.js";

/** What a Heroku API error looks like once heroku-client has rejected with it. */
interface HerokuClientError extends HerokuError {
  statusCode: number;
  body: { id: string; message: string; resource?: string };
}

interface Promotion {
  id: string;
  status: "pending" | "completed";
  source: { app: { id: string }; release: { id: string } };
}
interface PromotionTarget {
  app: { id: string };
  status: "pending" | "succeeded" | "failed";
  error_message: string | null;
  release: { id: string } | null;
}

async function rejection(promise: Promise<unknown>): Promise<HerokuClientError> {
  try {
    await promise;
  } catch (error) {
    return error as HerokuClientError;
  }
  throw new Error("expected the request to fail");
}

describe("HerokuStandIn", () => {
  let heroku: HerokuStandIn;
  let client: Heroku;
  let responses: IncomingMessage[];
  let pipeline: { id: string; name: string };
  let staging: { id: string; name: string };
  let production: { id: string; name: string };

  beforeEach(async () => {
    heroku = new HerokuStandIn();
    await heroku.start();
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
  });

  it("rejects a token it does not know with 401 unauthorized", async () => {
    const stranger = new Heroku({ token: "someone-elses-token", host: heroku.url });
    const error = await rejection(stranger.get("/apps/whitewave"));
    expect(error.statusCode).toBe(401);
    expect(error.body).toEqual({ id: "unauthorized", message: "Invalid credentials provided." });

    const bearer = await fetch(`${heroku.url}/apps/whitewave`, {
      headers: { Authorization: "Bearer heroku-test-token", Accept: "application/vnd.heroku+json; version=3" },
    });
    expect(bearer.status).toBe(200);
    const anonymous = await fetch(`${heroku.url}/apps/whitewave`);
    expect(anonymous.status).toBe(401);
  });

  it("describes the pipeline, its couplings and apps as the Platform API does", async () => {
    const byName = await client.get<{ id: string; name: string }>("/pipelines/whitewave");
    expect(byName).toMatchObject({ id: pipeline.id, name: "whitewave" });

    const couplings = await client.get<Array<{ app: { id: string }; stage: string; pipeline: { id: string } }>>(
      `/pipelines/${pipeline.id}/pipeline-couplings`,
    );
    expect(couplings.map((c) => [c.app.id, c.stage]).sort()).toEqual(
      [
        [staging.id, "staging"],
        [production.id, "production"],
      ].sort(),
    );
    expect(couplings.every((c) => c.pipeline.id === pipeline.id)).toBe(true);

    const app = await client.get<{ id: string; name: string; stack: { name: string } }>(`/apps/${production.id}`);
    expect(app).toMatchObject({ id: production.id, name: "whitewave", stack: { name: "heroku-24" } });

    const missing = await rejection(client.get("/apps/no-such-app"));
    expect(missing.statusCode).toBe(404);
    expect(missing.body).toMatchObject({ id: "not_found", resource: "app" });
  });

  it("pages releases: Range desc max=1 with partial:true returns only the newest", async () => {
    heroku.deploy(staging.name, "1111111aaaaaaa");
    heroku.deploy(staging.name, "2222222bbbbbbb");
    const newest = heroku.deploy(staging.name, "3333333ccccccc");

    const latest = await client.get<HerokuRelease[]>(`/apps/${staging.name}/releases`, {
      partial: true,
      headers: { Range: "version ..; order=desc, max=1" },
    });
    expect(latest).toHaveLength(1);
    expect(latest[0]).toMatchObject({ id: newest.id, version: 3, current: true, status: "succeeded" });
    expect(heroku.calls.at(-1)?.headers.range).toBe("version ..; order=desc, max=1");
    expect(responses.at(-1)?.statusCode).toBe(206);
    expect(responses.at(-1)?.headers["next-range"]).toBe("version ]3..; order=desc, max=1");

    // Without partial, heroku-client follows every Next-Range and concatenates the pages.
    const followed = await client.get<HerokuRelease[]>(`/apps/${staging.name}/releases`, {
      headers: { Range: "version ..; order=desc, max=1" },
    });
    expect(followed.map((r) => r.version)).toEqual([3, 2, 1]);
    expect(responses.slice(-3).map((r) => r.statusCode)).toEqual([206, 206, 200]);

    // heroku-client's default Range (`id ..; max=1000`) lists everything in version order.
    const all = await client.get<HerokuRelease[]>(`/apps/${staging.name}/releases`);
    expect(all.map((r) => r.version)).toEqual([1, 2, 3]);
    expect(heroku.calls.at(-1)?.headers.range).toBe("id ..; max=1000");
    expect(responses.at(-1)?.statusCode).toBe(200);
  });

  it("refuses malformed Range headers as the Platform API does", async () => {
    heroku.deploy(staging.name, "1111111aaaaaaa");
    const semicolons = await rejection(
      client.get(`/apps/${staging.name}/releases`, { headers: { Range: "version ..; max=10; order=desc" } }),
    );
    expect(semicolons.statusCode).toBe(400);
    expect(semicolons.body.id).toBe("bad_request");

    const field = await rejection(
      client.get(`/apps/${staging.name}/releases`, { headers: { Range: "name ..; max=1" } }),
    );
    expect(field.statusCode).toBe(416);
    expect(field.body.id).toBe("requested_range_not_satisfiable");
  });

  it("serves a release by id or version and the commit of its slug", async () => {
    const release = heroku.deploy(staging.name, "0f0a53b9c1d2e3f4", { commitDescription: "fix the thing" });
    const byVersion = await client.get<HerokuRelease>(`/apps/${staging.name}/releases/1`);
    const byId = await client.get<HerokuRelease>(`/apps/${staging.id}/releases/${release.id}`);
    expect(byVersion).toEqual(byId);
    expect(byId.description).toBe("Deploy 0f0a53b");

    const slugId = byId.slug?.id ?? "";
    const slug = await client.get<{ id: string; commit: string; commit_description: string }>(
      `/apps/${staging.name}/slugs/${slugId}`,
    );
    expect(slug).toMatchObject({ id: slugId, commit: "0f0a53b9c1d2e3f4", commit_description: "fix the thing" });
    expect(heroku.slugCommit(slugId)).toBe("0f0a53b9c1d2e3f4");
  });

  it("runs a promotion: pending for the configured polls, then a release of the same slug on the target", async () => {
    const promoted = heroku.deploy(staging.name, "0f0a53b9c1d2e3f4");
    heroku.promotionBehaviour.pollsUntilDone = 2;

    const created = await client.post<Promotion>("/pipeline-promotions", {
      body: {
        pipeline: { id: pipeline.id },
        source: { app: { id: staging.id } },
        targets: [{ app: { id: production.id } }],
      },
    });
    expect(responses.at(-1)?.statusCode).toBe(201);
    expect(created).toMatchObject({
      status: "pending",
      source: { app: { id: staging.id }, release: { id: promoted.id } },
    });

    const targetsPath = `/pipeline-promotions/${created.id}/promotion-targets`;
    for (let poll = 0; poll < 2; poll++) {
      const pending = await client.get<PromotionTarget[]>(targetsPath);
      expect(pending).toEqual([
        expect.objectContaining({ status: "pending", release: { id: expect.any(String) }, error_message: null }),
      ]);
      // The target's new release exists while its release phase runs, pending and not current.
      const release = heroku.releases(production.name).find((r) => r.id === pending[0]?.release?.id);
      expect(release).toMatchObject({ status: "pending", current: false, slug: promoted.slug });
    }
    const [target] = await client.get<PromotionTarget[]>(targetsPath);
    expect(target).toMatchObject({ app: { id: production.id }, status: "succeeded", error_message: null });

    const promotion = await client.get<Promotion>(`/pipeline-promotions/${created.id}`);
    expect(promotion.status).toBe("completed");

    const current = heroku.currentRelease(production.name);
    expect(current?.id).toBe(target?.release?.id);
    expect(current).toMatchObject({
      status: "succeeded",
      slug: promoted.slug,
      description: "Promote whitewave-staging v1 0f0a53b",
    });
  });

  it("with settleAfterMs, settles a promotion on its own after that long, with nobody polling", async () => {
    heroku.deploy(staging.name, "1a2b3c4d5e6f7a8b");
    heroku.promotionBehaviour = { pollsUntilDone: 10_000, failTargets: {}, settleAfterMs: 150 };
    const created = await client.post<Promotion>("/pipeline-promotions", {
      body: {
        pipeline: { id: pipeline.id },
        source: { app: { id: staging.id } },
        targets: [{ app: { id: production.id } }],
      },
    });
    expect(heroku.promotions.find((p) => p.id === created.id)?.status).toBe("pending");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heroku.promotions.find((p) => p.id === created.id)?.status).toBe("completed");
    expect(heroku.currentRelease(production.name)?.status).toBe("succeeded");
  });

  it("with releaseDelayMs, keeps a promotion's targets pending with release: null, and no release on the app, until the delay passed", async () => {
    const promoted = heroku.deploy(staging.name, "0f0a53b9c1d2e3f4");
    heroku.promotionBehaviour.pollsUntilDone = 0;
    heroku.promotionBehaviour.releaseDelayMs = 200;
    const before = heroku.releases(production.name).length;
    const created = await client.post<Promotion>("/pipeline-promotions", {
      body: {
        pipeline: { id: pipeline.id },
        source: { app: { id: staging.id } },
        targets: [{ app: { id: production.id } }],
      },
    });
    const targetsPath = `/pipeline-promotions/${created.id}/promotion-targets`;
    const early = await client.get<PromotionTarget[]>(targetsPath);
    expect(early).toEqual([expect.objectContaining({ status: "pending", release: null })]);
    expect(await client.get<unknown[]>(`/apps/${production.id}/releases`)).toHaveLength(before);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const [target] = await client.get<PromotionTarget[]>(targetsPath);
    expect(target).toMatchObject({ status: "succeeded", release: { id: expect.any(String) } });
    expect(heroku.currentRelease(production.name)?.slug).toEqual(promoted.slug);
  });

  it("reports a failed release phase: target failed, release failed and not current, output streamed", async () => {
    const before = heroku.deploy(production.name, "aaaaaaa1111111");
    heroku.deploy(staging.name, "bbbbbbb2222222");
    heroku.promotionBehaviour = {
      pollsUntilDone: 0,
      failTargets: { whitewave: { error_message: "release command failed", output: "Running migrations...\nboom\n" } },
    };

    const created = await client.post<Promotion>("/pipeline-promotions", {
      body: {
        pipeline: { id: pipeline.id },
        source: { app: { id: staging.id } },
        targets: [{ app: { id: production.id } }],
      },
    });
    expect(created.status).toBe("completed");

    const [target] = await client.get<PromotionTarget[]>(`/pipeline-promotions/${created.id}/promotion-targets`);
    expect(target).toMatchObject({ status: "failed", error_message: "release command failed" });

    const failed = await client.get<HerokuRelease>(`/apps/${production.name}/releases/${target?.release?.id}`);
    expect(failed).toMatchObject({ status: "failed", current: false, version: 2 });
    expect(failed.output_stream_url).toBe(`${heroku.url}/streams/${failed.id}`);
    const stream = await fetch(failed.output_stream_url ?? "");
    expect(stream.headers.get("content-type")).toContain("text/plain");
    expect(await stream.text()).toBe("Running migrations...\nboom\n");

    expect(heroku.currentRelease(production.name)?.id).toBe(before.id);
  });

  it("promotes a chosen release, and refuses expired or foreign ones with 422 invalid_params", async () => {
    const older = heroku.deploy(staging.name, "aaaaaaa1111111");
    heroku.deploy(staging.name, "bbbbbbb2222222");
    const foreign = heroku.deploy(production.name, "ccccccc3333333");
    heroku.promotionBehaviour.pollsUntilDone = 0;
    const promote = (releaseId: string) =>
      client.post<Promotion>("/pipeline-promotions", {
        body: {
          pipeline: { id: pipeline.id },
          source: { app: { id: staging.id }, release: { id: releaseId } },
          targets: [{ app: { id: production.id } }],
        },
      });

    const chosen = await promote(older.id);
    expect(chosen.source.release.id).toBe(older.id);
    expect(heroku.currentRelease(production.name)?.slug).toEqual(older.slug);

    const notOurs = await rejection(promote(foreign.id));
    expect(notOurs.statusCode).toBe(422);
    expect(notOurs.body.id).toBe("invalid_params");

    heroku.expireRelease(older.id);
    const expired = await rejection(promote(older.id));
    expect(expired.statusCode).toBe(422);
    expect(expired.body.id).toBe("invalid_params");
    expect(heroku.promotions).toHaveLength(1);

    const unknownPipeline = await rejection(
      client.post("/pipeline-promotions", {
        body: {
          pipeline: { id: "00000000-0000-0000-0000-000000000000" },
          source: { app: { id: staging.id } },
          targets: [{ app: { id: production.id } }],
        },
      }),
    );
    expect(unknownPipeline.statusCode).toBe(404);
    expect(unknownPipeline.body.id).toBe("not_found");
  });

  it("rolls back by creating a release of the old slug, but not to an expired release", async () => {
    const good = heroku.deploy(production.name, "aaaaaaa1111111");
    const middle = heroku.deploy(production.name, "bbbbbbb2222222");
    heroku.deploy(production.name, "ccccccc3333333");

    const rollback = await client.post<HerokuRelease>(`/apps/${production.name}/releases`, {
      body: { release: good.id },
    });
    expect(responses.at(-1)?.statusCode).toBe(201);
    expect(rollback).toMatchObject({ version: 4, current: true, slug: good.slug, description: "Rollback to v1" });

    heroku.expireRelease(middle.id);
    const refused = await rejection(client.post(`/apps/${production.name}/releases`, { body: { release: middle.id } }));
    expect(refused.statusCode).toBe(422);
    expect(heroku.currentRelease(production.name)?.id).toBe(rollback.id);
  });

  it("says in eligible_for_rollback which releases can be rolled back to, and refuses a rollback to one that cannot", async () => {
    const old = heroku.deploy(production.name, "aaaaaaa1111111");
    const ineligible = heroku.deploy(production.name, "bbbbbbb2222222");
    const expired = heroku.deploy(production.name, "ccccccc3333333");
    heroku.deploy(production.name, "ddddddd4444444");
    heroku.expireRelease(expired.id);
    heroku.markIneligibleForRollback(ineligible.id);

    const listed = await client.get<HerokuRelease[]>(`/apps/${production.name}/releases`);
    const eligibility = Object.fromEntries(listed.map((r) => [r.id, r.eligible_for_rollback]));
    expect(eligibility[old.id]).toBe(true);
    expect(eligibility[ineligible.id]).toBe(false);
    expect(eligibility[expired.id]).toBe(false);
    expect(
      (await client.get<HerokuRelease>(`/apps/${production.name}/releases/${ineligible.id}`)).eligible_for_rollback,
    ).toBe(false);

    const current = heroku.currentRelease(production.name)?.id;
    for (const target of [ineligible, expired]) {
      const refused = await rejection(
        client.post(`/apps/${production.name}/releases`, { body: { release: target.id } }),
      );
      expect(refused.statusCode).toBe(422);
      expect(refused.body.id).toBe("invalid_params");
    }
    expect(heroku.currentRelease(production.name)?.id).toBe(current);
    await client.post(`/apps/${production.name}/releases`, { body: { release: old.id } });
    expect(heroku.currentRelease(production.name)?.slug).toEqual(old.slug);
  });

  it("injects a 429 with Retry-After, which heroku-client does not retry", async () => {
    heroku.fault({
      method: "GET",
      path: `/apps/${production.name}`,
      response: {
        status: 429,
        headers: { "Retry-After": "7" },
        body: { id: "rate_limit", message: "Your account reached the API rate limit" },
      },
    });
    const error = await rejection(client.get(`/apps/${production.name}`));
    expect(error.statusCode).toBe(429);
    expect(error.body.id).toBe("rate_limit");
    // The error carries no headers: only a middleware (or logger) sees Retry-After.
    expect(responses.at(-1)?.headers["retry-after"]).toBe("7");
    expect(responses.at(-1)?.headers["ratelimit-remaining"]).toBeDefined();
    expect(heroku.callsTo("GET", `/apps/${production.name}`)).toHaveLength(1);

    await expect(client.get(`/apps/${production.name}`)).resolves.toMatchObject({ name: "whitewave" });
  });

  it("counts down RateLimit-Remaining and answers 429 when the pool is empty", async () => {
    heroku.rateLimitRemaining = 2;
    await client.get(`/apps/${production.name}`);
    expect(responses.at(-1)?.headers["ratelimit-remaining"]).toBe("1");
    expect(responses.at(-1)?.headers["request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    await client.get(`/apps/${production.name}`);
    expect(responses.at(-1)?.headers["ratelimit-remaining"]).toBe("0");
    const error = await rejection(client.get(`/apps/${production.name}`));
    expect(error.statusCode).toBe(429);
    expect(error.body.id).toBe("rate_limit");
    expect(responses.at(-1)?.headers["ratelimit-remaining"]).toBe("0");
  });

  it("answers 403 two_factor to every call when the account requires a second factor", async () => {
    heroku.requireTwoFactor = true;
    const error = await rejection(client.get(`/pipelines/${pipeline.id}`));
    expect(error.statusCode).toBe(403);
    expect(error.body.id).toBe("two_factor");
  });

  it("answers unknown endpoints with 404 not_found", async () => {
    const error = await rejection(client.get("/no/such/endpoint"));
    expect(error.statusCode).toBe(404);
    expect(error.body.id).toBe("not_found");
    expect(responses.at(-1)?.headers["ratelimit-remaining"]).toBeDefined();
  });
});
