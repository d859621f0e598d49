/**
 * HerokuPort over heroku-client, pointed at HEROKU_API_URL.
 *
 * heroku-client never retries a 4xx (429 included) and exposes no response headers, so this adapter
 * reads Retry-After and RateLimit-Remaining through its middleware hook, retries 429/5xx/network
 * errors with backoff (never for a POST that may have reached Heroku: see createPromotion), and turns
 * Heroku's `{id, message}` errors into DomainErrors that say what to do.
 * https://devcenter.heroku.com/articles/platform-api-reference#rate-limits
 */
import type { IncomingMessage } from "node:http";
import Heroku, { type HerokuError, type HerokuRequestOptions } from "heroku-client";
import { z } from "zod";
import { DomainError } from "../../domain/errors.js";
import type { AppRelease, AppSettings, Coupling, HerokuPort, PromotionTarget, Release } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { parseRetryAfter, type RetryPolicy, realSleep, type Sleep, withRetry } from "../../infra/retry.js";
import { TtlCache } from "../../infra/ttl-cache.js";
import { herokuError } from "./heroku-errors.js";

const releaseSchema = z.object({
  id: z.string(),
  version: z.number(),
  status: z.enum(["pending", "succeeded", "failed", "expired"]),
  slug: z.object({ id: z.string() }).nullable().optional(),
  current: z.boolean(),
  created_at: z.string(),
  description: z.string().nullable().optional(),
  output_stream_url: z.string().nullable().optional(),
  // A read-only boolean of every release in the Platform API schema (heroku/platform-api schema.json,
  // `release.definitions.eligible_for_rollback`). Optional so that an answer without it still reads.
  eligible_for_rollback: z.boolean().optional(),
  updated_at: z.string().optional(),
  user: z.object({ email: z.string().nullable().optional() }).nullable().optional(),
});
const appReleaseSchema = releaseSchema.extend({ app: z.object({ id: z.string(), name: z.string() }) });
const pipelineSchema = z.object({ id: z.string(), name: z.string() });
const couplingSchema = z.object({ app: z.object({ id: z.string() }), stage: z.string() });
const appSchema = z.object({ id: z.string(), name: z.string() });
const appSettingsSchema = z.object({
  id: z.string(),
  name: z.string(),
  stack: z.object({ name: z.string() }).nullable().optional(),
  build_stack: z.object({ name: z.string() }).nullable().optional(),
  // Fir-generation apps (platform-api schema.json `app.generation`): a string in some answers, an
  // object with a name in others; both are read.
  generation: z
    .union([z.string(), z.object({ name: z.string() })])
    .nullable()
    .optional(),
});
const buildpackSchema = z.object({
  ordinal: z.number(),
  buildpack: z.object({ url: z.string(), name: z.string().nullable().optional() }),
});
const addonSchema = z.object({
  addon_service: z.object({ name: z.string() }),
  plan: z.object({ name: z.string() }),
});
const slugSchema = z.object({ id: z.string(), commit: z.string().nullable().optional() });
const promotionSchema = z.object({ id: z.string(), status: z.string() });
const targetSchema = z.object({
  app: z.object({ id: z.string() }),
  status: z.enum(["pending", "succeeded", "failed"]),
  error_message: z.string().nullable().optional(),
  release: z.object({ id: z.string() }).nullable().optional(),
});

function toRelease(r: z.infer<typeof releaseSchema>): Release {
  return {
    id: r.id,
    version: r.version,
    status: r.status,
    slugId: r.slug?.id ?? null,
    current: r.current,
    createdAt: r.created_at,
    description: r.description ?? "",
    outputStreamUrl: r.output_stream_url ?? null,
    // Without the field, the one cause Heroku documents decides: an expired release cannot be rolled
    // back to (changelog-items/3395).
    eligibleForRollback: r.eligible_for_rollback ?? r.status !== "expired",
    updatedAt: r.updated_at ?? r.created_at,
    madeBy: r.user?.email ?? null,
  };
}

export interface HerokuAdapterOptions {
  token: string;
  apiUrl: string;
  log: Logger;
  retry?: RetryPolicy;
  sleep?: Sleep;
  timeoutMs?: number;
  /** Timeout of POST /pipeline-promotions (a recovering process waits this long past an unrecorded POST). */
  postTimeoutMs?: number;
  /** Below this RateLimit-Remaining, calls are spaced out to let the pool refill. */
  lowRateLimit?: number;
}

interface CallMeta {
  retryAfterMs?: number;
}

