/**
 * GitLabPort over @gitbeaker/rest, pointed at GITLAB_URL.
 *
 * gitbeaker retries 429 and 502 by itself (10 tries, a few milliseconds apart, ignoring Retry-After)
 * and nothing else, so this adapter adds bounded backoff for 5xx, timeouts and network errors and
 * turns failures into DomainErrors that say what to do.
 */
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError, Gitlab } from "@gitbeaker/rest";
import { z } from "zod";
import { DomainError } from "../../domain/errors.js";
import type { CiJob, CiPipeline, CommitInfo, GitLabPort, GitLabProjectInfo } from "../../domain/ports.js";
import type { Logger } from "../../infra/logger.js";
import { type RetryPolicy, realSleep, type Sleep, withRetry } from "../../infra/retry.js";
import { TtlCache } from "../../infra/ttl-cache.js";

const projectSchema = z.object({
  id: z.number(),
  path_with_namespace: z.string(),
  default_branch: z.string().nullable().optional(),
  web_url: z.string(),
});
const pipelineSchema = z.object({
  id: z.number(),
  status: z.string(),
  ref: z.string(),
  sha: z.string(),
  web_url: z.string(),
});
const commitSchema = z.object({
  id: z.string(),
  title: z.string(),
  author_name: z.string().nullable().optional(),
  web_url: z.string().nullable().optional(),
});
const jobSchema = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string(),
  pipeline: z.object({ id: z.number() }),
  web_url: z.string(),
  duration: z.number().nullable().optional(),
  failure_reason: z.string().nullable().optional(),
});

function toJob(j: z.infer<typeof jobSchema>): CiJob {
  return {
    id: j.id,
    name: j.name,
    status: j.status,
    pipelineId: j.pipeline.id,
    webUrl: j.web_url,
    durationS: j.duration ?? null,
    failureReason: j.failure_reason ?? null,
  };
}

const compareSchema = z.object({
  commits: z.array(commitSchema),
  web_url: z.string().nullable().optional(),
});

export interface GitLabAdapterOptions {
  token: string;
  url: string;
  log: Logger;
  retry?: RetryPolicy;
  sleep?: Sleep;
  timeoutMs?: number;
}

function statusOf(error: GitbeakerRequestError): number | undefined {
  return (error.cause as { response?: Response } | undefined)?.response?.status;
}

function toCommit(c: z.infer<typeof commitSchema>): CommitInfo {
  return { sha: c.id, title: c.title, authorName: c.author_name ?? "unknown", webUrl: c.web_url ?? null };
}

export class GitLabAdapter implements GitLabPort {
  private readonly api: InstanceType<typeof Gitlab>;
  private readonly retry: RetryPolicy;
  private readonly sleep: Sleep;
  private readonly log: Logger;
  private readonly projects = new Map<string, { at: number; project: GitLabProjectInfo }>();
  /** Commits are immutable, so a comparison of two SHAs is too. */
  private readonly comparisons = new TtlCache<{ commits: CommitInfo[]; webUrl: string }>(3_600_000, 500);
  calls = 0;

  constructor(options: GitLabAdapterOptions) {
    this.api = new Gitlab({ host: options.url, token: options.token, queryTimeout: options.timeoutMs ?? 15_000 });
    this.retry = options.retry ?? { attempts: 4, baseMs: 1_000, maxMs: 20_000 };
    this.sleep = options.sleep ?? realSleep;
    this.log = options.log.child({ component: "gitlab" });
  }

  private async call<T>(what: string, schema: z.ZodType<T>, operation: () => Promise<unknown>): Promise<T> {
    return withRetry(
      async () => {
        this.calls += 1;
        let raw: unknown;
        try {
          raw = await operation();
        } catch (error) {
          throw this.translate(error, what);
        }
        const parsed = schema.safeParse(raw);
        if (!parsed.success) {
          throw new DomainError("GITLAB_UNAVAILABLE", `GitLab answered ${what} with an unexpected body.`, {
            plain: true,
          });
        }
        return parsed.data;
      },
      (error) => ({ retry: error instanceof DomainError && error.retryable }),
      this.retry,
      this.sleep,
      (error, attempt, delayMs) =>
        this.log.warn({ what, attempt, delayMs, code: (error as DomainError).code }, "retrying GitLab call"),
    );
  }

