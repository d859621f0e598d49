/**
 * Builders of GitLab webhook deliveries (headers + body) in the shapes GitLab sends.
 *
 * Shapes follow the "Webhook events" page (https://docs.gitlab.com/user/project/integrations/webhook_events/)
 * and, where the page's examples lag behind, the payload builders in GitLab's source
 * (`lib/gitlab/data_builder/{pipeline,build,deployment,push}.rb`), which add fields the examples omit
 * (`object_attributes.detailed_status`, `queued_duration`, `protected_ref`, `project.ci_config_path`,
 * deployment `ref`). Timestamps use the formats GitLab actually sends, which differ per event:
 * pipeline and job events "2025-01-15 10:00:00 UTC", job events also `*_iso` "2025-01-15T10:00:00Z",
 * commit timestamps "2025-01-15T10:00:00+00:00", deployment `status_changed_at` "2025-01-15 10:00:00 +0000".
 *
 * The body builders are pure functions of stand-in records, so the GitLab stand-in uses them for its
 * own deliveries and tests use them to post deliveries straight to the bot.
 */
import { createHash, randomUUID } from "node:crypto";
import type { GitLabCommit, GitLabJob, GitLabPipeline, GitLabProject, GitLabUser, PipelineStatus } from "./gitlab.js";

export type GitLabEventName = "Pipeline Hook" | "Job Hook" | "Deployment Hook" | "Push Hook";

/** One webhook delivery: what GitLab puts on the wire. `rawBody` is `JSON.stringify(body)` at build time. */
export interface GitLabDelivery<B extends object = Record<string, unknown>> {
  headers: Record<string, string>;
  body: B;
  rawBody: string;
}

export interface GitLabHeaderOptions {
  /** Secret token sent as `X-Gitlab-Token` (default "gitlab-webhook-secret"); `null` leaves the header out. */
  token?: string | null;
  /** Stable across retries of one delivery (GitLab 17.4+). Fresh UUID by default. */
  idempotencyKey?: string;
  /** One per event (GitLab 14.8+). Fresh UUID by default. */
  eventUuid?: string;
  /** Identifies the webhook configuration (GitLab 16.2+); stable per hook. */
  webhookUuid?: string;
  /** `X-Gitlab-Instance`: the GitLab instance URL. */
  instance?: string;
  userAgent?: string;
}

export const DEFAULT_WEBHOOK_SECRET = "gitlab-webhook-secret";
export const DEFAULT_WEBHOOK_UUID = "4e8a1b5c-2f3d-4a6b-9c7e-0d1f2a3b4c5d";
export const DEFAULT_INSTANCE = "https://gitlab.example.com";
export const GITLAB_USER_AGENT = "GitLab/17.11.1";
export const BLANK_SHA = "0000000000000000000000000000000000000000";

/**
 * Request headers GitLab sends with every webhook, in the order its "webhook events" API logs them
 * (https://docs.gitlab.com/api/project_webhooks/ `request_headers`).
 */
export function gitlabHeaders(event: GitLabEventName | string, opts: GitLabHeaderOptions = {}): Record<string, string> {
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": opts.userAgent ?? GITLAB_USER_AGENT,
    "Idempotency-Key": opts.idempotencyKey ?? randomUUID(),
    "X-Gitlab-Event": event,
    "X-Gitlab-Webhook-UUID": opts.webhookUuid ?? DEFAULT_WEBHOOK_UUID,
    "X-Gitlab-Instance": opts.instance ?? DEFAULT_INSTANCE,
    "X-Gitlab-Event-UUID": opts.eventUuid ?? randomUUID(),
  };
  const token = opts.token === undefined ? DEFAULT_WEBHOOK_SECRET : opts.token;
  if (token !== null) headers["X-Gitlab-Token"] = token;
  return headers;
}

// ---------------------------------------------------------------------------------------------
// Body types (what the bot may read; GitLab sends more in some versions, so parsers must allow unknown keys)

