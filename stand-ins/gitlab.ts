/**
 * A loopback stand-in for the parts of GitLab's REST API v4 promote-bot uses, faithful enough to drive
 * the real `@gitbeaker/rest` client, plus GitLab's side of webhooks (project hooks, deliveries,
 * auto-disabling of failing hooks).
 *
 * Behaviour copied from GitLab (its API docs and the Grape API / model source):
 * - Auth: `PRIVATE-TOKEN` or `Authorization: Bearer`; anything else answers 401 `{"message":"401 Unauthorized"}`.
 * - Project ids are numeric or the URL-encoded path (`acme%2Fwhitewave`); an unknown project answers
 *   404 `{"message":"404 Project Not Found"}`.
 * - Offset pagination: `page`, `per_page` (default 20, max 100), headers `x-page`, `x-per-page`, `x-total`,
 *   `x-total-pages`, `x-next-page`, `x-prev-page` and `link` (rel prev/next/first/last). gitbeaker follows
 *   `link rel="next"` until the end unless the caller passes `page` (or `maxPages`).
 * - Pipeline status is GitLab's composite of its latest jobs (`Gitlab::Ci::Status::Composite`): a failed job
 *   with `allow_failure` counts as "success with warnings", a manual job with `allow_failure` is ignored.
 *   Changing a job recomputes it; `setPipelineStatus` overrides it until the next job change.
 * - `POST .../jobs/:id/play` (`Ci::Build#playable?`): a `when: manual|delayed` job in status manual or
 *   scheduled goes to pending (user = the token's user); a finished (success/failed/canceled) manual job is
 *   retried: a new pending job is created, the old one is marked retried and, as GitLab's API does, the
 *   OLD job is returned. Anything else answers 400 `{"message":"400 Bad request - Unplayable Job"}`.
 *   Before that, a job on a branch the token's user may not push or merge to, or deploying to a protected
 *   environment the user may not deploy to, answers 403 `{"message":"403 Forbidden"}` (`protectBranch`,
 *   `protectEnvironment`). Protected tags are not modelled.
 * - The pipelines list leaves child pipelines (`source: parent_pipeline`) out unless `source=parent_pipeline`
 *   or `iids[]` is given (`Ci::PipelinesFinder`); their Pipeline Hooks carry `source_pipeline`.
 * - Compare (`straight=false`): commits reachable from `to` and not from `from`, oldest first; `commit`
 *   is the newest of them (null when there are none).
 */
import { createHash, randomUUID } from "node:crypto";
import {
  BLANK_SHA,
  deploymentHook,
  type GitLabDelivery,
  guessTier,
  type JobHookBody,
  jobHook,
  type PipelineHookBody,
  pipelineHook,
  STAND_IN_RUNNER,
} from "./gitlab-events.js";
import { HttpStandIn, type StandInRequest, type StandInResponse } from "./http-stand-in.js";

export const PIPELINE_STATUSES = [
  "created",
  "waiting_for_resource",
  "preparing",
  "pending",
  "running",
  "success",
  "failed",
  "canceling",
  "canceled",
  "skipped",
  "manual",
  "scheduled",
] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];
export type JobStatus = PipelineStatus;
export type JobWhen = "on_success" | "on_failure" | "always" | "manual" | "delayed";

const COMPLETED: ReadonlySet<string> = new Set(["success", "failed", "canceled", "skipped"]);
const STARTED: ReadonlySet<string> = new Set(["running", "success", "failed", "canceled", "canceling"]);

export interface GitLabUser {
  id: number;
  username: string;
  name: string;
  /** Webhooks show `email` as "[REDACTED]" unless the user made an email public. */
  public_email: string | null;
  avatar_url: string;
  web_url: string;
  state: "active" | "blocked";
  locked: boolean;
  created_at: string;
  bot: boolean;
}

export interface GitLabProject {
  id: number;
  name: string;
  path: string;
  path_with_namespace: string;
  description: string;
  default_branch: string;
  visibility: "private" | "internal" | "public";
  web_url: string;
  namespace: { id: number; name: string; path: string; kind: "group" | "user"; full_path: string };
  created_at: string;
  ci_config_path: string | null;
}

/** A commit in the REST shape (`API::Entities::Commit`). */
export interface GitLabCommit {
  id: string;
  short_id: string;
  created_at: string;
  parent_ids: string[];
  title: string;
  message: string;
  author_name: string;
  author_email: string;
  authored_date: string;
  committer_name: string;
  committer_email: string;
  committed_date: string;
  trailers: Record<string, string>;
  extended_trailers: Record<string, string[]>;
  web_url: string;
}

export interface GitLabPipeline {
  id: number;
  iid: number;
  project_id: number;
  sha: string;
  ref: string;
  status: PipelineStatus;
  source: string;
  tag: boolean;
  before_sha: string;
  name: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** Seconds. */
  duration: number | null;
  queued_duration: number | null;
  protected_ref: boolean;
  web_url: string;
  user: GitLabUser;
  variables: Array<{ key: string; value: string }>;
  /** Stage names in order. */
  stages: string[];
  /**
   * The upstream pipeline and trigger job of a downstream pipeline (GitLab's `Ci::Sources::Pipeline`):
   * set for child pipelines (`source: "parent_pipeline"`) and multi-project ones (`source: "pipeline"`).
   */
  source_pipeline: { project_id: number; pipeline_id: number; job_id: number } | null;
}

export interface GitLabJob {
  id: number;
  project_id: number;
  pipeline_id: number;
  name: string;
  stage: string;
  stage_idx: number;
  status: JobStatus;
  when: JobWhen;
  allow_failure: boolean;
  ref: string;
  tag: boolean;
  sha: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  queued_duration: number | null;
  /** Set when the job failed ("script_failure" unless given). */
  failure_reason: string | null;
  user: GitLabUser;
  environment: { name: string; action: string; deployment_tier: string | null } | null;
  /** A retried job is superseded by a newer one with the same name; lists leave it out by default. */
  retried: boolean;
  web_url: string;
  /** `job_variables_attributes` given when it was played. */
  variables: Array<{ key: string; value: string }>;
}

export interface GitLabHookEvents {
  push_events?: boolean;
  push_events_branch_filter?: string;
  tag_push_events?: boolean;
  merge_requests_events?: boolean;
  issues_events?: boolean;
  confidential_issues_events?: boolean;
  note_events?: boolean;
  confidential_note_events?: boolean;
  job_events?: boolean;
  pipeline_events?: boolean;
  wiki_page_events?: boolean;
  deployment_events?: boolean;
  releases_events?: boolean;
  feature_flag_events?: boolean;
  emoji_events?: boolean;
  resource_access_token_events?: boolean;
  repository_update_events?: boolean;
  enable_ssl_verification?: boolean;
}

export interface GitLabHook extends Required<GitLabHookEvents> {
  id: number;
  url: string;
  name: string;
  description: string;
  project_id: number;
  /** Sent as `X-Gitlab-Token`; never returned by the API. */
  token: string | null;
  alert_status: "executable" | "temporarily_disabled" | "disabled";
  disabled_until: string | null;
  created_at: string;
  /** Consecutive failed deliveries (GitLab's `recent_failures`). */
  recent_failures: number;
}

export interface AddHookOptions extends GitLabHookEvents {
  url: string;
  /** The hook's secret token (sent as `X-Gitlab-Token`). */
  token?: string | null;
  name?: string;
  description?: string;
}

export interface JobSpec {
  name: string;
  stage?: string;
  status: JobStatus | string;
  /** Default "manual" for status manual, "delayed" for scheduled, else "on_success". */
  when?: JobWhen | string;
  /** Default true for `when: manual` (GitLab's default outside `rules:`), else false. */
  allowFailure?: boolean;
  /** Makes the job a deployment job (and a source of deployment events). */
  environment?: string;
  environmentTier?: string;
}