  private translate(error: unknown, what: string): DomainError {
    if (error instanceof GitbeakerRequestError) {
      const cause = error.cause as { response?: Response; description?: string } | undefined;
      const status = statusOf(error);
      const description = cause?.description || error.message;
      if (status === 401 || status === 403) {
        return new DomainError(
          "GITLAB_UNAUTHORIZED",
          `GitLab refused the bot's token while ${what} (${status}). Check that GITLAB_TOKEN is valid, has the api scope and can see the project.`,
          { status, plain: true },
        );
      }
      if (status === 404) {
        return new DomainError("GITLAB_NOT_FOUND", `GitLab found no ${what.replace(/^reading /, "")} (404).`, {
          status,
          plain: true,
        });
      }
      if (status !== undefined && status >= 500) {
        return new DomainError("GITLAB_UNAVAILABLE", `GitLab answered ${status} while ${what}.`, {
          status,
          retryable: true,
          plain: true,
        });
      }
      return new DomainError(
        "GITLAB_UNAVAILABLE",
        `GitLab refused ${what} (${status ?? "?"}): ${String(description).slice(0, 500)}`,
        { status, plain: true },
      );
    }
    if (error instanceof GitbeakerRetryError) {
      return new DomainError("GITLAB_UNAVAILABLE", `GitLab kept rate limiting or failing while ${what}.`, {
        retryable: true,
        plain: true,
      });
    }
    if (error instanceof GitbeakerTimeoutError) {
      return new DomainError("GITLAB_UNAVAILABLE", `GitLab did not answer in time while ${what}.`, {
        retryable: true,
        plain: true,
      });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new DomainError("GITLAB_UNAVAILABLE", `GitLab could not be reached while ${what} (${message}).`, {
      retryable: true,
      plain: true,
    });
  }

  async project(ref: string | number): Promise<GitLabProjectInfo> {
    const key = String(ref);
    const cached = this.projects.get(key);
    // Project metadata (default branch, web URL) rarely changes; a short cache saves a call per event.
    if (cached && Date.now() - cached.at < 5 * 60_000) return cached.project;
    const p = await this.call(`reading project ${ref}`, projectSchema, () => this.api.Projects.show(ref));
    const project = {
      id: p.id,
      pathWithNamespace: p.path_with_namespace,
      defaultBranch: p.default_branch ?? "main",
      webUrl: p.web_url,
    };
    this.projects.set(key, { at: Date.now(), project });
    return project;
  }

  async pipelinesForCommit(project: string | number, sha: string, ref: string): Promise<CiPipeline[]> {
    const list = await this.call(
      `reading pipelines of ${project} for ${sha.slice(0, 8)}`,
      z.array(pipelineSchema),
      () => this.api.Pipelines.all(project, { sha, ref, orderBy: "id", sort: "desc", perPage: 20, maxPages: 1 }),
    );
    return list.map((p) => ({ id: p.id, status: p.status, ref: p.ref, sha: p.sha, webUrl: p.web_url }));
  }

  /** The project's webhooks (doctor): URL and which events each sends. */
  async projectHooks(
    project: string | number,
  ): Promise<Array<{ url: string; pipelineEvents: boolean; jobEvents: boolean; enabled: boolean }>> {
    const hookSchema = z.object({
      url: z.string(),
      pipeline_events: z.boolean().optional(),
      job_events: z.boolean().optional(),
      disabled_until: z.string().nullable().optional(),
      alert_status: z.string().nullable().optional(),
    });
    const hooks = await this.call(`reading the webhooks of ${project}`, z.array(hookSchema), () =>
      this.api.ProjectHooks.all(project),
    );
    return hooks.map((h) => ({
      url: h.url,
      pipelineEvents: h.pipeline_events === true,
      jobEvents: h.job_events === true,
      enabled: !h.disabled_until && h.alert_status !== "disabled",
    }));
  }

  async successfulPipelines(project: string | number, ref: string, max: number): Promise<CiPipeline[]> {
    const list = await this.call(`reading successful pipelines of ${project} on ${ref}`, z.array(pipelineSchema), () =>
      this.api.Pipelines.all(project, {
        ref,
        status: "success",
        orderBy: "id",
        sort: "desc",
        perPage: max,
        maxPages: 1,
      }),
    );
    return list.map((p) => ({ id: p.id, status: p.status, ref: p.ref, sha: p.sha, webUrl: p.web_url }));
  }

  async pipelineJobs(project: string | number, pipelineId: number): Promise<CiJob[]> {
    const list = await this.call(`reading the jobs of pipeline #${pipelineId}`, z.array(jobSchema), () =>
      this.api.Jobs.all(project, { pipelineId, perPage: 100, maxPages: 5 }),
    );
    return list.map(toJob);
  }

  async job(project: string | number, jobId: number): Promise<CiJob> {
    return toJob(await this.call(`reading job #${jobId}`, jobSchema, () => this.api.Jobs.show(project, jobId)));
  }

  async playJob(project: string | number, jobId: number): Promise<CiJob> {
    // Not retried here (gitbeaker itself repeats a 429/502): the caller re-reads the job before any
    // second attempt, since playing a finished manual job would deploy again.
    this.calls += 1;
    let raw: unknown;
    try {
      raw = await this.api.Jobs.play(project, jobId);
    } catch (error) {
      // A valid token gets 403 here from GitLab's permission check on the job itself (`authorize!(:play_job)`
      // in lib/api/ci/jobs.rb, before the job is touched): its branch is protected and the token's user may
      // not merge to it, or its environment is protected and the user is not among those who may deploy.
      if (error instanceof GitbeakerRequestError && statusOf(error) === 403) {
        throw new DomainError(
          "GITLAB_FORBIDDEN",
          `GitLab did not let the bot play job #${jobId} (403), so nothing was deployed: the job deploys to a protected environment, or runs on a protected branch, that the bot's GitLab user (the owner of GITLAB_TOKEN) may not deploy to. Give that user deploy access to the environment (Settings → CI/CD → Protected environments) or the right to merge to the branch (Settings → Repository → Protected branches), then ask again.`,
          { status: 403, plain: true },
        );
      }
      throw this.translate(error, `playing job #${jobId}`);
    }
    const parsed = jobSchema.safeParse(raw);
    if (!parsed.success) {
      throw new DomainError("GITLAB_UNAVAILABLE", `GitLab answered playing job #${jobId} with an unexpected body.`, {
        plain: true,
      });
    }
    return toJob(parsed.data);
  }

  async compare(
    project: string | number,
    from: string,
    to: string,
  ): Promise<{ commits: CommitInfo[]; webUrl: string }> {
    return this.comparisons.getOrLoad(`${project}:${from}:${to}`, () => this.compareUncached(project, from, to));
  }

  private async compareUncached(
    project: string | number,
    from: string,
    to: string,
  ): Promise<{ commits: CommitInfo[]; webUrl: string }> {
    const result = await this.call(
      `comparing ${from.slice(0, 8)}...${to.slice(0, 8)} in ${project}`,
      compareSchema,
      () => this.api.Repositories.compare(project, from, to),
    );
    const info = await this.project(project);
    return {
      commits: result.commits.map(toCommit),
      webUrl: result.web_url ?? `${info.webUrl}/-/compare/${from}...${to}`,
    };
  }

  async commit(project: string | number, sha: string): Promise<CommitInfo> {
    const c = await this.call(`reading commit ${sha.slice(0, 8)} of ${project}`, commitSchema, () =>
      this.api.Commits.show(project, sha),
    );
    return toCommit(c);
  }
}