export class HerokuAdapter implements HerokuPort {
  private readonly client: Heroku;
  private readonly retry: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly log: Logger;
  private readonly appNames = new Map<string, string>();
  /** A slug's commit never changes: cache it for a day. */
  private readonly slugCommits = new TtlCache<{ commit: string | null }>(86_400_000, 5_000);
  /** Last RateLimit-Remaining seen; undefined until a response arrives. */
  private remaining: number | undefined;
  /** Calls made (attempts included), for cost measurements. */
  calls = 0;

  constructor(private readonly options: HerokuAdapterOptions) {
    this.client = new Heroku({
      token: options.token,
      host: options.apiUrl,
      userAgent: "promote-bot",
      timeout: options.timeoutMs ?? 15_000,
    });
    this.retry = options.retry ?? { attempts: 5, baseMs: 1_000, maxMs: 30_000 };
    this.sleep = options.sleep ?? realSleep;
    this.log = options.log.child({ component: "heroku" });
  }

  private async call<T>(
    method: "get" | "post",
    path: string,
    schema: z.ZodType<T>,
    what: string,
    options: HerokuRequestOptions & { retry?: boolean } = {},
  ): Promise<T> {
    const attemptOnce = async (): Promise<T> => {
      await this.paceForRateLimit();
      const meta: CallMeta = {};
      this.calls += 1;
      try {
        const raw = await this.client[method]<unknown>(path, {
          ...options,
          middleware: (res: IncomingMessage, next: () => void) => {
            this.observe(res, meta);
            next();
          },
        });
        const parsed = schema.safeParse(raw);
        if (!parsed.success) {
          throw new DomainError(
            "HEROKU_UNAVAILABLE",
            `Heroku's answer was not the shape the bot expects while ${what}.`,
            {
              plain: true,
              details: { issues: parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".")}: ${i.message}`) },
            },
          );
        }
        return parsed.data;
      } catch (error) {
        if (error instanceof DomainError) throw error;
        throw herokuError(error as HerokuError, what, meta);
      }
    };
    if (options.retry === false) return attemptOnce();
    return withRetry(
      attemptOnce,
      (error) => {
        const retryable = error instanceof DomainError && error.retryable;
        const after = error instanceof DomainError ? error.retryAfterMs : undefined;
        return { retry: retryable, ...(after !== undefined ? { afterMs: after } : {}) };
      },
      this.retry,
      this.sleep,
      (error, attempt, delayMs) =>
        this.log.warn({ what, attempt, delayMs, code: (error as DomainError).code }, "retrying Heroku call"),
    );
  }

  rateLimitRemaining(): number | undefined {
    return this.remaining;
  }

  private observe(res: IncomingMessage, meta: CallMeta): void {
    const remaining = Number(res.headers["ratelimit-remaining"]);
    if (Number.isFinite(remaining)) this.remaining = remaining;
    const after = parseRetryAfter(res.headers["retry-after"] as string | undefined);
    if (after !== undefined) meta.retryAfterMs = after;
  }

  /** Heroku refills about 75 tokens a minute; when the pool runs low, wait for the refill instead of hitting 429. */
  private async paceForRateLimit(): Promise<void> {
    const low = this.options.lowRateLimit ?? 50;
    if (this.remaining !== undefined && this.remaining < low) {
      const waitMs = Math.min(5_000, Math.round(((low - this.remaining) * 60_000) / 75 / low));
      this.log.warn({ remaining: this.remaining, waitMs }, "Heroku rate limit is low; slowing down");
      await this.sleep(waitMs);
    }
  }

  async pipeline(idOrName: string): Promise<{ id: string; name: string }> {
    return this.call(
      "get",
      `/pipelines/${encodeURIComponent(idOrName)}`,
      pipelineSchema,
      `reading pipeline ${idOrName}`,
    );
  }

  async appName(appId: string): Promise<string> {
    const cached = this.appNames.get(appId);
    if (cached) return cached;
    const app = await this.call("get", `/apps/${encodeURIComponent(appId)}`, appSchema, `reading app ${appId}`);
    this.appNames.set(app.id, app.name);
    return app.name;
  }

  async couplings(pipelineId: string): Promise<Coupling[]> {
    const list = await this.call(
      "get",
      `/pipelines/${encodeURIComponent(pipelineId)}/pipeline-couplings`,
      z.array(couplingSchema),
      `reading couplings of pipeline ${pipelineId}`,
    );
    return Promise.all(
      list.map(async (c) => ({ app: { id: c.app.id, name: await this.appName(c.app.id) }, stage: c.stage })),
    );
  }

  async recentReleases(appId: string, max: number): Promise<Release[]> {
    // One page, newest first: heroku-client would otherwise follow Next-Range through the whole history.
    const releases = await this.call(
      "get",
      `/apps/${encodeURIComponent(appId)}/releases`,
      z.array(releaseSchema),
      `reading releases of app ${appId}`,
      { headers: { Range: `version ..; order=desc, max=${Math.max(1, Math.min(max, 1000))}` }, partial: true },
    );
    return releases.map(toRelease);
  }

  async currentRelease(appId: string): Promise<Release | undefined> {
    // The current release is among the latest few (pending or failed release-phase releases can be newer).
    return (await this.recentReleases(appId, 20)).find((r) => r.current);
  }

  async release(appId: string, releaseIdOrVersion: string | number): Promise<Release> {
    const r = await this.call(
      "get",
      `/apps/${encodeURIComponent(appId)}/releases/${encodeURIComponent(String(releaseIdOrVersion))}`,
      releaseSchema,
      `reading release ${releaseIdOrVersion} of app ${appId}`,
    );
    return toRelease(r);
  }

  async latestReleases(pipelineId: string): Promise<AppRelease[]> {
    const releases = await this.call(
      "get",
      `/pipelines/${encodeURIComponent(pipelineId)}/latest-releases`,
      z.array(appReleaseSchema),
      `reading the latest releases of pipeline ${pipelineId}`,
    );
    return releases.map((r) => {
      this.appNames.set(r.app.id, r.app.name);
      return { ...toRelease(r), app: { id: r.app.id, name: r.app.name } };
    });
  }

  async appSettings(appId: string): Promise<AppSettings> {
    const path = `/apps/${encodeURIComponent(appId)}`;
    const [app, configKeys, buildpacks, addons] = await Promise.all([
      this.call("get", path, appSettingsSchema, `reading app ${appId}`),
      this.configVarNames(appId),
      this.call(
        "get",
        `${path}/buildpack-installations`,
        z.array(buildpackSchema),
        `reading buildpacks of app ${appId}`,
      ),
      this.forbiddenAsNull(() =>
        this.call("get", `${path}/addons`, z.array(addonSchema), `reading add-ons of app ${appId}`),
      ),
    ]);
    this.appNames.set(app.id, app.name);
    return {
      app: { id: app.id, name: app.name },
      configKeys,
      buildpacks: [...buildpacks].sort((a, b) => a.ordinal - b.ordinal).map((b) => b.buildpack.name ?? b.buildpack.url),
      stack: app.build_stack?.name ?? app.stack?.name ?? null,
      addons:
        addons
          ?.map((a) => ({ service: a.addon_service.name, plan: a.plan.name }))
          .sort((x, y) => `${x.service}:${x.plan}`.localeCompare(`${y.service}:${y.plan}`)) ?? null,
      generation: typeof app.generation === "string" ? app.generation : (app.generation?.name ?? null),
    };
  }

  /**
   * The app's config var names. The values are dropped here, as soon as the answer is parsed: they are
   * never kept, logged or returned. A token that may not read them (403) gives null, not an error.
   */
  private async configVarNames(appId: string): Promise<string[] | null> {
    const vars = await this.forbiddenAsNull(() =>
      this.call(
        "get",
        `/apps/${encodeURIComponent(appId)}/config-vars`,
        z.record(z.string(), z.unknown()),
        `reading the config var names of app ${appId}`,
      ),
    );
    return vars ? Object.keys(vars).sort() : null;
  }

  /**
   * A read a token may be refused (403) without anything being wrong with the bot: a team member with
   * only the `view` permission cannot read config vars or list add-ons (Dev Center "App Permissions").
   */
  private async forbiddenAsNull<T>(read: () => Promise<T>): Promise<T | null> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof DomainError && error.code === "HEROKU_UNAUTHORIZED" && error.status === 403) return null;
      throw error;
    }
  }

  async slugCommit(appId: string, slugId: string): Promise<string | null> {
    const cached = await this.slugCommits.getOrLoad(slugId, async () => {
      const slug = await this.call(
        "get",
        `/apps/${encodeURIComponent(appId)}/slugs/${encodeURIComponent(slugId)}`,
        slugSchema,
        `reading slug ${slugId} of app ${appId}`,
      );
      return { commit: slug.commit ?? null };
    });
    return cached.commit;
  }

  async createPromotion(args: {
    pipelineId: string;
    sourceAppId: string;
    sourceReleaseId: string;
    targetAppIds: string[];
  }): Promise<{ id: string; status: string }> {
    // `source.release.id` (Heroku changelog 2025-09-25) promotes exactly the approved release, even if
    // staging has moved on.
    return this.postOnce(
      "/pipeline-promotions",
      {
        pipeline: { id: args.pipelineId },
        source: { app: { id: args.sourceAppId }, release: { id: args.sourceReleaseId } },
        targets: args.targetAppIds.map((id) => ({ app: { id } })),
      },
      promotionSchema,
      "creating the pipeline promotion",
    );
  }

  async rollback(appId: string, releaseId: string): Promise<Release> {
    // Heroku's rollback: a new release of the app with the earlier release's build and config.
    const release = await this.postOnce(
      `/apps/${encodeURIComponent(appId)}/releases`,
      { release: releaseId },
      releaseSchema,
      `rolling back app ${appId}`,
    );
    return toRelease(release);
  }

  /**
   * A POST that changes production. It does not go through heroku-client, which retries any request
   * after a connection error (POST included) and could act twice. Only a 429 (Heroku did not act) is
   * retried here; after a 5xx or a dropped connection the change may have happened, so the caller
   * asks Heroku what the target apps run before trying again.
   */
  private async postOnce<T>(path: string, payload: unknown, schema: z.ZodType<T>, what: string): Promise<T> {
    const body = JSON.stringify(payload);
    return withRetry(
      async () => {
        await this.paceForRateLimit();
        this.calls += 1;
        let response: Response;
        try {
          response = await fetch(`${this.options.apiUrl}${path}`, {
            method: "POST",
            headers: {
              Accept: "application/vnd.heroku+json; version=3",
              "Content-Type": "application/json",
              Authorization: `Bearer ${this.options.token}`,
              "User-Agent": "promote-bot",
            },
            body,
            signal: AbortSignal.timeout(this.options.postTimeoutMs ?? 15_000),
          });
        } catch (error) {
          throw herokuError(error as HerokuError, what, {});
        }
        if (response.headers.has("ratelimit-remaining")) {
          const remaining = Number(response.headers.get("ratelimit-remaining"));
          if (Number.isFinite(remaining)) this.remaining = remaining;
        }
        const text = await response.text();
        let parsedBody: unknown;
        try {
          parsedBody = text ? JSON.parse(text) : {};
        } catch {
          parsedBody = text;
        }
        if (!response.ok) {
          const error: HerokuError = Object.assign(new Error(`Heroku answered ${response.status}`), {
            statusCode: response.status,
            body: parsedBody,
          });
          const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
          throw herokuError(error, what, retryAfterMs !== undefined ? { retryAfterMs } : {});
        }
        const parsed = schema.safeParse(parsedBody);
        // A 2xx means Heroku acted: an answer that cannot be read leaves open what it did, so it is
        // retryable (the caller looks for the trace before anything else), never a refusal.
        if (!parsed.success)
          throw new DomainError(
            "HEROKU_UNAVAILABLE",
            `Heroku answered ${response.status} while ${what}, but not in the shape the bot expects.`,
            { status: response.status, retryable: true, plain: true, details: { what } },
          );
        return parsed.data;
      },
      (error) => {
        const isRateLimit = error instanceof DomainError && error.status === 429;
        const after = isRateLimit ? error.retryAfterMs : undefined;
        return { retry: isRateLimit, ...(after !== undefined ? { afterMs: after } : {}) };
      },
      this.retry,
      this.sleep,
    );
  }

  async promotionTargets(promotionId: string): Promise<PromotionTarget[]> {
    const list = await this.call(
      "get",
      `/pipeline-promotions/${encodeURIComponent(promotionId)}/promotion-targets`,
      z.array(targetSchema),
      `reading targets of promotion ${promotionId}`,
    );
    return list.map((t) => ({
      appId: t.app.id,
      status: t.status,
      errorMessage: t.error_message ?? null,
      releaseId: t.release?.id ?? null,
    }));
  }

  async releaseOutputTail(url: string, lines: number): Promise<string | null> {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) return null;
      const text = await response.text();
      const tail = text.replace(/\s+$/, "").split("\n").slice(-lines).join("\n");
      return tail || null;
    } catch (error) {
      this.log.warn({ err: error }, "could not read the release-phase output");
      return null;
    }
  }
}