export interface HookDeliveryResult {
  hookId: number;
  url: string;
  event: string;
  headers: Record<string, string>;
  rawBody: string;
  /** HTTP status, or null when the request failed (refused, reset, timed out). */
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface GitLabStandInOptions {
  /** Accepted API token (default "gitlab-test-token"). */
  token?: string;
  /** The user the token belongs to: plays jobs. */
  user?: Partial<GitLabUser>;
  /** Base of `web_url` fields (default: the stand-in's own URL once started). */
  externalUrl?: string;
  /** Clock for every timestamp and for hook back-off. */
  now?: () => Date;
  /** GitLab.com times a webhook out after 10 s. */
  webhookTimeoutMs?: number;
}

const DEFAULT_JOBS: JobSpec[] = [
  { name: "test", stage: "test", status: "success" },
  { name: "deploy_staging", stage: "deploy", status: "success" },
];

const EVENT_FLAGS: Record<string, keyof GitLabHookEvents> = {
  "Push Hook": "push_events",
  "Tag Push Hook": "tag_push_events",
  "Pipeline Hook": "pipeline_events",
  "Job Hook": "job_events",
  "Deployment Hook": "deployment_events",
};

/** `detailed_status.text` as GitLab's status classes name it (`Gitlab::Ci::Status::*#text`). */
const STATUS_TEXT: Partial<Record<PipelineStatus, string>> = {
  created: "Created",
  waiting_for_resource: "Waiting",
  preparing: "Preparing",
  pending: "Pending",
  running: "Running",
  success: "Passed",
  failed: "Failed",
  canceling: "Canceling",
  canceled: "Canceled",
  skipped: "Skipped",
  manual: "Blocked",
  scheduled: "Scheduled",
};

/** The API errors GitLab answers with (bodies copied from `lib/api/helpers.rb`). */
const errors = {
  unauthorized: { status: 401, body: { message: "401 Unauthorized" } },
  projectNotFound: { status: 404, body: { message: "404 Project Not Found" } },
  notFound: { status: 404, body: { message: "404 Not found" } },
  commitNotFound: { status: 404, body: { message: "404 Commit Not Found" } },
  refNotFound: { status: 404, body: { message: "404 Ref Not Found" } },
  hookNotFound: { status: 404, body: { message: "404 Not found" } },
  unplayable: { status: 400, body: { message: "400 Bad request - Unplayable Job" } },
  forbidden: { status: 403, body: { message: "403 Forbidden" } },
  invalid: (param: string, what = "is invalid") => ({ status: 400, body: { error: `${param} ${what}` } }),
} satisfies Record<string, StandInResponse | ((...args: string[]) => StandInResponse)>;

interface ProjectState {
  project: GitLabProject;
  commits: Map<string, { commit: GitLabCommit; files: string[] }>;
  branches: Map<string, string>;
  tags: Map<string, string>;
  pipelines: GitLabPipeline[];
  jobs: GitLabJob[];
  hooks: GitLabHook[];
  nextIid: number;
  /** Branches the token's user may not push or merge to. */
  protectedBranches: Set<string>;
  /** Environments whose deploy access leaves the token's user out. */
  protectedEnvironments: Set<string>;
}

function isoSecondsDiff(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  return Math.round((Date.parse(to) - Date.parse(from)) / 10) / 100;
}

function uuidFrom(seed: string): string {
  const hex = createHash("sha256").update(seed).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** GitLab's composite status of a set of jobs (`Gitlab::Ci::Status::Composite#status`). */
export function compositeStatus(jobs: ReadonlyArray<Pick<GitLabJob, "status" | "allow_failure">>): PipelineStatus {
  const set = new Set<string>();
  for (const job of jobs) {
    if (job.allow_failure && (job.status === "failed" || job.status === "canceled")) set.add("success_with_warnings");
    else if (job.allow_failure && job.status === "manual") set.add("ignored");
    else set.add(job.status);
  }
  const onlyOf = (...names: string[]) => {
    const matching = names.filter((n) => set.has(n)).length;
    return matching > 0 && matching === set.size;
  };
  const anyOf = (...names: string[]) => names.some((n) => set.has(n));
  if (set.size === 0 || onlyOf("skipped", "ignored")) return "skipped";
  if (onlyOf("success", "skipped", "success_with_warnings", "ignored")) return "success";
  if (onlyOf("created", "success_with_warnings", "ignored")) return "created";
  if (onlyOf("preparing", "success_with_warnings", "ignored")) return "preparing";
  if (onlyOf("canceled", "success", "skipped", "success_with_warnings", "ignored")) return "canceled";
  if (onlyOf("pending", "created", "skipped", "success_with_warnings", "ignored")) return "pending";
  if (anyOf("running", "pending")) return "running";
  if (anyOf("waiting_for_resource")) return "waiting_for_resource";
  if (anyOf("manual")) return "manual";
  if (anyOf("scheduled")) return "scheduled";
  if (anyOf("preparing")) return "preparing";
  if (anyOf("created")) return "running";
  if (anyOf("canceling")) return "canceling";
  return "failed";
}

function assertStatus(status: string): PipelineStatus {
  if (!(PIPELINE_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`unknown GitLab status "${status}"; expected one of ${PIPELINE_STATUSES.join(", ")}`);
  }
  return status as PipelineStatus;
}

export class GitLabStandIn extends HttpStandIn {
  /** Every webhook delivery attempted, in order. */
  readonly hookDeliveries: HookDeliveryResult[] = [];
  /**
   * When true, status changes made through this class or the API send Pipeline, Job and Deployment Hook
   * events to the matching project hooks, one at a time in order (GitLab sends them asynchronously).
   * Await `settled()` before asserting on what the receiver saw.
   */
  autoDeliver = false;
  readonly token: string;
  readonly user: GitLabUser;
  webhookTimeoutMs: number;
  /**
   * Whether deliveries carry `Idempotency-Key`, as GitLab does since 17.4; false models earlier
   * versions, whose only identifiers (`X-Gitlab-Event-UUID`, `X-Gitlab-Webhook-UUID`) are new on a resend.
   */
  idempotencyKeys = true;

  private readonly projects: ProjectState[] = [];
  private readonly now: () => Date;
  private readonly externalUrl: string | undefined;
  private nextProjectId = 1;
  private nextPipelineId = 1001;
  private nextJobId = 5001;
  private nextHookId = 1;
  private nextDeploymentId = 1;
  private commitCounter = 0;
  private deliveryQueue: Promise<unknown> = Promise.resolve();
  private readonly deployments = new Map<number, number>();

  constructor(options: GitLabStandInOptions = {}) {
    super("gitlab");
    this.token = options.token ?? "gitlab-test-token";
    this.now = options.now ?? (() => new Date());
    this.externalUrl = options.externalUrl;
    this.webhookTimeoutMs = options.webhookTimeoutMs ?? 10_000;
    this.user = {
      id: 1,
      username: "promote-bot",
      name: "Promote Bot",
      public_email: null,
      avatar_url: "https://secure.gravatar.com/avatar/1?s=80&d=identicon",
      web_url: "",
      state: "active",
      locked: false,
      created_at: this.iso(),
      bot: true,
      ...options.user,
    };
    this.registerRoutes();
  }

  // -------------------------------------------------------------------------------------------
  // Test-side setup

  /** Needs `start()` first unless the stand-in was given an `externalUrl` (web URLs are built from it). */
  addProject(pathWithNamespace: string, opts: { id?: number; defaultBranch?: string } = {}): GitLabProject {
    const parts = pathWithNamespace.split("/");
    const path = parts.at(-1) ?? pathWithNamespace;
    const namespacePath = parts.slice(0, -1).join("/") || "root";
    const id = opts.id ?? this.nextProjectId;
    if (this.projects.some((s) => s.project.id === id)) throw new Error(`project id ${id} is taken`);
    this.nextProjectId = Math.max(this.nextProjectId, id + 1);
    const namespaceName = namespacePath.split("/").at(-1) ?? namespacePath;
    const project: GitLabProject = {
      id,
      name: path,
      path,
      path_with_namespace: pathWithNamespace,
      description: "",
      default_branch: opts.defaultBranch ?? "main",
      visibility: "private",
      web_url: `${this.webBase()}/${pathWithNamespace}`,
      namespace: {
        id: 100 + id,
        name: namespaceName,
        path: namespaceName,
        kind: "group",
        full_path: namespacePath,
      },
      created_at: this.iso(),
      ci_config_path: null,
    };
    this.projects.push({
      project,
      commits: new Map(),
      branches: new Map(),
      tags: new Map(),
      pipelines: [],
      jobs: [],
      hooks: [],
      nextIid: 1,
      protectedBranches: new Set(),
      protectedEnvironments: new Set(),
    });
    return project;
  }

  /**
   * Appends a commit to `branch` (linear history). A new branch starts from the default branch's head.
   * `files` are reported as added in compare diffs.
   */
  commit(
    projectRef: number | string,
    branch: string,
    title: string,
    opts: { authorName?: string; authorEmail?: string; message?: string; files?: string[] } = {},
  ): GitLabCommit {
    const state = this.state(projectRef);
    const parent = state.branches.get(branch) ?? state.branches.get(state.project.default_branch);
    this.commitCounter += 1;
    const sha = createHash("sha1")
      .update(`${state.project.id}\0${branch}\0${parent ?? ""}\0${title}\0${this.commitCounter}`)
      .digest("hex");
    const at = this.iso();
    const authorName = opts.authorName ?? "Alice Dev";
    const authorEmail = opts.authorEmail ?? `${authorName.toLowerCase().replace(/[^a-z0-9]+/g, ".")}@example.com`;
    const message = opts.message ?? `${title}\n`;
    const commit: GitLabCommit = {
      id: sha,
      short_id: sha.slice(0, 8),
      created_at: at,
      parent_ids: parent ? [parent] : [],
      title: message.split(/\r?\n/, 1)[0] ?? title,
      message,
      author_name: authorName,
      author_email: authorEmail,
      authored_date: at,
      committer_name: authorName,
      committer_email: authorEmail,
      committed_date: at,
      trailers: {},
      extended_trailers: {},
      web_url: `${state.project.web_url}/-/commit/${sha}`,
    };
    state.commits.set(sha, { commit, files: opts.files ?? [`changes/${sha.slice(0, 8)}.md`] });
    state.branches.set(branch, sha);
    return commit;
  }

  createBranch(projectRef: number | string, name: string, fromRef: string): void {
    const state = this.state(projectRef);
    const sha = this.resolveRef(state, fromRef);
    if (!sha) throw new Error(`unknown ref "${fromRef}" in ${state.project.path_with_namespace}`);
    state.branches.set(name, sha);
  }

  createTag(projectRef: number | string, name: string, ref: string): void {
    const state = this.state(projectRef);
    const sha = this.resolveRef(state, ref);
    if (!sha) throw new Error(`unknown ref "${ref}" in ${state.project.path_with_namespace}`);
    state.tags.set(name, sha);
  }

  /**
   * Creates a pipeline for `sha` (a commit made with `commit()`). Jobs default to
   * test (success) and deploy_staging (success); the status defaults to the jobs' composite status.
   */
  addPipeline(
    projectRef: number | string,
    sha: string,
    opts: {
      ref?: string;
      status?: string;
      source?: string;
      tag?: boolean;
      jobs?: JobSpec[];
      user?: Partial<GitLabUser>;
      name?: string;
      variables?: Array<{ key: string; value: string }>;
      /**
       * Makes it a child pipeline of `pipelineId` (same project), triggered by job `jobId` of it:
       * `source` defaults to "parent_pipeline", ref and commit are the parent's.
       */
      childOf?: { pipelineId: number; jobId: number };
    } = {},
  ): GitLabPipeline {
    const state = this.state(projectRef);
    const node = state.commits.get(sha);
    if (!node) throw new Error(`unknown commit ${sha} in ${state.project.path_with_namespace}; make it with commit()`);
    const ref =
      opts.ref ??
      [...state.branches].find(([, head]) => head === sha)?.[0] ??
      [...state.tags].find(([, target]) => target === sha)?.[0] ??
      state.project.default_branch;
    const tag = opts.tag ?? (state.tags.has(ref) && !state.branches.has(ref));
    const at = this.iso();
    const id = this.nextPipelineId++;
    const specs = opts.jobs ?? DEFAULT_JOBS;
    const stages: string[] = [];
    for (const spec of specs) {
      const stage = spec.stage ?? "test";
      if (!stages.includes(stage)) stages.push(stage);
    }
    const pipeline: GitLabPipeline = {
      id,
      iid: state.nextIid++,
      project_id: state.project.id,
      sha,
      ref,
      status: "created",
      source: opts.source ?? (opts.childOf ? "parent_pipeline" : "push"),
      tag,
      before_sha: node.commit.parent_ids[0] ?? BLANK_SHA,
      name: opts.name ?? null,
      created_at: at,
      updated_at: at,
      started_at: null,
      finished_at: null,
      duration: null,
      queued_duration: null,
      protected_ref: ref === state.project.default_branch,
      web_url: `${state.project.web_url}/-/pipelines/${id}`,
      user: this.makeUser({ id: 2, username: "alice", name: "Alice Dev", ...opts.user }),
      variables: opts.variables ?? [],
      stages,
      source_pipeline: null,
    };
    if (opts.childOf) {
      const parent = this.findPipeline(state, opts.childOf.pipelineId);
      if (parent.sha !== sha) throw new Error(`a child pipeline runs its parent's commit ${parent.sha}, not ${sha}`);
      pipeline.ref = parent.ref;
      pipeline.tag = parent.tag;
      pipeline.protected_ref = parent.protected_ref;
      pipeline.source_pipeline = {
        project_id: state.project.id,
        pipeline_id: parent.id,
        job_id: this.findJob(state, opts.childOf.jobId).id,
      };
    }
    state.pipelines.push(pipeline);
    const jobs = specs.map((spec) => this.makeJob(state, pipeline, spec));
    state.jobs.push(...jobs);
    if (opts.status !== undefined) {
      this.applyPipelineStatus(pipeline, assertStatus(opts.status));
    } else {
      this.applyPipelineStatus(pipeline, compositeStatus(jobs));
    }
    if (this.autoDeliver) {
      for (const job of jobs) this.queueJobEvents(state, job);
      this.queuePipelineEvent(state, pipeline);
    }
    return pipeline;
  }

  /** Forces a pipeline status (recomputed from its jobs again on the next job change). */
  setPipelineStatus(projectRef: number | string, pipelineId: number, status: string): void {
    const state = this.state(projectRef);
    const pipeline = this.findPipeline(state, pipelineId);
    const before = pipeline.status;
    this.applyPipelineStatus(pipeline, assertStatus(status));
    if (this.autoDeliver && before !== pipeline.status) this.queuePipelineEvent(state, pipeline);
  }

  /** Moves a job to `status`, stamps its times and recomputes the pipeline status. */
  setJobStatus(
    projectRef: number | string,
    jobId: number,
    status: string,
    opts: { failureReason?: string } = {},
  ): void {
    const state = this.state(projectRef);
    const job = this.findJob(state, jobId);
    this.transitionJob(state, job, assertStatus(status), opts.failureReason);
  }

  /**
   * Protects a branch so that the token's user may neither push nor merge to it: GitLab then refuses
   * to let that user play the branch's jobs (`Ci::BuildPolicy`: a `protected_ref` prevents
   * `update_build`, which `play_job` needs), answering `POST .../play` with 403.
   */
  protectBranch(projectRef: number | string, branch: string): void {
    this.state(projectRef).protectedBranches.add(branch);
  }

  /**
   * Protects an environment without giving the token's user deploy access: playing a job that deploys
   * to it answers 403 (protected environments, `EE::Ci::BuildPolicy`; Premium and up).
   */
  protectEnvironment(projectRef: number | string, name: string): void {
    this.state(projectRef).protectedEnvironments.add(name);
  }

  addHook(projectRef: number | string, opts: AddHookOptions): GitLabHook {
    const state = this.state(projectRef);
    const id = this.nextHookId++;
    const hook: GitLabHook = {
      id,
      url: opts.url,
      name: opts.name ?? "",
      description: opts.description ?? "",
      project_id: state.project.id,
      token: opts.token ?? null,
      push_events: opts.push_events ?? true,
      push_events_branch_filter: opts.push_events_branch_filter ?? "",
      tag_push_events: opts.tag_push_events ?? false,
      merge_requests_events: opts.merge_requests_events ?? false,
      issues_events: opts.issues_events ?? false,
      confidential_issues_events: opts.confidential_issues_events ?? false,
      note_events: opts.note_events ?? false,
      confidential_note_events: opts.confidential_note_events ?? false,
      job_events: opts.job_events ?? false,
      pipeline_events: opts.pipeline_events ?? false,
      wiki_page_events: opts.wiki_page_events ?? false,
      deployment_events: opts.deployment_events ?? false,
      releases_events: opts.releases_events ?? false,
      feature_flag_events: opts.feature_flag_events ?? false,
      emoji_events: opts.emoji_events ?? false,
      resource_access_token_events: opts.resource_access_token_events ?? false,
      repository_update_events: opts.repository_update_events ?? false,
      enable_ssl_verification: opts.enable_ssl_verification ?? true,
      alert_status: "executable",
      disabled_until: null,
      created_at: this.iso(),
      recent_failures: 0,
    };
    state.hooks.push(hook);
    return hook;
  }

  /**
   * Answers the next `times` API calls matching `path` (default: all) with GitLab's rate-limit response:
   * 429, plain-text "Retry later", `Retry-After` and `RateLimit-*` headers.
   */
  throttle(opts: { times?: number; path?: string | RegExp; method?: string; retryAfterSeconds?: number } = {}): void {
    const retryAfter = opts.retryAfterSeconds ?? 60;
    const reset = Math.floor(this.now().getTime() / 1000) + retryAfter;
    this.fault({
      path: opts.path ?? /^\/api\/v4\//,
      ...(opts.method ? { method: opts.method } : {}),
      times: opts.times ?? 1,
      response: {
        status: 429,
        headers: {
          "retry-after": String(retryAfter),
          "ratelimit-name": "throttle_authenticated_api",
          "ratelimit-limit": "2000",
          "ratelimit-observed": "2001",
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(reset),
          "ratelimit-resettime": new Date(reset * 1000).toUTCString(),
        },
        body: "Retry later\n",
      },
    });
  }

  // -------------------------------------------------------------------------------------------
  // Test-side reads (live records: change them through the methods above)

  project(projectRef: number | string): GitLabProject {
    return this.state(projectRef).project;
  }

  pipelines(projectRef: number | string): GitLabPipeline[] {
    return [...this.state(projectRef).pipelines];
  }

  pipeline(projectRef: number | string, pipelineId: number): GitLabPipeline {
    return this.findPipeline(this.state(projectRef), pipelineId);
  }

  /** The pipeline's jobs in creation order, retried ones included. */
  jobs(projectRef: number | string, pipelineId: number): GitLabJob[] {
    return this.state(projectRef).jobs.filter((job) => job.pipeline_id === pipelineId);
  }

  job(projectRef: number | string, jobId: number): GitLabJob {
    return this.findJob(this.state(projectRef), jobId);
  }

  /** The latest (not retried) job of that name in the pipeline. */
  jobByName(projectRef: number | string, pipelineId: number, name: string): GitLabJob {
    const job = this.jobs(projectRef, pipelineId).find((j) => j.name === name && !j.retried);
    if (!job) throw new Error(`no job "${name}" in pipeline ${pipelineId}`);
    return job;
  }

  commitBySha(projectRef: number | string, sha: string): GitLabCommit {
    const node = this.state(projectRef).commits.get(sha);
    if (!node) throw new Error(`unknown commit ${sha}`);
    return node.commit;
  }

  /** Commits of a branch, oldest first. */
  history(projectRef: number | string, branch: string): GitLabCommit[] {
    const state = this.state(projectRef);
    const head = state.branches.get(branch);
    return head ? this.ancestry(state, head).reverse() : [];
  }

  hooks(projectRef: number | string): GitLabHook[] {
    return [...this.state(projectRef).hooks];
  }

  // -------------------------------------------------------------------------------------------
  // Webhook deliveries (GitLab -> receiver)

  /** A Pipeline Hook delivery for the pipeline as it is now. */
  pipelineEvent(projectRef: number | string, pipelineId: number): GitLabDelivery<PipelineHookBody> {
    const state = this.state(projectRef);
    const pipeline = this.findPipeline(state, pipelineId);
    return pipelineHook({
      project: state.project,
      pipeline,
      commit: state.commits.get(pipeline.sha)?.commit ?? null,
      builds: state.jobs.filter((j) => j.pipeline_id === pipeline.id),
      ...(pipeline.source_pipeline ? { sourcePipeline: this.sourcePipelineAttrs(pipeline.source_pipeline) } : {}),
      headers: { instance: this.webBase() },
    });
  }

  /** `source_pipeline` of a Pipeline Hook (`Gitlab::DataBuilder::Pipeline#source_pipeline_attrs`). */
  private sourcePipelineAttrs(
    source: NonNullable<GitLabPipeline["source_pipeline"]>,
  ): NonNullable<PipelineHookBody["source_pipeline"]> {
    const upstream = this.state(source.project_id).project;
    return {
      project: { id: upstream.id, web_url: upstream.web_url, path_with_namespace: upstream.path_with_namespace },
      job_id: source.job_id,
      pipeline_id: source.pipeline_id,
    };
  }

  /** A Job Hook delivery for the job as it is now. */
  jobEvent(projectRef: number | string, jobId: number): GitLabDelivery<JobHookBody> {
    const state = this.state(projectRef);
    const job = this.findJob(state, jobId);
    const pipeline = this.findPipeline(state, job.pipeline_id);
    const commit = this.commitOf(state, pipeline);
    const retriesCount = state.jobs.filter(
      (j) => j.pipeline_id === job.pipeline_id && j.name === job.name && j.retried && j.id < job.id,
    ).length;
    return jobHook({
      project: state.project,
      pipeline,
      job,
      commit,
      retriesCount,
      headers: { instance: this.webBase() },
    });
  }

  /**
   * Posts a delivery to every hook of the project that subscribes to its event (`X-Gitlab-Event`) and is
   * not disabled, with that hook's token and UUID. Failures (non-2xx, refused, timeout) count towards
   * GitLab's auto-disabling: temporarily after 4 in a row (1 minute, doubling up to a day), for good
   * after 40 (GitLab 17.11+). A 2xx resets the count.
   */
  async deliver(
    projectRef: number | string,
    delivery: Pick<GitLabDelivery, "headers" | "rawBody">,
  ): Promise<HookDeliveryResult[]> {
    const state = this.state(projectRef);
    const event = delivery.headers["X-Gitlab-Event"] ?? "";
    const flag = EVENT_FLAGS[event];
    const hooks = state.hooks.filter((hook) => flag !== undefined && hook[flag] === true && this.executable(hook));
    const results: HookDeliveryResult[] = [];
    for (const hook of hooks) {
      const headers: Record<string, string> = {
        ...delivery.headers,
        // New for every execution, despite its name (`WebHookService#build_headers`: SecureRandom.uuid).
        "X-Gitlab-Webhook-UUID": randomUUID(),
        "X-Gitlab-Instance": this.webBase(),
      };
      // Each hook gets its own delivery, so its own Idempotency-Key; derived, so a resend keeps it.
      if (hooks.length > 1) headers["Idempotency-Key"] = uuidFrom(`${delivery.headers["Idempotency-Key"]}:${hook.id}`);
      if (!this.idempotencyKeys) delete headers["Idempotency-Key"];
      if (hook.token === null) delete headers["X-Gitlab-Token"];
      else headers["X-Gitlab-Token"] = hook.token;
      results.push(await this.post(hook, event, headers, delivery.rawBody));
    }
    return results;
  }

  /**
   * Sends a recorded delivery again (GitLab's "Resend request", `WebHooks::Events::ResendService`): the
   * same body and Idempotency-Key (17.4+), but a new execution, so a new `X-Gitlab-Webhook-UUID` and,
   * as the resend is a request of its own, a new `X-Gitlab-Event-UUID` (`RecursionDetection::UUID`).
   */
  async resend(result: HookDeliveryResult): Promise<HookDeliveryResult> {
    const hook = this.projects.flatMap((s) => s.hooks).find((h) => h.id === result.hookId);
    if (!hook) throw new Error(`hook ${result.hookId} is gone`);
    const headers = { ...result.headers, "X-Gitlab-Webhook-UUID": randomUUID(), "X-Gitlab-Event-UUID": randomUUID() };
    return this.post(hook, result.event, headers, result.rawBody);
  }

  /** Resolves once every automatic delivery queued so far has been attempted. */
  async settled(): Promise<void> {
    let queue: Promise<unknown>;
    do {
      queue = this.deliveryQueue;
      await queue;
    } while (queue !== this.deliveryQueue);
  }

  // -------------------------------------------------------------------------------------------
  // Internals: state

  private iso(): string {
    return this.now().toISOString();
  }

  private webBase(): string {
    return this.externalUrl ?? this.url;
  }

  private makeUser(partial: Partial<GitLabUser> & { id: number; username: string; name: string }): GitLabUser {
    return {
      public_email: null,
      avatar_url: `https://secure.gravatar.com/avatar/${partial.id}?s=80&d=identicon`,
      web_url: `${this.webBase()}/${partial.username}`,
      state: "active",
      locked: false,
      created_at: this.iso(),
      bot: false,
      ...partial,
    };
  }

  private userWithUrl(user: GitLabUser): GitLabUser {
    return user.web_url ? user : { ...user, web_url: `${this.webBase()}/${user.username}` };
  }

  private state(projectRef: number | string): ProjectState {
    const state = this.lookup(String(projectRef));
    if (!state) throw new Error(`unknown project ${projectRef}; add it with addProject()`);
    return state;
  }

  private lookup(ref: string): ProjectState | undefined {
    if (/^\d+$/.test(ref)) return this.projects.find((s) => s.project.id === Number(ref));
    const wanted = ref.toLowerCase();
    return this.projects.find((s) => s.project.path_with_namespace.toLowerCase() === wanted);
  }

  private findPipeline(state: ProjectState, id: number): GitLabPipeline {
    const pipeline = state.pipelines.find((p) => p.id === id);
    if (!pipeline) throw new Error(`no pipeline ${id} in ${state.project.path_with_namespace}`);
    return pipeline;
  }

  private findJob(state: ProjectState, id: number): GitLabJob {
    const job = state.jobs.find((j) => j.id === id);
    if (!job) throw new Error(`no job ${id} in ${state.project.path_with_namespace}`);
    return job;
  }

  private commitOf(state: ProjectState, pipeline: GitLabPipeline): GitLabCommit {
    const node = state.commits.get(pipeline.sha);
    if (!node) throw new Error(`pipeline ${pipeline.id} has no commit`);
    return node.commit;
  }

  private resolveRef(state: ProjectState, ref: string): string | undefined {
    const named = state.branches.get(ref) ?? state.tags.get(ref);
    if (named) return named;
    if (state.commits.has(ref)) return ref;
    if (/^[0-9a-f]{4,39}$/i.test(ref)) {
      const matches = [...state.commits.keys()].filter((sha) => sha.startsWith(ref.toLowerCase()));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }

  /** `sha` and its first-parent ancestors, newest first. */
  private ancestry(state: ProjectState, sha: string): GitLabCommit[] {
    const out: GitLabCommit[] = [];
    let current: string | undefined = sha;
    while (current) {
      const node = state.commits.get(current);
      if (!node) break;
      out.push(node.commit);
      current = node.commit.parent_ids[0];
    }
    return out;
  }

  private makeJob(state: ProjectState, pipeline: GitLabPipeline, spec: JobSpec): GitLabJob {
    const status = assertStatus(spec.status);
    const when = (spec.when ??
      (status === "manual" ? "manual" : status === "scheduled" ? "delayed" : "on_success")) as JobWhen;
    const id = this.nextJobId++;
    const at = this.iso();
    const stage = spec.stage ?? "test";
    return {
      id,
      project_id: state.project.id,
      pipeline_id: pipeline.id,
      name: spec.name,
      stage,
      stage_idx: pipeline.stages.indexOf(stage),
      status,
      when,
      allow_failure: spec.allowFailure ?? when === "manual",
      ref: pipeline.ref,
      tag: pipeline.tag,
      sha: pipeline.sha,
      created_at: at,
      started_at: STARTED.has(status) ? at : null,
      finished_at: COMPLETED.has(status) && status !== "skipped" ? at : null,
      duration: COMPLETED.has(status) && status !== "skipped" ? 0 : null,
      queued_duration: STARTED.has(status) ? 0 : null,
      failure_reason: status === "failed" ? "script_failure" : null,
      user: pipeline.user,
      environment: spec.environment
        ? {
            name: spec.environment,
            action: "start",
            deployment_tier: spec.environmentTier ?? guessTier(spec.environment),
          }
        : null,
      retried: false,
      web_url: `${state.project.web_url}/-/jobs/${id}`,
      variables: [],
    };
  }

  private applyPipelineStatus(pipeline: GitLabPipeline, status: PipelineStatus): void {
    const at = this.iso();
    pipeline.status = status;
    pipeline.updated_at = at;
    if (STARTED.has(status) && !pipeline.started_at) {
      pipeline.started_at = at;
      pipeline.queued_duration = isoSecondsDiff(pipeline.created_at, at);
    }
    if (COMPLETED.has(status)) {
      pipeline.finished_at = at;
      const seconds = isoSecondsDiff(pipeline.started_at ?? pipeline.created_at, at);
      pipeline.duration = seconds === null ? null : Math.round(seconds);
    } else {
      pipeline.finished_at = null;
      pipeline.duration = null;
    }
  }

  private transitionJob(state: ProjectState, job: GitLabJob, status: JobStatus, failureReason?: string): void {
    const at = this.iso();
    job.status = status;
    if (STARTED.has(status) && !job.started_at) {
      job.started_at = at;
      job.queued_duration = isoSecondsDiff(job.created_at, at);
    }
    if (COMPLETED.has(status) && status !== "skipped") {
      job.finished_at = at;
      job.duration = isoSecondsDiff(job.started_at ?? at, at);
    } else if (!COMPLETED.has(status)) {
      job.finished_at = null;
      job.duration = null;
    }
    job.failure_reason = status === "failed" ? (failureReason ?? "script_failure") : null;
    const pipeline = this.findPipeline(state, job.pipeline_id);
    const before = pipeline.status;
    this.applyPipelineStatus(pipeline, compositeStatus(this.latestJobs(state, pipeline.id)));
    if (this.autoDeliver) {
      this.queueJobEvents(state, job);
      if (before !== pipeline.status) this.queuePipelineEvent(state, pipeline);
    }
  }

  private latestJobs(state: ProjectState, pipelineId: number): GitLabJob[] {
    return state.jobs.filter((j) => j.pipeline_id === pipelineId && !j.retried);
  }

  /** POST /jobs/:id/play, as `Ci::Build#playable?` and `Ci::PlayBuildService` decide. */
  private play(
    state: ProjectState,
    job: GitLabJob,
    variables: Array<{ key: string; value: string }>,
  ): GitLabJob | null {
    const action = job.when === "manual" || job.when === "delayed";
    if (!action || job.retried) return null;
    if (job.status === "manual" || job.status === "scheduled") {
      job.user = this.userWithUrl(this.user);
      job.variables = variables;
      this.transitionJob(state, job, "pending");
      return job;
    }
    if (job.status === "success" || job.status === "failed" || job.status === "canceled") {
      // A finished manual job is retried: a new job takes its place; the API still presents the old one.
      const pipeline = this.findPipeline(state, job.pipeline_id);
      const clone = this.makeJob(state, pipeline, {
        name: job.name,
        stage: job.stage,
        status: "created",
        when: job.when,
        allowFailure: job.allow_failure,
        ...(job.environment ? { environment: job.environment.name } : {}),
      });
      clone.environment = job.environment ? { ...job.environment } : null;
      clone.user = this.userWithUrl(this.user);
      clone.variables = variables;
      job.retried = true;
      state.jobs.push(clone);
      this.transitionJob(state, clone, "pending");
      return job;
    }
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // Internals: automatic deliveries

  private enqueue(projectId: number, delivery: Pick<GitLabDelivery, "headers" | "rawBody">): void {
    this.deliveryQueue = this.deliveryQueue.then(() => this.deliver(projectId, delivery)).catch(() => undefined);
  }

  private queuePipelineEvent(state: ProjectState, pipeline: GitLabPipeline): void {
    this.enqueue(state.project.id, this.pipelineEvent(state.project.id, pipeline.id));
  }

  private queueJobEvents(state: ProjectState, job: GitLabJob): void {
    this.enqueue(state.project.id, this.jobEvent(state.project.id, job.id));
    const env = job.environment;
    if (!env || !["running", "success", "failed", "canceled"].includes(job.status)) return;
    let deploymentId = this.deployments.get(job.id);
    if (deploymentId === undefined) {
      deploymentId = this.nextDeploymentId++;
      this.deployments.set(job.id, deploymentId);
    }
    const pipeline = this.findPipeline(state, job.pipeline_id);
    const delivery = deploymentHook({
      project: state.project,
      commit: this.commitOf(state, pipeline),
      job,
      environment: env.name,
      environmentTier: env.deployment_tier ?? "other",
      status: job.status as "running" | "success" | "failed" | "canceled",
      deploymentId,
      statusChangedAt: this.iso(),
      headers: { instance: this.webBase() },
    });
    this.enqueue(state.project.id, delivery);
  }

  private executable(hook: GitLabHook): boolean {
    if (hook.alert_status === "executable") return true;
    if (hook.alert_status === "disabled") return false;
    return hook.disabled_until !== null && Date.parse(hook.disabled_until) <= this.now().getTime();
  }

  private async post(
    hook: GitLabHook,
    event: string,
    headers: Record<string, string>,
    rawBody: string,
  ): Promise<HookDeliveryResult> {
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      // Redirects are not followed: a 3xx counts as a failed delivery.
      const response = await fetch(hook.url, {
        method: "POST",
        headers,
        body: rawBody,
        redirect: "manual",
        signal: AbortSignal.timeout(this.webhookTimeoutMs),
      });
      status = response.status;
      await response.arrayBuffer().catch(() => undefined);
    } catch (cause) {
      error = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    }
    const result: HookDeliveryResult = {
      hookId: hook.id,
      url: hook.url,
      event,
      headers,
      rawBody,
      status,
      error,
      durationMs: Date.now() - started,
    };
    this.hookDeliveries.push(result);
    this.recordOutcome(hook, status !== null && status >= 200 && status < 300);
    return result;
  }

  private recordOutcome(hook: GitLabHook, ok: boolean): void {
    if (ok) {
      hook.recent_failures = 0;
      hook.alert_status = "executable";
      hook.disabled_until = null;
      return;
    }
    hook.recent_failures += 1;
    if (hook.recent_failures >= 40) {
      hook.alert_status = "disabled";
      hook.disabled_until = null;
    } else if (hook.recent_failures >= 4) {
      const backoffMs = Math.min(60_000 * 2 ** (hook.recent_failures - 4), 24 * 60 * 60 * 1000);
      hook.alert_status = "temporarily_disabled";
      hook.disabled_until = new Date(this.now().getTime() + backoffMs).toISOString();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Internals: REST serialisation (field sets of GitLab's API entities)

  private userJson(user: GitLabUser): Record<string, unknown> {
    const u = this.userWithUrl(user);
    return {
      id: u.id,
      username: u.username,
      public_email: u.public_email,
      name: u.name,
      state: u.state,
      locked: u.locked,
      avatar_url: u.avatar_url,
      web_url: u.web_url,
      created_at: u.created_at,
      bio: "",
      location: "",
      linkedin: "",
      twitter: "",
      discord: "",
      website_url: "",
      organization: "",
      job_title: "",
      pronouns: null,
      bot: u.bot,
      work_information: null,
      local_time: null,
    };
  }

  private userBasicJson(user: GitLabUser): Record<string, unknown> {
    const u = this.userWithUrl(user);
    return {
      id: u.id,
      username: u.username,
      public_email: u.public_email,
      name: u.name,
      state: u.state,
      locked: u.locked,
      avatar_url: u.avatar_url,
      web_url: u.web_url,
    };
  }

  private commitJson(commit: GitLabCommit): Record<string, unknown> {
    return {
      id: commit.id,
      short_id: commit.short_id,
      created_at: commit.created_at.replace("Z", "+00:00"),
      parent_ids: [...commit.parent_ids],
      title: commit.title,
      message: commit.message,
      author_name: commit.author_name,
      author_email: commit.author_email,
      authored_date: commit.authored_date.replace("Z", "+00:00"),
      committer_name: commit.committer_name,
      committer_email: commit.committer_email,
      committed_date: commit.committed_date.replace("Z", "+00:00"),
      trailers: { ...commit.trailers },
      extended_trailers: { ...commit.extended_trailers },
      web_url: commit.web_url,
    };
  }

  private pipelineBasicJson(pipeline: GitLabPipeline): Record<string, unknown> {
    return {
      id: pipeline.id,
      iid: pipeline.iid,
      project_id: pipeline.project_id,
      sha: pipeline.sha,
      ref: pipeline.ref,
      status: pipeline.status,
      source: pipeline.source,
      created_at: pipeline.created_at,
      updated_at: pipeline.updated_at,
      web_url: pipeline.web_url,
    };
  }

  private pipelineJson(state: ProjectState, pipeline: GitLabPipeline): Record<string, unknown> {
    const jobs = this.latestJobs(state, pipeline.id);
    const warnings = jobs.some((j) => j.allow_failure && (j.status === "failed" || j.status === "canceled"));
    const group = pipeline.status === "success" && warnings ? "success-with-warnings" : pipeline.status;
    const label =
      pipeline.status === "success"
        ? warnings
          ? "passed with warnings"
          : "passed"
        : pipeline.status === "manual"
          ? "waiting for manual action"
          : pipeline.status.replaceAll("_", " ");
    const text = group === "success-with-warnings" ? "Warning" : (STATUS_TEXT[pipeline.status] ?? pipeline.status);
    return {
      ...this.pipelineBasicJson(pipeline),
      name: pipeline.name,
      before_sha: pipeline.before_sha,
      tag: pipeline.tag,
      yaml_errors: null,
      user: this.userBasicJson(pipeline.user),
      started_at: pipeline.started_at,
      finished_at: pipeline.finished_at,
      committed_at: null,
      duration: pipeline.duration,
      queued_duration: pipeline.queued_duration,
      coverage: null,
      detailed_status: {
        icon: `status_${pipeline.status === "manual" ? "manual" : pipeline.status}`,
        text,
        label,
        group,
        tooltip: label,
        has_details: true,
        details_path: new URL(pipeline.web_url).pathname,
        illustration: null,
        favicon: `/assets/ci_favicons/favicon_status_${pipeline.status}.png`,
      },
      archived: false,
    };
  }

  private jobJson(state: ProjectState, job: GitLabJob): Record<string, unknown> {
    const pipeline = this.findPipeline(state, job.pipeline_id);
    const body: Record<string, unknown> = {
      id: job.id,
      status: job.status,
      stage: job.stage,
      name: job.name,
      ref: job.ref,
      tag: job.tag,
      coverage: null,
      allow_failure: job.allow_failure,
      created_at: job.created_at,
      started_at: job.started_at,
      finished_at: job.finished_at,
      erased_at: null,
      duration: job.duration,
      queued_duration: job.queued_duration,
      user: this.userJson(job.user),
      commit: this.commitJson(this.commitOf(state, pipeline)),
      pipeline: this.pipelineBasicJson(pipeline),
    };
    if (job.status === "failed") body.failure_reason = job.failure_reason;
    Object.assign(body, {
      web_url: job.web_url,
      project: { ci_job_token_scope_enabled: false },
      artifacts: [],
      runner: job.started_at
        ? {
            id: STAND_IN_RUNNER.id,
            description: STAND_IN_RUNNER.description,
            ip_address: null,
            active: true,
            paused: false,
            is_shared: true,
            runner_type: "instance_type",
            name: "gitlab-runner",
            online: true,
            status: "online",
          }
        : null,
      runner_manager: null,
      artifacts_expire_at: null,
      archived: false,
      tag_list: [],
    });
    return body;
  }

  private projectJson(state: ProjectState): Record<string, unknown> {
    const p = state.project;
    const host = new URL(p.web_url).hostname;
    const lastActivity = state.pipelines.at(-1)?.updated_at ?? p.created_at;
    return {
      id: p.id,
      description: p.description,
      name: p.name,
      name_with_namespace: `${p.namespace.name} / ${p.name}`,
      path: p.path,
      path_with_namespace: p.path_with_namespace,
      created_at: p.created_at,
      default_branch: p.default_branch,
      tag_list: [],
      topics: [],
      ssh_url_to_repo: `git@${host}:${p.path_with_namespace}.git`,
      http_url_to_repo: `${p.web_url}.git`,
      web_url: p.web_url,
      readme_url: null,
      forks_count: 0,
      avatar_url: null,
      star_count: 0,
      last_activity_at: lastActivity,
      namespace: {
        ...p.namespace,
        parent_id: null,
        avatar_url: null,
        web_url: `${new URL(p.web_url).origin}/groups/${p.namespace.full_path}`,
      },
      container_registry_image_prefix: `registry.${host}/${p.path_with_namespace}`,
      _links: {
        self: `${this.url}/api/v4/projects/${p.id}`,
        issues: `${this.url}/api/v4/projects/${p.id}/issues`,
        merge_requests: `${this.url}/api/v4/projects/${p.id}/merge_requests`,
        repo_branches: `${this.url}/api/v4/projects/${p.id}/repository/branches`,
        labels: `${this.url}/api/v4/projects/${p.id}/labels`,
        events: `${this.url}/api/v4/projects/${p.id}/events`,
        members: `${this.url}/api/v4/projects/${p.id}/members`,
      },
      empty_repo: state.commits.size === 0,
      archived: false,
      visibility: p.visibility,
      ci_config_path: p.ci_config_path,
      jobs_enabled: true,
      builds_access_level: "enabled",
      permissions: { project_access: { access_level: 40, notification_level: 3 }, group_access: null },
    };
  }

  private hookJson(hook: GitLabHook): Record<string, unknown> {
    const { token: _token, recent_failures: _failures, ...visible } = hook;
    return { ...visible, url_variables: [], custom_webhook_template: "", custom_headers: [] };
  }

  // -------------------------------------------------------------------------------------------
  // Internals: routes

  private authorized(req: StandInRequest): boolean {
    const privateToken = req.headers["private-token"];
    if (typeof privateToken === "string") return privateToken === this.token;
    const authorization = req.headers.authorization;
    if (typeof authorization === "string" && authorization.startsWith("Bearer ")) {
      return authorization.slice("Bearer ".length) === this.token;
    }
    return false;
  }

  /** Registers an API route: auth first, then the project (`:id`), as GitLab's Grape API does. */
  private api(
    method: string,
    path: string,
    handler: (req: StandInRequest, state: ProjectState) => StandInResponse,
  ): void {
    this.route(method, `/api/v4${path}`, (req) => {
      if (!this.authorized(req)) return errors.unauthorized;
      const state = this.lookup(req.params.id ?? "");
      if (!state) return errors.projectNotFound;
      return handler(req, state);
    });
  }

  private intParam(req: StandInRequest, name: string): number | StandInResponse {
    const raw = req.params[name] ?? "";
    return /^\d+$/.test(raw) ? Number(raw) : errors.invalid(name);
  }

  private paginate(req: StandInRequest, items: unknown[]): StandInResponse {
    const perPageRaw = Number.parseInt(req.query.get("per_page") ?? "", 10);
    const pageRaw = Number.parseInt(req.query.get("page") ?? "", 10);
    const perPage = Number.isNaN(perPageRaw) || perPageRaw < 1 ? 20 : Math.min(perPageRaw, 100);
    const page = Number.isNaN(pageRaw) || pageRaw < 1 ? 1 : pageRaw;
    const total = items.length;
    const totalPages = Math.max(1, Math.ceil(total / perPage));
    const link = (p: number) => {
      const url = new URL(`${this.url}${req.path}`);
      for (const [key, value] of req.query)
        if (key !== "page" && key !== "per_page") url.searchParams.append(key, value);
      url.searchParams.set("page", String(p));
      url.searchParams.set("per_page", String(perPage));
      return url.toString();
    };
    // GitLab leaves out totals (and rel="last") above 10,000 rows to spare the count query.
    const counted = total <= 10_000;
    const links: string[] = [];
    if (page > 1) links.push(`<${link(page - 1)}>; rel="prev"`);
    if (page < totalPages) links.push(`<${link(page + 1)}>; rel="next"`);
    links.push(`<${link(1)}>; rel="first"`);
    if (counted) links.push(`<${link(totalPages)}>; rel="last"`);
    const headers: Record<string, string> = {
      link: links.join(", "),
      "x-next-page": page < totalPages ? String(page + 1) : "",
      "x-page": String(page),
      "x-per-page": String(perPage),
      "x-prev-page": page > 1 ? String(page - 1) : "",
    };
    if (counted) {
      headers["x-total"] = String(total);
      headers["x-total-pages"] = String(totalPages);
    }
    return { status: 200, headers, body: items.slice((page - 1) * perPage, page * perPage) };
  }

  private registerRoutes(): void {
    this.api("GET", "/projects/:id", (_req, state) => ({ status: 200, body: this.projectJson(state) }));

    this.api("GET", "/projects/:id/pipelines", (req, state) => {
      const q = req.query;
      const status = q.get("status");
      if (status !== null && !(PIPELINE_STATUSES as readonly string[]).includes(status)) {
        return errors.invalid("status", "does not have a valid value");
      }
      const scope = q.get("scope");
      if (scope !== null && !["running", "pending", "finished", "branches", "tags"].includes(scope)) {
        return errors.invalid("scope", "does not have a valid value");
      }
      const orderBy = q.get("order_by") ?? "id";
      if (!["id", "status", "ref", "updated_at", "user_id"].includes(orderBy)) {
        return errors.invalid("order_by", "does not have a valid value");
      }
      const sort = q.get("sort") ?? "desc";
      if (sort !== "asc" && sort !== "desc") return errors.invalid("sort", "does not have a valid value");
      // Child pipelines are left out unless asked for by source or iids (`Ci::PipelinesFinder#prefiltered_pipelines`).
      const withChildren = q.get("source") === "parent_pipeline" || q.getAll("iids[]").length > 0;
      let list = state.pipelines.filter(
        (p) =>
          (withChildren || p.source !== "parent_pipeline") &&
          (q.get("ref") === null || p.ref === q.get("ref")) &&
          (q.get("sha") === null || p.sha === q.get("sha")) &&
          (status === null || p.status === status) &&
          (q.get("source") === null || p.source === q.get("source")) &&
          (q.get("name") === null || p.name === q.get("name")) &&
          (q.get("username") === null || p.user.username === q.get("username")) &&
          (q.get("updated_after") === null || p.updated_at > (q.get("updated_after") ?? "")) &&
          (q.get("updated_before") === null || p.updated_at < (q.get("updated_before") ?? "")),
      );
      if (scope === "running" || scope === "pending") list = list.filter((p) => p.status === scope);
      if (scope === "finished") list = list.filter((p) => COMPLETED.has(p.status));
      if (scope === "branches" || scope === "tags") {
        const wantTag = scope === "tags";
        const latest = new Map<string, GitLabPipeline>();
        for (const p of list) if (p.tag === wantTag && (latest.get(p.ref)?.id ?? 0) < p.id) latest.set(p.ref, p);
        list = [...latest.values()];
      }
      const key = (p: GitLabPipeline): string | number =>
        orderBy === "user_id" ? p.user.id : orderBy === "id" ? p.id : p[orderBy as "status" | "ref" | "updated_at"];
      list.sort((a, b) => {
        const ka = key(a);
        const kb = key(b);
        const cmp = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
        return sort === "asc" ? cmp : -cmp;
      });
      return this.paginate(
        req,
        list.map((p) => ({ ...this.pipelineBasicJson(p), name: p.name })),
      );
    });

    this.api("GET", "/projects/:id/pipelines/:pipeline_id", (req, state) => {
      if (req.params.pipeline_id === "latest") {
        const ref = req.query.get("ref") ?? state.project.default_branch;
        const latest = state.pipelines.filter((p) => p.ref === ref).at(-1);
        return latest ? { status: 200, body: this.pipelineJson(state, latest) } : errors.notFound;
      }
      const id = this.intParam(req, "pipeline_id");
      if (typeof id !== "number") return id;
      const pipeline = state.pipelines.find((p) => p.id === id);
      return pipeline ? { status: 200, body: this.pipelineJson(state, pipeline) } : errors.notFound;
    });

    const jobScopes = (req: StandInRequest): string[] | StandInResponse => {
      const scopes = [...req.query.getAll("scope[]"), ...req.query.getAll("scope")];
      const bad = scopes.filter((s) => !(PIPELINE_STATUSES as readonly string[]).includes(s));
      return bad.length > 0 ? { status: 400, body: { message: "Scope contains invalid value" } } : scopes;
    };

    this.api("GET", "/projects/:id/pipelines/:pipeline_id/jobs", (req, state) => {
      const id = this.intParam(req, "pipeline_id");
      if (typeof id !== "number") return id;
      if (!state.pipelines.some((p) => p.id === id)) return errors.notFound;
      const scopes = jobScopes(req);
      if (!Array.isArray(scopes)) return scopes;
      const includeRetried = req.query.get("include_retried") === "true";
      const jobs = state.jobs
        .filter((j) => j.pipeline_id === id && (includeRetried || !j.retried))
        .filter((j) => scopes.length === 0 || scopes.includes(j.status))
        .sort((a, b) => b.id - a.id);
      return this.paginate(
        req,
        jobs.map((j) => this.jobJson(state, j)),
      );
    });

    this.api("GET", "/projects/:id/jobs", (req, state) => {
      const scopes = jobScopes(req);
      if (!Array.isArray(scopes)) return scopes;
      const jobs = state.jobs
        .filter((j) => scopes.length === 0 || scopes.includes(j.status))
        .sort((a, b) => b.id - a.id);
      return this.paginate(
        req,
        jobs.map((j) => this.jobJson(state, j)),
      );
    });

    this.api("GET", "/projects/:id/jobs/:job_id", (req, state) => {
      const id = this.intParam(req, "job_id");
      if (typeof id !== "number") return id;
      const job = state.jobs.find((j) => j.id === id);
      return job ? { status: 200, body: this.jobJson(state, job) } : errors.notFound;
    });

    this.api("POST", "/projects/:id/jobs/:job_id/play", (req, state) => {
      const id = this.intParam(req, "job_id");
      if (typeof id !== "number") return id;
      const job = state.jobs.find((j) => j.id === id);
      if (!job) return errors.notFound;
      // `authorize!(:play_job, job)` comes before the playable check (`lib/api/ci/jobs.rb`).
      const deniedEnvironment = job.environment !== null && state.protectedEnvironments.has(job.environment.name);
      if ((!job.tag && state.protectedBranches.has(job.ref)) || deniedEnvironment) return errors.forbidden;
      const body = (req.body ?? {}) as { job_variables_attributes?: Array<{ key: string; value: string }> };
      const played = this.play(state, job, body.job_variables_attributes ?? []);
      return played ? { status: 200, body: this.jobJson(state, played) } : errors.unplayable;
    });

    this.api("GET", "/projects/:id/repository/compare", (req, state) => {
      const from = req.query.get("from");
      const to = req.query.get("to");
      const missing = [from === null ? "from is missing" : "", to === null ? "to is missing" : ""].filter(Boolean);
      if (missing.length > 0 || from === null || to === null)
        return { status: 400, body: { error: missing.join(", ") } };
      const base = this.resolveRef(state, from);
      const head = this.resolveRef(state, to);
      if (!base || !head) return errors.refNotFound;
      const reachable = new Set(this.ancestry(state, base).map((c) => c.id));
      const commits = this.ancestry(state, head)
        .filter((c) => !reachable.has(c.id))
        .reverse();
      const diffs = commits.flatMap((c) =>
        (state.commits.get(c.id)?.files ?? []).map((file) => ({
          diff: `@@ -0,0 +1 @@\n+${c.title}\n`,
          collapsed: false,
          too_large: false,
          new_path: file,
          old_path: file,
          a_mode: "0",
          b_mode: "100644",
          new_file: true,
          renamed_file: false,
          deleted_file: false,
          generated_file: false,
        })),
      );
      const last = commits.at(-1);
      return {
        status: 200,
        body: {
          commit: last ? this.commitJson(last) : null,
          commits: commits.map((c) => this.commitJson(c)),
          diffs,
          compare_timeout: false,
          compare_same_ref: base === head,
          web_url: `${state.project.web_url}/-/compare/${base}...${head}`,
        },
      };
    });

    this.api("GET", "/projects/:id/repository/commits/:sha", (req, state) => {
      const sha = this.resolveRef(state, req.params.sha ?? "");
      const node = sha ? state.commits.get(sha) : undefined;
      if (!node) return errors.commitNotFound;
      const lastPipeline = state.pipelines.filter((p) => p.sha === node.commit.id).at(-1);
      const additions = node.files.length;
      return {
        status: 200,
        body: {
          ...this.commitJson(node.commit),
          stats: { additions, deletions: 0, total: additions },
          status: lastPipeline?.status ?? null,
          project_id: state.project.id,
          last_pipeline: lastPipeline ? this.pipelineBasicJson(lastPipeline) : null,
        },
      };
    });

    this.api("GET", "/projects/:id/hooks", (req, state) =>
      this.paginate(
        req,
        state.hooks.map((h) => this.hookJson(h)),
      ),
    );

    this.api("GET", "/projects/:id/hooks/:hook_id", (req, state) => {
      const id = this.intParam(req, "hook_id");
      if (typeof id !== "number") return id;
      const hook = state.hooks.find((h) => h.id === id);
      return hook ? { status: 200, body: this.hookJson(hook) } : errors.hookNotFound;
    });
  }
}