export interface HookUser {
  id: number;
  name: string;
  username: string;
  avatar_url: string;
  /** "[REDACTED]" unless the user has a public email. */
  email: string;
}

export interface HookProject {
  id: number;
  name: string;
  description: string;
  web_url: string;
  avatar_url: string | null;
  git_ssh_url: string;
  git_http_url: string;
  namespace: string;
  visibility_level: number;
  path_with_namespace: string;
  default_branch: string;
  ci_config_path: string | null;
  /** The four below only in events built with `hook_attrs(backward: true)`: push, deployment. */
  homepage?: string;
  url?: string;
  ssh_url?: string;
  http_url?: string;
}

export interface HookCommit {
  id: string;
  message: string;
  title: string;
  timestamp: string;
  url: string;
  author: { name: string; email: string };
}

export interface HookRepository {
  name: string;
  url: string;
  description: string;
  homepage: string;
  git_http_url: string;
  git_ssh_url: string;
  visibility_level: number;
}

export interface HookRunner {
  id: number;
  description: string;
  runner_type: string;
  active: boolean;
  is_shared: boolean;
  tags: string[];
}

export interface HookBuild {
  id: number;
  stage: string;
  name: string;
  status: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  duration: number | null;
  queued_duration: number | null;
  failure_reason: string | null;
  when: string;
  manual: boolean;
  allow_failure: boolean;
  user: HookUser | null;
  runner: HookRunner | null;
  artifacts_file: { filename: string | null; size: number | null };
  environment: { name: string; action: string; deployment_tier: string | null } | null;
}

export interface PipelineHookBody {
  object_kind: "pipeline";
  object_attributes: {
    id: number;
    iid: number;
    name: string | null;
    ref: string;
    tag: boolean;
    sha: string;
    before_sha: string;
    source: string;
    status: string;
    detailed_status: string;
    stages: string[];
    created_at: string;
    finished_at: string | null;
    duration: number | null;
    queued_duration: number | null;
    protected_ref: boolean;
    variables: Array<{ key: string; value: string }>;
    url: string;
  };
  merge_request: Record<string, unknown> | null;
  user: HookUser | null;
  project: HookProject;
  commit: HookCommit | null;
  builds: HookBuild[];
  source_pipeline?: {
    project: { id: number; web_url: string; path_with_namespace: string };
    job_id: number;
    pipeline_id: number;
  };
}

export interface JobHookBody {
  object_kind: "build";
  ref: string;
  tag: boolean;
  before_sha: string;
  sha: string;
  retries_count: number;
  build_id: number;
  build_name: string;
  build_stage: string;
  build_status: string;
  build_created_at: string;
  build_started_at: string | null;
  build_finished_at: string | null;
  build_created_at_iso: string;
  build_started_at_iso: string | null;
  build_finished_at_iso: string | null;
  build_duration: number | null;
  build_queued_duration: number | null;
  build_allow_failure: boolean;
  /** GitLab sends "unknown_failure" for jobs that did not fail (the column's default). */
  build_failure_reason: string;
  pipeline_id: number;
  runner: HookRunner | null;
  project_id: number;
  /** `project.full_name`, e.g. "acme / whitewave". */
  project_name: string;
  user: HookUser | null;
  commit: {
    /** The pipeline id, not a commit id (documented quirk). */
    id: number;
    name: string | null;
    sha: string;
    message: string;
    author_name: string;
    author_email: string;
    author_url: string;
    status: string;
    duration: number | null;
    started_at: string | null;
    finished_at: string | null;
    started_at_iso: string | null;
    finished_at_iso: string | null;
  };
  repository: HookRepository;
  project: HookProject;
  environment: { name: string; action: string; deployment_tier: string | null } | null;
}

export interface DeploymentHookBody {
  object_kind: "deployment";
  status: string;
  status_changed_at: string;
  deployment_id: number;
  deployable_id: number | null;
  deployable_url: string | null;
  environment: string;
  environment_tier: string;
  environment_slug: string;
  environment_external_url: string | null;
  project: HookProject;
  short_sha: string;
  user: HookUser | null;
  user_url: string | null;
  commit_url: string;
  commit_title: string;
  ref: string;
}

