import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GitbeakerRequestError, GitbeakerRetryError, Gitlab } from "@gitbeaker/rest";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { compositeStatus, type GitLabCommit, GitLabStandIn } from "./gitlab.js";
import {
  bigPipelineHook,
  DEFAULT_WEBHOOK_SECRET,
  deploymentHook,
  exampleRecords,
  gitlabHeaders,
  jobHook,
  pipelineHook,
  pushHook,
} from "./gitlab-events.js";

const TOKEN = "gitlab-test-token";

function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../test/fixtures/gitlab/${name}`, import.meta.url), "utf8"));
}

/** Paths where two JSON values differ in shape: object keys, and the first element of arrays. */
function shapeDiff(expected: unknown, actual: unknown, path = "$"): string[] {
  if (expected === null || actual === null) return [];
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return [`${path}: array vs not`];
    return expected.length > 0 && actual.length > 0 ? shapeDiff(expected[0], actual[0], `${path}[0]`) : [];
  }
  if (typeof expected === "object" || typeof actual === "object") {
    if (typeof expected !== "object" || typeof actual !== "object") return [`${path}: object vs ${typeof actual}`];
    const e = expected as Record<string, unknown>;
    const a = actual as Record<string, unknown>;
    const diffs = [
      ...Object.keys(e)
        .filter((k) => !(k in a))
        .map((k) => `${path}.${k} missing`),
      ...Object.keys(a)
        .filter((k) => !(k in e))
        .map((k) => `${path}.${k} unexpected`),
    ];
    for (const k of Object.keys(e)) if (k in a) diffs.push(...shapeDiff(e[k], a[k], `${path}.${k}`));
    return diffs;
  }
  return typeof expected === typeof actual ? [] : [`${path}: ${typeof expected} vs ${typeof actual}`];
}

/** gitbeaker types compare loosely (`commits` optional, no `web_url`); read it as it is on the wire. */
function wire(compare: unknown): { commits: Array<{ id: string; title: string }>; web_url: string } {
  return compare as { commits: Array<{ id: string; title: string }>; web_url: string };
}

async function requestError(promise: Promise<unknown>): Promise<GitbeakerRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GitbeakerRequestError) return error;
    throw error;
  }
  throw new Error("expected the request to fail");
}

describe("GitLab stand-in, driven by @gitbeaker/rest", () => {
  const gitlab = new GitLabStandIn();
  let api: InstanceType<typeof Gitlab>;

  beforeAll(async () => {
    await gitlab.start();
    api = new Gitlab({ host: gitlab.url, token: TOKEN });
  });
  afterAll(() => gitlab.close());
  afterEach(() => gitlab.clearFaults());

  describe("auth", () => {
    beforeAll(() => {
      gitlab.addProject("auth/app", { id: 900 });
    });

    it("rejects a wrong PRIVATE-TOKEN with GitLab's 401 body", async () => {
      const wrong = new Gitlab({ host: gitlab.url, token: "nope" });
      const error = await requestError(wrong.Projects.show(900));
      expect(error.message).toBe("401 Unauthorized");
      expect(error.cause?.response.status).toBe(401);
    });

    it("rejects a request without a token", async () => {
      const anonymous = new Gitlab({ host: gitlab.url });
      const error = await requestError(anonymous.Projects.show(900));
      expect(error.cause?.response.status).toBe(401);
    });

    it("accepts the token as PRIVATE-TOKEN and as an OAuth Bearer token", async () => {
      await expect(api.Projects.show(900)).resolves.toMatchObject({ id: 900 });
      expect(gitlab.calls.at(-1)?.headers["private-token"]).toBe(TOKEN);
      const oauth = new Gitlab({ host: gitlab.url, oauthToken: TOKEN });
      await expect(oauth.Projects.show(900)).resolves.toMatchObject({ path_with_namespace: "auth/app" });
    });
  });

  describe("projects", () => {
    beforeAll(() => {
      gitlab.addProject("acme/whitewave", { id: 42 });
    });

    it("finds a project by numeric id and by URL-encoded path", async () => {
      const byId = await api.Projects.show(42);
      const byPath = await api.Projects.show("acme/whitewave");
      expect(byPath).toEqual(byId);
      expect(byId).toMatchObject({
        id: 42,
        path_with_namespace: "acme/whitewave",
        default_branch: "main",
        web_url: `${gitlab.url}/acme/whitewave`,
      });
      expect(gitlab.calls.at(-1)?.path).toBe("/api/v4/projects/acme%2Fwhitewave");
    });

    it("answers 404 Project Not Found for an unknown project", async () => {
      const error = await requestError(api.Projects.show("acme/nothing"));
      expect(error.message).toBe("404 Project Not Found");
    });
  });

  describe("pipelines", () => {
    let first: GitLabCommit;
    let second: GitLabCommit;

    beforeAll(() => {
      gitlab.addProject("acme/pipes", { id: 43 });
      first = gitlab.commit(43, "main", "First");
      second = gitlab.commit(43, "main", "Second");
      gitlab.addPipeline(43, first.id, { status: "success" });
      gitlab.addPipeline(43, second.id, { status: "failed" });
      gitlab.addPipeline(43, second.id, { ref: "release", status: "success" });
      gitlab.addPipeline(43, second.id);
    });

    it("filters by sha and ref, newest first, in the list shape", async () => {
      const list = await api.Pipelines.all(43, { sha: second.id, ref: "main" });
      expect(list.map((p) => p.status)).toEqual(["success", "failed"]);
      expect(list[0]?.id).toBeGreaterThan(list[1]?.id ?? Number.POSITIVE_INFINITY);
      expect(Object.keys(list[0] ?? {}).sort()).toEqual(
        [
          "created_at",
          "id",
          "iid",
          "name",
          "project_id",
          "ref",
          "sha",
          "source",
          "status",
          "updated_at",
          "web_url",
        ].sort(),
      );
      const call = gitlab.callsTo("GET", "/api/v4/projects/43/pipelines").at(-1);
      expect(call?.query.get("sha")).toBe(second.id);
      expect(call?.query.get("ref")).toBe("main");
    });

    it("leaves child pipelines out of the list unless asked for source=parent_pipeline, as GitLab does", async () => {
      gitlab.addProject("acme/parent", { id: 145 });
      const c = gitlab.commit(145, "main", "With a child");
      const parent = gitlab.addPipeline(145, c.id, { status: "success" });
      const trigger = gitlab.jobs(145, parent.id)[0]?.id ?? 0;
      const child = gitlab.addPipeline(145, c.id, {
        status: "failed",
        childOf: { pipelineId: parent.id, jobId: trigger },
      });
      expect(child).toMatchObject({ source: "parent_pipeline", ref: "main", sha: c.id });

      const listed = await api.Pipelines.all(145, { sha: c.id, ref: "main" });
      expect(listed.map((p) => p.id)).toEqual([parent.id]);
      const children = await api.Pipelines.all(145, { source: "parent_pipeline" });
      expect(children.map((p) => p.id)).toEqual([child.id]);
      await expect(api.Pipelines.show(145, child.id)).resolves.toMatchObject({ source: "parent_pipeline" });

      const hook = gitlab.pipelineEvent(145, child.id).body;
      expect(hook.object_attributes.source).toBe("parent_pipeline");
      expect(hook.source_pipeline).toEqual({
        project: { id: 145, web_url: `${gitlab.url}/acme/parent`, path_with_namespace: "acme/parent" },
        job_id: trigger,
        pipeline_id: parent.id,
      });
      expect(gitlab.pipelineEvent(145, parent.id).body).not.toHaveProperty("source_pipeline");
    });

    it("rejects an invalid status filter as Grape does", async () => {
      const error = await requestError(api.Pipelines.all(43, { status: "green" as never }));
      expect(error.message).toBe("status does not have a valid value");
      expect(error.cause?.response.status).toBe(400);
    });

    it("shows one pipeline with detailed_status", async () => {
      const [latest] = gitlab.pipelines(43).slice(-1);
      const shown = await api.Pipelines.show(43, latest?.id ?? 0);
      expect(shown).toMatchObject({ id: latest?.id, status: "success", sha: second.id, before_sha: first.id });
      expect(shown.detailed_status).toMatchObject({ group: "success", label: "passed", text: "Passed" });
    });

    it("sends offset pagination headers, and gitbeaker follows link rel=next to the end", async () => {
      gitlab.addProject("acme/many", { id: 44 });
      const c = gitlab.commit(44, "main", "Only");
      for (let i = 0; i < 25; i++) gitlab.addPipeline(44, c.id);
      const before = gitlab.callsTo("GET", "/api/v4/projects/44/pipelines").length;

      const all = await api.Pipelines.all(44, { perPage: 10 });
      expect(all).toHaveLength(25);
      expect(gitlab.callsTo("GET", "/api/v4/projects/44/pipelines").length - before).toBe(3);

      const page = await api.Pipelines.all(44, { perPage: 10, page: 2, showExpanded: true });
      expect(page.data).toHaveLength(10);
      expect(page.paginationInfo).toEqual({ total: 25, next: 3, current: 2, previous: 1, perPage: 10, totalPages: 3 });
    });
  });

  describe("jobs", () => {
    let projectRef = "";
    let pipelineId: number;

    beforeEach(() => {
      const ref = `acme/jobs-${Math.random().toString(36).slice(2, 8)}`;
      gitlab.addProject(ref);
      const commit = gitlab.commit(ref, "main", "Deployable");
      pipelineId = gitlab.addPipeline(ref, commit.id, {
        jobs: [
          { name: "test", stage: "test", status: "success" },
          { name: "deploy_staging", stage: "deploy", status: "success", environment: "staging" },
          { name: "deploy_production", stage: "production", status: "manual", allowFailure: false },
        ],
      }).id;
      projectRef = ref;
    });

    it("lists a pipeline's jobs newest first, and a blocking manual job makes the pipeline manual", async () => {
      const jobs = await api.Jobs.all(projectRef, { pipelineId });
      expect(jobs.map((j) => j.name)).toEqual(["deploy_production", "deploy_staging", "test"]);
      expect(jobs[0]).toMatchObject({ status: "manual", allow_failure: false, pipeline: { id: pipelineId } });
      expect(gitlab.pipeline(projectRef, pipelineId).status).toBe("manual");
    });

    it("plays a manual job: pending, played by the token's user, pipeline running again", async () => {
      const job = gitlab.jobByName(projectRef, pipelineId, "deploy_production");
      const played = await api.Jobs.play(projectRef, job.id);
      expect(played).toMatchObject({ id: job.id, status: "pending", user: { username: "promote-bot" } });
      expect(gitlab.pipeline(projectRef, pipelineId).status).toBe("running");

      gitlab.setJobStatus(projectRef, job.id, "running");
      gitlab.setJobStatus(projectRef, job.id, "success");
      await expect(api.Jobs.show(projectRef, job.id)).resolves.toMatchObject({ status: "success" });
      expect(gitlab.pipeline(projectRef, pipelineId).status).toBe("success");
    });

    it("answers 403 to playing a job on a protected branch or for a protected environment the token's user may not deploy to", async () => {
      const job = gitlab.jobByName(projectRef, pipelineId, "deploy_production");
      gitlab.protectBranch(projectRef, "main");
      const onBranch = await requestError(api.Jobs.play(projectRef, job.id));
      expect(onBranch.message).toBe("403 Forbidden");
      expect(onBranch.cause?.response.status).toBe(403);
      // The permission check comes first: a job that is not playable is refused with 403 too.
      const test = gitlab.jobByName(projectRef, pipelineId, "test");
      expect((await requestError(api.Jobs.play(projectRef, test.id))).cause?.response.status).toBe(403);
      expect(gitlab.job(projectRef, job.id).status).toBe("manual");

      const other = `acme/env-${Math.random().toString(36).slice(2, 8)}`;
      gitlab.addProject(other);
      const commit = gitlab.commit(other, "main", "Deploy");
      const pipeline = gitlab.addPipeline(other, commit.id, {
        jobs: [{ name: "deploy_production", status: "manual", environment: "production" }],
      });
      gitlab.protectEnvironment(other, "production");
      const deploy = gitlab.jobByName(other, pipeline.id, "deploy_production");
      expect((await requestError(api.Jobs.play(other, deploy.id))).cause?.response.status).toBe(403);
      expect(gitlab.job(other, deploy.id).status).toBe("manual");
    });

    it("refuses to play a job that is not manual, or one already played", async () => {
      const test = gitlab.jobByName(projectRef, pipelineId, "test");
      const error = await requestError(api.Jobs.play(projectRef, test.id));
      expect(error.message).toBe("400 Bad request - Unplayable Job");
      expect(error.cause?.response.status).toBe(400);

      const prod = gitlab.jobByName(projectRef, pipelineId, "deploy_production");
      await api.Jobs.play(projectRef, prod.id);
      const again = await requestError(api.Jobs.play(projectRef, prod.id));
      expect(again.message).toBe("400 Bad request - Unplayable Job");
    });

    it("playing a finished manual job retries it, and answers with the old job", async () => {
      const prod = gitlab.jobByName(projectRef, pipelineId, "deploy_production");
      await api.Jobs.play(projectRef, prod.id);
      gitlab.setJobStatus(projectRef, prod.id, "failed", { failureReason: "script_failure" });

      const answer = await api.Jobs.play(projectRef, prod.id);
      expect(answer).toMatchObject({ id: prod.id, status: "failed", failure_reason: "script_failure" });
      const retry = gitlab.jobByName(projectRef, pipelineId, "deploy_production");
      expect(retry.id).not.toBe(prod.id);
      expect(retry.status).toBe("pending");
      const listed = await api.Jobs.all(projectRef, { pipelineId });
      expect(listed.filter((j) => j.name === "deploy_production").map((j) => j.id)).toEqual([retry.id]);
    });

    it("answers 404 for an unknown job", async () => {
      const error = await requestError(api.Jobs.show(projectRef, 999_999));
      expect(error.message).toBe("404 Not found");
    });
  });

  describe("repository", () => {
    const commits: GitLabCommit[] = [];

    beforeAll(() => {
      gitlab.addProject("acme/repo", { id: 45 });
      for (const title of ["one", "two", "three", "four"]) commits.push(gitlab.commit(45, "main", title));
      gitlab.addPipeline(45, commits[2]?.id ?? "", { status: "success" });
    });

    it("compares from (exclusive) to (inclusive), oldest first, commit = newest", async () => {
      const [one, two, three, four] = commits as [GitLabCommit, GitLabCommit, GitLabCommit, GitLabCommit];
      const compare = await api.Repositories.compare(45, one.id, four.id);
      expect(wire(compare).commits.map((c) => c.title)).toEqual(["two", "three", "four"]);
      expect(compare.commit).toMatchObject({ id: four.id, short_id: four.id.slice(0, 8) });
      expect(compare.compare_same_ref).toBe(false);
      expect(compare.diffs).toHaveLength(3);
      expect(wire(compare).web_url).toBe(`${gitlab.url}/acme/repo/-/compare/${one.id}...${four.id}`);

      const byBranch = await api.Repositories.compare(45, two.short_id, "main");
      expect(wire(byBranch).commits.map((c) => c.id)).toEqual([three.id, four.id]);
    });

    it("compares backwards to nothing, and the same ref to nothing with compare_same_ref", async () => {
      const [one, , , four] = commits as [GitLabCommit, GitLabCommit, GitLabCommit, GitLabCommit];
      const backwards = await api.Repositories.compare(45, four.id, one.id);
      expect(backwards).toMatchObject({ commit: null, commits: [], diffs: [], compare_same_ref: false });
      const same = await api.Repositories.compare(45, four.id, "main");
      expect(same).toMatchObject({ commit: null, commits: [], compare_same_ref: true });
    });

    it("answers 404 Ref Not Found for an unknown ref", async () => {
      const error = await requestError(api.Repositories.compare(45, "v9.9.9", "main"));
      expect(error.message).toBe("404 Ref Not Found");
    });

    it("shows a commit by sha, short sha or branch, with its last pipeline", async () => {
      const three = commits[2] as GitLabCommit;
      const shown = await api.Commits.show(45, three.id);
      expect(shown).toMatchObject({
        id: three.id,
        title: "three",
        message: "three\n",
        parent_ids: [commits[1]?.id],
        status: "success",
        last_pipeline: { sha: three.id, status: "success" },
        stats: { additions: 1, deletions: 0, total: 1 },
      });
      await expect(api.Commits.show(45, three.short_id)).resolves.toMatchObject({ id: three.id });
      await expect(api.Commits.show(45, "main")).resolves.toMatchObject({ id: commits[3]?.id, last_pipeline: null });
      const error = await requestError(api.Commits.show(45, "0".repeat(40)));
      expect(error.message).toBe("404 Commit Not Found");
    });
  });

  describe("hooks", () => {
    it("lists project hooks without their secret token", async () => {
      gitlab.addProject("acme/hooked", { id: 46 });
      gitlab.addHook(46, {
        url: "https://bot.example/gitlab",
        token: "s3cret",
        pipeline_events: true,
        job_events: true,
      });
      const hooks = await api.ProjectHooks.all(46);
      expect(hooks).toHaveLength(1);
      expect(hooks[0]).toMatchObject({
        url: "https://bot.example/gitlab",
        pipeline_events: true,
        job_events: true,
        push_events: true,
        deployment_events: false,
        alert_status: "executable",
      });
      expect(JSON.stringify(hooks)).not.toContain("s3cret");
    });
  });

  describe("gitbeaker's own retries (what the bot must account for)", () => {
    beforeAll(() => {
      gitlab.addProject("acme/flaky", { id: 47 });
    });
    const path = "/api/v4/projects/47";

    it("retries 429 by itself, ignoring Retry-After, then succeeds", async () => {
      gitlab.throttle({ path, times: 2, retryAfterSeconds: 30 });
      const before = gitlab.callsTo("GET", path).length;
      const started = Date.now();
      await expect(api.Projects.show(47)).resolves.toMatchObject({ id: 47 });
      expect(gitlab.callsTo("GET", path).length - before).toBe(3);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it("retries 502 ten times in total, then throws GitbeakerRetryError", async () => {
      gitlab.fault({ path, times: 20, response: { status: 502, body: "Bad Gateway" } });
      const before = gitlab.callsTo("GET", path).length;
      await expect(api.Projects.show(47)).rejects.toBeInstanceOf(GitbeakerRetryError);
      expect(gitlab.callsTo("GET", path).length - before).toBe(10);
    });

    it("does not retry 500, 503 or 504", async () => {
      for (const status of [500, 503, 504]) {
        gitlab.fault({ path, times: 1, response: { status, body: { message: "500 Internal Server Error" } } });
        const before = gitlab.callsTo("GET", path).length;
        const error = await requestError(api.Projects.show(47));
        expect(error.cause?.response.status).toBe(status);
        expect(gitlab.callsTo("GET", path).length - before).toBe(1);
      }
    });

    it("retries a POST on 502 too, so a play can reach GitLab twice", async () => {
      const commit = gitlab.commit(47, "main", "x");
      const pipeline = gitlab.addPipeline(47, commit.id, { jobs: [{ name: "deploy", status: "manual" }] });
      const job = gitlab.jobByName(47, pipeline.id, "deploy");
      const playPath = `/api/v4/projects/47/jobs/${job.id}/play`;
      gitlab.fault({ path: playPath, times: 1, response: { status: 502, body: "Bad Gateway" } });
      await expect(api.Jobs.play(47, job.id)).resolves.toMatchObject({ status: "pending" });
      expect(gitlab.callsTo("POST", playPath)).toHaveLength(2);
    });

    it("does not retry a dropped connection: fetch's TypeError surfaces as is", async () => {
      gitlab.fault({ path, times: 1, drop: true });
      await expect(api.Projects.show(47)).rejects.toThrow(TypeError);
    });
  });
});

describe("compositeStatus (GitLab's pipeline status from its jobs)", () => {
  it.each([
    [[{ status: "success", allow_failure: false }], "success"],
    [
      [
        { status: "failed", allow_failure: true },
        { status: "success", allow_failure: false },
      ],
      "success",
    ],
    [
      [
        { status: "manual", allow_failure: true },
        { status: "success", allow_failure: false },
      ],
      "success",
    ],
    [
      [
        { status: "manual", allow_failure: false },
        { status: "success", allow_failure: false },
      ],
      "manual",
    ],
    [
      [
        { status: "pending", allow_failure: false },
        { status: "success", allow_failure: false },
      ],
      "running",
    ],
    [
      [
        { status: "failed", allow_failure: false },
        { status: "success", allow_failure: false },
      ],
      "failed",
    ],
    [
      [
        { status: "created", allow_failure: false },
        { status: "success", allow_failure: false },
      ],
      "running",
    ],
    [
      [
        { status: "canceled", allow_failure: false },
        { status: "success", allow_failure: false },
      ],
      "canceled",
    ],
  ] as const)("%j -> %s", (jobs, expected) => {
    expect(compositeStatus(jobs)).toBe(expected);
  });
});

describe("webhook builders", () => {
  const instance = "https://gitlab.example.com";
  const gitlab = new GitLabStandIn({ externalUrl: instance, now: () => new Date("2025-03-04T09:12:31.000Z") });
  gitlab.addProject("acme/whitewave", { id: 42 });
  const before = gitlab.commit(42, "main", "Log gateway latency per attempt");
  const commit = gitlab.commit(42, "main", "Retry card authorisation once on gateway timeout");
  const pipeline = gitlab.addPipeline(42, commit.id, {
    jobs: [
      { name: "test", stage: "test", status: "success" },
      {
        name: "deploy_staging",
        stage: "deploy",
        status: "success",
        environment: "staging",
        environmentTier: "staging",
      },
      { name: "deploy_production", stage: "deploy", status: "manual", environment: "production" },
    ],
  });
  const project = gitlab.project(42);
  const jobs = gitlab.jobs(42, pipeline.id);

  it("pipelineHook matches the documented pipeline event's shape", () => {
    const { body, headers } = pipelineHook({ project, pipeline, commit, builds: jobs });
    expect(shapeDiff(fixture("pipeline-event.json"), body)).toEqual([]);
    expect(body.object_attributes).toMatchObject({
      status: "success",
      detailed_status: "passed",
      stages: ["test", "deploy"],
      created_at: "2025-03-04 09:12:31 UTC",
      before_sha: before.id,
    });
    expect(body.builds.find((b) => b.name === "deploy_production")).toMatchObject({ manual: true, when: "manual" });
    expect(headers["X-Gitlab-Event"]).toBe("Pipeline Hook");
  });

  it("jobHook matches the documented job event's shape, quirks included", () => {
    const job = gitlab.jobByName(42, pipeline.id, "deploy_staging");
    const { body } = jobHook({ project, pipeline, job, commit });
    expect(shapeDiff(fixture("job-event.json"), body)).toEqual([]);
    expect(body.commit.id).toBe(pipeline.id);
    expect(body.build_failure_reason).toBe("unknown_failure");
    expect(body.build_created_at_iso).toBe("2025-03-04T09:12:31Z");
  });

  it("deploymentHook and pushHook match the documented shapes", () => {
    const job = gitlab.jobByName(42, pipeline.id, "deploy_staging");
    const deployment = deploymentHook({
      project,
      commit,
      job,
      environment: "staging",
      status: "success",
      deploymentId: 7,
      environmentExternalUrl: "https://staging.whitewave.example",
    });
    expect(shapeDiff(fixture("deployment-event.json"), deployment.body)).toEqual([]);
    expect(deployment.body).toMatchObject({ short_sha: commit.id.slice(0, 8), ref: "main", deployable_id: job.id });

    const push = pushHook({ project, ref: "main", before: before.parent_ids[0] ?? "", commits: [before, commit] });
    expect(shapeDiff(fixture("push-event.json"), push.body)).toEqual([]);
    expect(push.body).toMatchObject({ ref: "refs/heads/main", after: commit.id, total_commits_count: 2 });
  });

  it("gitlabHeaders sends GitLab's headers, fresh UUIDs unless given", () => {
    const a = gitlabHeaders("Job Hook");
    const b = gitlabHeaders("Job Hook", { idempotencyKey: "k-1", eventUuid: "e-1", token: "other" });
    expect(a).toMatchObject({
      "Content-Type": "application/json",
      "X-Gitlab-Event": "Job Hook",
      "X-Gitlab-Token": DEFAULT_WEBHOOK_SECRET,
      "User-Agent": expect.stringMatching(/^GitLab\/17\./),
    });
    expect(a["Idempotency-Key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(a["Idempotency-Key"]).not.toBe(gitlabHeaders("Job Hook")["Idempotency-Key"]);
    expect(b).toMatchObject({ "Idempotency-Key": "k-1", "X-Gitlab-Event-UUID": "e-1", "X-Gitlab-Token": "other" });
    expect(gitlabHeaders("Job Hook", { token: null })).not.toHaveProperty("X-Gitlab-Token");
  });

  it("overrides deep-merge into the body and rawBody follows", () => {
    const d = pipelineHook({ project, pipeline, commit, overrides: { object_attributes: { status: "failed" } } });
    expect(d.body.object_attributes).toMatchObject({ status: "failed", sha: commit.id });
    expect(JSON.parse(d.rawBody)).toEqual(d.body);
  });

  it("bigPipelineHook builds n builds", () => {
    const big = bigPipelineHook(500);
    expect(big.body.builds).toHaveLength(500);
    expect(big.rawBody.length).toBeGreaterThan(250_000);
    expect(exampleRecords().project.web_url).toBe(`${instance}/acme/whitewave`);
  });
});

describe("deliveries to project hooks", () => {
  const received: Array<{ headers: IncomingMessage["headers"]; body: string }> = [];
  let answer = 200;
  let receiver: Server;
  let receiverUrl = "";
  let clock = new Date("2025-03-04T09:00:00.000Z");
  const gitlab = new GitLabStandIn({ now: () => clock });
  let api: InstanceType<typeof Gitlab>;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
        res.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/gitlab`;
    await gitlab.start();
    api = new Gitlab({ host: gitlab.url, token: TOKEN });
  });
  afterAll(async () => {
    await gitlab.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });
  beforeEach(() => {
    received.length = 0;
    answer = 200;
  });

  it("posts with the hook's token and a fresh webhook UUID, only to hooks subscribed to the event", async () => {
    gitlab.addProject("acme/deliver", { id: 60 });
    gitlab.addHook(60, { url: receiverUrl, token: "hook-secret", pipeline_events: true });
    const commit = gitlab.commit(60, "main", "Ship it");
    const pipeline = gitlab.addPipeline(60, commit.id);

    const results = await gitlab.deliver(60, gitlab.pipelineEvent(60, pipeline.id));
    expect(results.map((r) => r.status)).toEqual([200]);
    expect(received[0]?.headers).toMatchObject({
      "x-gitlab-token": "hook-secret",
      "x-gitlab-event": "Pipeline Hook",
      "x-gitlab-webhook-uuid": expect.stringMatching(/^[0-9a-f-]{36}$/),
      "x-gitlab-instance": gitlab.url,
    });
    await gitlab.deliver(60, gitlab.pipelineEvent(60, pipeline.id));
    expect(received[1]?.headers["x-gitlab-webhook-uuid"]).not.toBe(received[0]?.headers["x-gitlab-webhook-uuid"]);
    expect(JSON.parse(received[0]?.body ?? "{}")).toMatchObject({ object_kind: "pipeline" });

    await expect(gitlab.deliver(60, gitlab.jobEvent(60, gitlab.jobs(60, pipeline.id)[0]?.id ?? 0))).resolves.toEqual(
      [],
    );
  });

  it("a resend keeps the Idempotency-Key", async () => {
    gitlab.addProject("acme/resend", { id: 61 });
    gitlab.addHook(61, { url: receiverUrl, token: "t", job_events: true });
    const commit = gitlab.commit(61, "main", "Again");
    const pipeline = gitlab.addPipeline(61, commit.id);
    const [first] = await gitlab.deliver(61, gitlab.jobEvent(61, gitlab.jobs(61, pipeline.id)[0]?.id ?? 0));
    if (!first) throw new Error("no delivery");
    await gitlab.resend(first);
    expect(received).toHaveLength(2);
    expect(received[1]?.headers["idempotency-key"]).toBe(received[0]?.headers["idempotency-key"]);
    expect(received[1]?.body).toBe(received[0]?.body);
    // A resend is a new execution, in a request of its own: both UUIDs are new.
    for (const name of ["x-gitlab-event-uuid", "x-gitlab-webhook-uuid"]) {
      expect(received[1]?.headers[name]).toMatch(/^[0-9a-f-]{36}$/);
      expect(received[1]?.headers[name]).not.toBe(received[0]?.headers[name]);
    }
  });

  it("before 17.4 (idempotencyKeys false), deliveries and resends carry no Idempotency-Key", async () => {
    gitlab.addProject("acme/old", { id: 64 });
    gitlab.addHook(64, { url: receiverUrl, token: "t", pipeline_events: true });
    const commit = gitlab.commit(64, "main", "Old GitLab");
    const pipeline = gitlab.addPipeline(64, commit.id);
    gitlab.idempotencyKeys = false;
    try {
      const [first] = await gitlab.deliver(64, gitlab.pipelineEvent(64, pipeline.id));
      if (!first) throw new Error("no delivery");
      await gitlab.resend(first);
    } finally {
      gitlab.idempotencyKeys = true;
    }
    expect(received).toHaveLength(2);
    for (const r of received) expect(r.headers).not.toHaveProperty("idempotency-key");
    expect(received[1]?.headers["x-gitlab-event-uuid"]).not.toBe(received[0]?.headers["x-gitlab-event-uuid"]);
  });

  it("disables a hook for a while after 4 failures in a row, as GitLab does", async () => {
    gitlab.addProject("acme/failing", { id: 62 });
    const hook = gitlab.addHook(62, { url: receiverUrl, pipeline_events: true });
    const commit = gitlab.commit(62, "main", "Boom");
    const pipeline = gitlab.addPipeline(62, commit.id);
    answer = 500;
    for (let i = 0; i < 4; i++) await gitlab.deliver(62, gitlab.pipelineEvent(62, pipeline.id));
    expect(hook).toMatchObject({ alert_status: "temporarily_disabled", recent_failures: 4 });
    await expect(gitlab.deliver(62, gitlab.pipelineEvent(62, pipeline.id))).resolves.toEqual([]);

    clock = new Date(clock.getTime() + 61_000);
    answer = 200;
    await expect(gitlab.deliver(62, gitlab.pipelineEvent(62, pipeline.id))).resolves.toHaveLength(1);
    expect(hook).toMatchObject({ alert_status: "executable", recent_failures: 0, disabled_until: null });
  });

  it("with autoDeliver, playing a job sends Job, Pipeline and (for deployments) Deployment hooks", async () => {
    gitlab.addProject("acme/auto", { id: 63 });
    gitlab.addHook(63, {
      url: receiverUrl,
      token: "t",
      push_events: false,
      pipeline_events: true,
      job_events: true,
      deployment_events: true,
    });
    const commit = gitlab.commit(63, "main", "Auto");
    const pipeline = gitlab.addPipeline(63, commit.id, {
      jobs: [
        { name: "test", status: "success" },
        {
          name: "deploy_production",
          stage: "deploy",
          status: "manual",
          allowFailure: false,
          environment: "production",
        },
      ],
    });
    const job = gitlab.jobByName(63, pipeline.id, "deploy_production");
    gitlab.autoDeliver = true;
    try {
      await api.Jobs.play(63, job.id);
      gitlab.setJobStatus(63, job.id, "running");
      gitlab.setJobStatus(63, job.id, "success");
      await gitlab.settled();
    } finally {
      gitlab.autoDeliver = false;
    }
    const events = received.map((r) => {
      const body = JSON.parse(r.body) as { object_kind: string; build_status?: string; status?: string };
      const detail =
        body.build_status ??
        body.status ??
        (body as { object_attributes?: { status: string } }).object_attributes?.status;
      return `${r.headers["x-gitlab-event"]}:${detail}`;
    });
    expect(events).toEqual([
      "Job Hook:pending",
      "Pipeline Hook:running",
      "Job Hook:running",
      "Deployment Hook:running",
      "Job Hook:success",
      "Deployment Hook:success",
      "Pipeline Hook:success",
    ]);
  });
});
