import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  deploymentEventSchema,
  HANDLED_EVENTS,
  isChildPipeline,
  isHandledEvent,
  jobEventSchema,
  naturalKey,
  pipelineEventSchema,
} from "../../../src/domain/gitlab-events.js";

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/gitlab/${name}.json`, import.meta.url), "utf8"));
}

describe("GitLab event schemas", () => {
  it("accept the recorded pipeline, job and deployment events, with all their unknown fields", () => {
    expect(pipelineEventSchema.safeParse(fixture("pipeline-event")).success).toBe(true);
    expect(jobEventSchema.safeParse(fixture("job-event")).success).toBe(true);
    expect(deploymentEventSchema.safeParse(fixture("deployment-event")).success).toBe(true);
  });

  it("keep the fields the bot uses from a pipeline event", () => {
    const event = pipelineEventSchema.parse(fixture("pipeline-event"));
    expect(event.object_attributes).toMatchObject({
      id: 1187,
      ref: "main",
      tag: false,
      sha: "9f2c4e81b7a05d3c6e1f8a9b0c2d4e6f8a1b3c5d",
      status: "success",
    });
    expect(event.project).toMatchObject({ id: 42, path_with_namespace: "acme/whitewave" });
  });

  it("accept fields GitLab may add later", () => {
    const body = { ...fixture("pipeline-event"), added_in_gitlab_99: { anything: true } };
    expect(pipelineEventSchema.safeParse(body).success).toBe(true);
  });

  it("refuse a push event under every handled kind", () => {
    const push = fixture("push-event");
    for (const schema of Object.values(HANDLED_EVENTS)) expect(schema.safeParse(push).success).toBe(false);
  });

  it("refuse a pipeline event whose sha is not a commit SHA", () => {
    const body = fixture("pipeline-event");
    const attributes = body.object_attributes as Record<string, unknown>;
    for (const sha of ["main", "9F2C4E81B7A0", "abc", ""]) {
      const result = pipelineEventSchema.safeParse({ ...body, object_attributes: { ...attributes, sha } });
      expect(result.success).toBe(false);
    }
  });

  it("refuse a pipeline event without a project", () => {
    const { project: _project, ...body } = fixture("pipeline-event");
    expect(pipelineEventSchema.safeParse(body).success).toBe(false);
  });

  it("accept a pipeline event without a commit or merge request", () => {
    const body = { ...fixture("pipeline-event"), commit: null, merge_request: null };
    expect(pipelineEventSchema.safeParse(body).success).toBe(true);
  });
});

describe("isChildPipeline", () => {
  const body = fixture("pipeline-event");
  const attributes = body.object_attributes as Record<string, unknown>;
  const upstream = (projectId: number) => ({
    project: { id: projectId, web_url: "https://gitlab.example.com/acme/x", path_with_namespace: "acme/x" },
    job_id: 90400,
    pipeline_id: 1186,
  });
  const event = (source: string | null, sourcePipeline?: unknown) =>
    pipelineEventSchema.parse({
      ...body,
      object_attributes: { ...attributes, source },
      ...(sourcePipeline === undefined ? {} : { source_pipeline: sourcePipeline }),
    });

  it("is a child pipeline when GitLab says source parent_pipeline", () => {
    expect(isChildPipeline(event("parent_pipeline", upstream(42)))).toBe(true);
  });

  it("is not one for a push pipeline or a multi-project downstream pipeline", () => {
    expect(isChildPipeline(event("push"))).toBe(false);
    expect(isChildPipeline(event("pipeline", upstream(7)))).toBe(false);
  });

  it("without a source, is one when the upstream pipeline is in the same project", () => {
    expect(isChildPipeline(event(null, upstream(42)))).toBe(true);
    expect(isChildPipeline(event(null, upstream(7)))).toBe(false);
    expect(isChildPipeline(event(null))).toBe(false);
  });

  it("an unexpected source_pipeline shape does not refuse the delivery", () => {
    expect(pipelineEventSchema.safeParse({ ...body, source_pipeline: "odd" }).success).toBe(true);
    expect(isChildPipeline(event("push", { project: "odd" }))).toBe(false);
  });
});

describe("isHandledEvent", () => {
  it("knows the pipeline, job and deployment hooks", () => {
    for (const event of ["Pipeline Hook", "Job Hook", "Deployment Hook"]) expect(isHandledEvent(event)).toBe(true);
  });

  it("ignores other kinds, including names inherited from Object", () => {
    for (const event of [
      "Push Hook",
      "Merge Request Hook",
      "pipeline hook",
      "",
      "constructor",
      "__proto__",
      "toString",
    ]) {
      expect(isHandledEvent(event)).toBe(false);
    }
  });
});

describe("naturalKey", () => {
  it("keys a pipeline event by project, pipeline, status and finished_at", () => {
    expect(naturalKey("Pipeline Hook", pipelineEventSchema.parse(fixture("pipeline-event")))).toBe(
      "pipeline:42:1187:success:2025-03-04 09:19:02 UTC",
    );
  });

  it("keys a job event by project, job, status and its finish (else start) time", () => {
    const job = fixture("job-event");
    expect(naturalKey("Job Hook", jobEventSchema.parse(job))).toBe("job:42:90412:success:2025-03-04 10:04:47 UTC");
    const running = jobEventSchema.parse({ ...job, build_status: "running", build_finished_at: null });
    expect(naturalKey("Job Hook", running)).toBe("job:42:90412:running:2025-03-04 10:02:11 UTC");
  });

  it("keys a deployment event by project, deployment, status and status_changed_at", () => {
    expect(naturalKey("Deployment Hook", deploymentEventSchema.parse(fixture("deployment-event")))).toBe(
      "deployment:42:311:success:2025-03-04 10:04:47 +0000",
    );
  });

  it("gives a status change of the same pipeline its own key, and so a second failure after a retry", () => {
    const body = fixture("pipeline-event");
    const attributes = body.object_attributes as Record<string, unknown>;
    const key = (status: string, finished_at: string | null) =>
      naturalKey(
        "Pipeline Hook",
        pipelineEventSchema.parse({ ...body, object_attributes: { ...attributes, status, finished_at } }),
      );
    expect(key("running", null)).toBe("pipeline:42:1187:running:");
    expect(key("failed", "2025-03-04 09:19:02 UTC")).not.toBe(key("failed", "2025-03-04 09:31:40 UTC"));
    expect(key("failed", "2025-03-04 09:19:02 UTC")).toBe(key("failed", "2025-03-04 09:19:02 UTC"));
  });

  it("does not refuse an event whose time field has an unexpected type", () => {
    const body = fixture("job-event");
    expect(naturalKey("Job Hook", jobEventSchema.parse({ ...body, build_finished_at: 17 }))).toBe(
      "job:42:90412:success:2025-03-04 10:02:11 UTC",
    );
  });
});