export interface PushHookBody {
  object_kind: "push";
  event_name: "push";
  before: string;
  after: string;
  ref: string;
  ref_protected: boolean;
  checkout_sha: string | null;
  message: string | null;
  user_id: number;
  user_name: string;
  user_username: string;
  user_email: string;
  user_avatar: string;
  project_id: number;
  project: HookProject;
  commits: Array<HookCommit & { added: string[]; modified: string[]; removed: string[] }>;
  total_commits_count: number;
  push_options: Record<string, unknown>;
  repository: HookRepository;
}

// ---------------------------------------------------------------------------------------------
// Time formats

/** "2025-01-15 10:00:00 UTC": how pipeline and job events render times. */
export function hookTime(iso: string): string;
export function hookTime(iso: string | null): string | null;
export function hookTime(iso: string | null): string | null {
  return iso === null ? null : `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** "2025-01-15T10:00:00Z": job events' `*_iso` fields. */
function isoSeconds(iso: string | null): string | null {
  return iso === null ? null : `${iso.slice(0, 19)}Z`;
}

/** "2025-01-15T10:00:00+00:00": Ruby's `xmlschema`, used for commit timestamps. */
function xmlschema(iso: string): string {
  return `${iso.slice(0, 19)}+00:00`;
}

// ---------------------------------------------------------------------------------------------
// Attribute helpers (mirroring GitLab's `hook_attrs` methods)

export function hookUser(user: GitLabUser | null): HookUser | null {
  if (!user) return null;
  return {
    id: user.id,
    name: user.name,
    username: user.username,
    avatar_url: user.avatar_url,
    email: user.public_email ?? "[REDACTED]",
  };
}

function sshUrl(project: GitLabProject): string {
  return `git@${new URL(project.web_url).hostname}:${project.path_with_namespace}.git`;
}

const VISIBILITY_LEVEL = { private: 0, internal: 10, public: 20 } as const;

/** `Project#hook_attrs`: pipeline and job events use `backward: false`, push and deployment `backward: true`. */
export function hookProject(project: GitLabProject, backward: boolean): HookProject {
  const attrs: HookProject = {
    id: project.id,
    name: project.name,
    description: project.description,
    web_url: project.web_url,
    avatar_url: null,
    git_ssh_url: sshUrl(project),
    git_http_url: `${project.web_url}.git`,
    namespace: project.namespace.name,
    visibility_level: VISIBILITY_LEVEL[project.visibility],
    path_with_namespace: project.path_with_namespace,
    default_branch: project.default_branch,
    ci_config_path: project.ci_config_path,
  };
  if (backward) {
    attrs.homepage = project.web_url;
    attrs.url = sshUrl(project);
    attrs.ssh_url = sshUrl(project);
    attrs.http_url = `${project.web_url}.git`;
  }
  return attrs;
}

function hookRepository(project: GitLabProject): HookRepository {
  return {
    name: project.name,
    url: sshUrl(project),
    description: project.description,
    homepage: project.web_url,
    git_http_url: `${project.web_url}.git`,
    git_ssh_url: sshUrl(project),
    visibility_level: VISIBILITY_LEVEL[project.visibility],
  };
}

export function hookCommit(commit: GitLabCommit): HookCommit {
  return {
    id: commit.id,
    message: commit.message,
    title: commit.title,
    timestamp: xmlschema(commit.committed_date),
    url: commit.web_url,
    author: { name: commit.author_name, email: commit.author_email },
  };
}

/** The runner that ran a job; the stand-in assigns one to every job that started. */
export const STAND_IN_RUNNER: HookRunner = {
  id: 380987,
  description: "shared-runners-manager-1.gitlab.example.com",
  runner_type: "instance_type",
  active: true,
  is_shared: true,
  tags: ["docker", "linux"],
};

function hookRunner(job: GitLabJob): HookRunner | null {
  return job.started_at ? { ...STAND_IN_RUNNER, tags: [...STAND_IN_RUNNER.tags] } : null;
}

/** GitLab labels a pipeline's status in `detailed_status` as its UI does. */
export function detailedStatusLabel(status: PipelineStatus, opts: { warnings?: boolean } = {}): string {
  switch (status) {
    case "success":
      return opts.warnings ? "passed with warnings" : "passed";
    case "manual":
      return "waiting for manual action";
    case "waiting_for_resource":
      return "waiting for resource";
    case "scheduled":
      return "waiting for delayed job";
    default:
      return status;
  }
}

function buildHookAttrs(job: GitLabJob): HookBuild {
  return {
    id: job.id,
    stage: job.stage,
    name: job.name,
    status: job.status,
    created_at: hookTime(job.created_at),
    started_at: hookTime(job.started_at),
    finished_at: hookTime(job.finished_at),
    duration: job.duration,
    queued_duration: job.queued_duration,
    failure_reason: job.status === "failed" ? job.failure_reason : null,
    when: job.when,
    manual: job.when === "manual" || job.when === "delayed",
    allow_failure: job.allow_failure,
    user: hookUser(job.user),
    runner: hookRunner(job),
    artifacts_file: { filename: null, size: null },
    environment: job.environment ? { ...job.environment } : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Overrides

type DeepPartial<T> =
  T extends Array<infer U> ? Array<U> : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> | null } : T;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge<T extends object>(base: T, overrides: object | undefined): T {
  if (!overrides) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out as T;
}

function delivery<B extends object>(
  event: GitLabEventName,
  body: B,
  overrides: object | undefined,
  headers: GitLabHeaderOptions | undefined,
): GitLabDelivery<B> {
  const merged = deepMerge(body, overrides);
  return { headers: gitlabHeaders(event, headers), body: merged, rawBody: JSON.stringify(merged) };
}

// ---------------------------------------------------------------------------------------------
// Builders

export interface PipelineHookArgs {
  project: GitLabProject;
  pipeline: GitLabPipeline;
  /** The pipeline's commit; `null` when GitLab no longer has it (force-pushed away). */
  commit: GitLabCommit | null;
  /** The pipeline's jobs; retried ones are left out, as GitLab sends only the latest builds. */
  builds?: GitLabJob[];
  /** Who triggered the pipeline (default: `pipeline.user`). */
  user?: GitLabUser | null;
  mergeRequest?: Record<string, unknown> | null;
  sourcePipeline?: PipelineHookBody["source_pipeline"];
  /** Deep-merged into the body (arrays replace). */
  overrides?: DeepPartial<PipelineHookBody> | Record<string, unknown>;
  headers?: GitLabHeaderOptions;
}

/** `X-Gitlab-Event: Pipeline Hook`; sent on every pipeline status change. */
export function pipelineHook(args: PipelineHookArgs): GitLabDelivery<PipelineHookBody> {
  const { project, pipeline, commit } = args;
  const builds = (args.builds ?? []).filter((job) => !job.retried);
  const warnings = builds.some((job) => job.allow_failure && (job.status === "failed" || job.status === "canceled"));
  const body: PipelineHookBody = {
    object_kind: "pipeline",
    object_attributes: {
      id: pipeline.id,
      iid: pipeline.iid,
      name: pipeline.name,
      ref: pipeline.ref,
      tag: pipeline.tag,
      sha: pipeline.sha,
      before_sha: pipeline.before_sha,
      source: pipeline.source,
      status: pipeline.status,
      detailed_status: detailedStatusLabel(pipeline.status, { warnings }),
      stages: [...pipeline.stages],
      created_at: hookTime(pipeline.created_at),
      finished_at: hookTime(pipeline.finished_at),
      duration: pipeline.duration,
      queued_duration: pipeline.queued_duration,
      protected_ref: pipeline.protected_ref,
      variables: pipeline.variables.map((v) => ({ ...v })),
      url: pipeline.web_url,
    },
    merge_request: args.mergeRequest ?? null,
    user: hookUser(args.user === undefined ? pipeline.user : args.user),
    project: hookProject(project, false),
    commit: commit ? hookCommit(commit) : null,
    builds: builds.map(buildHookAttrs),
  };
  if (args.sourcePipeline) body.source_pipeline = args.sourcePipeline;
  return delivery("Pipeline Hook", body, args.overrides, args.headers);
}

export interface JobHookArgs {
  project: GitLabProject;
  pipeline: GitLabPipeline;
  job: GitLabJob;
  commit: GitLabCommit;
  /** How many times this job was retried before (`retries_count`). */
  retriesCount?: number;
  overrides?: DeepPartial<JobHookBody> | Record<string, unknown>;
  headers?: GitLabHeaderOptions;
}

/** `X-Gitlab-Event: Job Hook` (`object_kind: "build"`); sent on every job status change. */
export function jobHook(args: JobHookArgs): GitLabDelivery<JobHookBody> {
  const { project, pipeline, job, commit } = args;
  const author = job.user && job.user.public_email === commit.author_email ? job.user : null;
  const body: JobHookBody = {
    object_kind: "build",
    ref: job.ref,
    tag: job.tag,
    before_sha: pipeline.before_sha,
    sha: job.sha,
    retries_count: args.retriesCount ?? 0,
    build_id: job.id,
    build_name: job.name,
    build_stage: job.stage,
    build_status: job.status,
    build_created_at: hookTime(job.created_at),
    build_started_at: hookTime(job.started_at),
    build_finished_at: hookTime(job.finished_at),
    build_created_at_iso: isoSeconds(job.created_at) ?? "",
    build_started_at_iso: isoSeconds(job.started_at),
    build_finished_at_iso: isoSeconds(job.finished_at),
    build_duration: job.duration,
    build_queued_duration: job.queued_duration,
    build_allow_failure: job.allow_failure,
    build_failure_reason: job.failure_reason ?? "unknown_failure",
    pipeline_id: pipeline.id,
    runner: hookRunner(job),
    project_id: project.id,
    project_name: `${project.namespace.name} / ${project.name}`,
    user: hookUser(job.user),
    commit: {
      id: pipeline.id,
      name: pipeline.name,
      sha: pipeline.sha,
      message: commit.message,
      author_name: commit.author_name,
      author_email: commit.author_email,
      author_url: author ? author.web_url : `mailto:${commit.author_email}`,
      status: pipeline.status,
      duration: pipeline.duration,
      started_at: hookTime(pipeline.started_at),
      finished_at: hookTime(pipeline.finished_at),
      started_at_iso: isoSeconds(pipeline.started_at),
      finished_at_iso: isoSeconds(pipeline.finished_at),
    },
    repository: hookRepository(project),
    project: hookProject(project, false),
    environment: job.environment ? { ...job.environment } : null,
  };
  return delivery("Job Hook", body, args.overrides, args.headers);
}

export type DeploymentStatus = "created" | "running" | "success" | "failed" | "canceled" | "blocked";

export interface DeploymentHookArgs {
  project: GitLabProject;
  commit: GitLabCommit;
  /** The job that ran the deployment; `null` for deployments made through the API or by trigger jobs. */
  job: GitLabJob | null;
  environment: string;
  status: DeploymentStatus;
  deploymentId: number;
  ref?: string;
  environmentTier?: string;
  environmentExternalUrl?: string | null;
  user?: GitLabUser | null;
  /** ISO time of the status change (default: the job's last timestamp, else now). */
  statusChangedAt?: string;
  overrides?: DeepPartial<DeploymentHookBody> | Record<string, unknown>;
  headers?: GitLabHeaderOptions;
}

/** GitLab's guess of an environment's tier from its name (`Environment#guess_tier`). */
export function guessTier(name: string): "development" | "testing" | "staging" | "production" | "other" {
  if (/(dev|review|trunk)/i.test(name)) return "development";
  if (/(test|tst|int|ac(ce|)pt|qa|qc|control|quality)/i.test(name)) return "testing";
  if (/(st(a|)g|mod(e|)l|pre|demo|non)/i.test(name)) return "staging";
  if (/(pr(o|)d|live)/i.test(name)) return "production";
  return "other";
}

function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 24);
}

/** `X-Gitlab-Event: Deployment Hook`; sent when a deployment starts, succeeds, fails or is canceled. */
export function deploymentHook(args: DeploymentHookArgs): GitLabDelivery<DeploymentHookBody> {
  const { project, commit, job } = args;
  const changedIso = args.statusChangedAt ?? job?.finished_at ?? job?.started_at ?? new Date().toISOString();
  const user = args.user === undefined ? (job?.user ?? null) : args.user;
  const body: DeploymentHookBody = {
    object_kind: "deployment",
    status: args.status,
    status_changed_at: `${changedIso.slice(0, 10)} ${changedIso.slice(11, 19)} +0000`,
    deployment_id: args.deploymentId,
    deployable_id: job ? job.id : null,
    deployable_url: job ? job.web_url : null,
    environment: args.environment,
    environment_tier: args.environmentTier ?? job?.environment?.deployment_tier ?? guessTier(args.environment),
    environment_slug: slugify(args.environment),
    environment_external_url: args.environmentExternalUrl ?? null,
    project: hookProject(project, true),
    short_sha: commit.id.slice(0, 8),
    user: hookUser(user),
    user_url: user ? user.web_url : null,
    commit_url: commit.web_url,
    commit_title: commit.title,
    ref: args.ref ?? job?.ref ?? project.default_branch,
  };
  return delivery("Deployment Hook", body, args.overrides, args.headers);
}

export interface PushHookArgs {
  project: GitLabProject;
  /** Branch name ("main") or full ref ("refs/heads/main"). */
  ref: string;
  /** Head before the push; `BLANK_SHA` for a new branch. */
  before: string;
  /** The pushed commits, oldest first. */
  commits: GitLabCommit[];
  /** Head after the push (default: the last commit). */
  after?: string;
  user?: GitLabUser;
  refProtected?: boolean;
  /** Files per commit id, for `added` (GitLab also fills `modified` and `removed`). */
  files?: Record<string, string[]>;
  overrides?: DeepPartial<PushHookBody> | Record<string, unknown>;
  headers?: GitLabHeaderOptions;
}

/** `X-Gitlab-Event: Push Hook`. Like GitLab, `commits` holds at most the newest 20. */
export function pushHook(args: PushHookArgs): GitLabDelivery<PushHookBody> {
  const { project, commits } = args;
  const user = args.user ?? EXAMPLE_USER;
  const after = args.after ?? commits.at(-1)?.id ?? args.before;
  const body: PushHookBody = {
    object_kind: "push",
    event_name: "push",
    before: args.before,
    after,
    ref: args.ref.startsWith("refs/") ? args.ref : `refs/heads/${args.ref}`,
    ref_protected: args.refProtected ?? args.ref.replace(/^refs\/heads\//, "") === project.default_branch,
    checkout_sha: after === BLANK_SHA ? null : after,
    message: null,
    user_id: user.id,
    user_name: user.name,
    user_username: user.username,
    user_email: user.public_email ?? "",
    user_avatar: user.avatar_url,
    project_id: project.id,
    project: hookProject(project, true),
    commits: commits.slice(-20).map((commit) => ({
      ...hookCommit(commit),
      added: [...(args.files?.[commit.id] ?? [])],
      modified: [],
      removed: [],
    })),
    total_commits_count: commits.length,
    push_options: {},
    repository: hookRepository(project),
  };
  return delivery("Push Hook", body, args.overrides, args.headers);
}

// ---------------------------------------------------------------------------------------------
// Example records, for builders used without a running stand-in

const EXAMPLE_TIME = "2025-01-15T10:00:00.000Z";

export const EXAMPLE_USER: GitLabUser = {
  id: 2,
  username: "alice",
  name: "Alice Example",
  public_email: null,
  avatar_url: "https://secure.gravatar.com/avatar/0?s=80&d=identicon",
  web_url: `${DEFAULT_INSTANCE}/alice`,
  state: "active",
  locked: false,
  created_at: "2024-01-01T00:00:00.000Z",
  bot: false,
};

/** A consistent project, commit and pipeline (success, on `main`) at `https://gitlab.example.com/acme/whitewave`. */
export function exampleRecords(): {
  user: GitLabUser;
  project: GitLabProject;
  commit: GitLabCommit;
  pipeline: GitLabPipeline;
} {
  const webUrl = `${DEFAULT_INSTANCE}/acme/whitewave`;
  const sha = createHash("sha1").update("example commit").digest("hex");
  const parent = createHash("sha1").update("example parent").digest("hex");
  const project: GitLabProject = {
    id: 42,
    name: "whitewave",
    path: "whitewave",
    path_with_namespace: "acme/whitewave",
    description: "",
    default_branch: "main",
    visibility: "private",
    web_url: webUrl,
    namespace: { id: 7, name: "acme", path: "acme", kind: "group", full_path: "acme" },
    created_at: EXAMPLE_TIME,
    ci_config_path: null,
  };
  const commit: GitLabCommit = {
    id: sha,
    short_id: sha.slice(0, 8),
    created_at: EXAMPLE_TIME,
    parent_ids: [parent],
    title: "Add rate limiting to the checkout API",
    message: "Add rate limiting to the checkout API\n",
    author_name: EXAMPLE_USER.name,
    author_email: "alice@example.com",
    authored_date: EXAMPLE_TIME,
    committer_name: EXAMPLE_USER.name,
    committer_email: "alice@example.com",
    committed_date: EXAMPLE_TIME,
    trailers: {},
    extended_trailers: {},
    web_url: `${webUrl}/-/commit/${sha}`,
  };
  const pipeline: GitLabPipeline = {
    id: 1001,
    iid: 1,
    project_id: project.id,
    sha,
    ref: "main",
    status: "success",
    source: "push",
    tag: false,
    before_sha: parent,
    name: null,
    created_at: EXAMPLE_TIME,
    updated_at: EXAMPLE_TIME,
    started_at: EXAMPLE_TIME,
    finished_at: EXAMPLE_TIME,
    duration: 0,
    queued_duration: 0,
    protected_ref: true,
    web_url: `${webUrl}/-/pipelines/1001`,
    user: EXAMPLE_USER,
    variables: [],
    stages: ["test", "deploy"],
    source_pipeline: null,
  };
  return { user: EXAMPLE_USER, project, commit, pipeline };
}

/** A pipeline event with `n` builds across three stages, for body-size and parser-limit tests. */
export function bigPipelineHook(n: number, headers?: GitLabHeaderOptions): GitLabDelivery<PipelineHookBody> {
  const { project, commit, pipeline } = exampleRecords();
  const stages = ["build", "test", "deploy"];
  const builds: GitLabJob[] = Array.from({ length: n }, (_, i) => {
    const stage = stages[Math.min(stages.length - 1, Math.floor((i * stages.length) / Math.max(n, 1)))] ?? "test";
    return {
      id: 5001 + i,
      project_id: project.id,
      pipeline_id: pipeline.id,
      name: `${stage}:${i + 1} [shard ${(i % 8) + 1}/8]`,
      stage,
      stage_idx: stages.indexOf(stage),
      status: "success",
      when: "on_success",
      allow_failure: false,
      ref: pipeline.ref,
      tag: false,
      sha: pipeline.sha,
      created_at: EXAMPLE_TIME,
      started_at: EXAMPLE_TIME,
      finished_at: EXAMPLE_TIME,
      duration: 12.5,
      queued_duration: 0.8,
      failure_reason: null,
      user: EXAMPLE_USER,
      environment: null,
      retried: false,
      web_url: `${project.web_url}/-/jobs/${5001 + i}`,
      variables: [],
    };
  });
  return pipelineHook({ project, pipeline: { ...pipeline, stages }, commit, builds, headers });
}
