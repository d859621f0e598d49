/**
 * The parts of GitLab webhook bodies the bot uses, validated with zod. Unknown fields are allowed:
 * GitLab adds fields over time. https://docs.gitlab.com/user/project/integrations/webhook_events/
 */
import { z } from "zod";

const projectRef = z.object({
  id: z.number().int(),
  path_with_namespace: z.string().min(1),
  web_url: z.string().optional(),
  default_branch: z.string().nullish(),
});

export const pipelineEventSchema = z.object({
  object_kind: z.literal("pipeline"),
  object_attributes: z.object({
    id: z.number().int(),
    ref: z.string(),
    tag: z.boolean(),
    sha: z.string().regex(/^[0-9a-f]{7,64}$/, { error: "expected a commit SHA" }),
    status: z.string(),
    source: z.string().nullish(),
    url: z.string().nullish(),
    // Pipeline Hooks carry no updated_at; finished_at changes when a retried pipeline ends again.
    finished_at: z.string().nullish().catch(null),
  }),
  merge_request: z.object({ iid: z.number().optional() }).passthrough().nullish(),
  // Set for downstream pipelines (child and multi-project): `Gitlab::DataBuilder::Pipeline#source_pipeline_attrs`.
  // Read only to tell a child pipeline apart, so an odd shape counts as absent rather than refusing the delivery.
  source_pipeline: z
    .object({
      pipeline_id: z.number().int().nullish(),
      project: z.object({ id: z.number().int().nullish() }).passthrough().nullish(),
    })
    .passthrough()
    .nullish()
    .catch(null),
  project: projectRef,
  builds: z.array(z.object({ id: z.number().int(), name: z.string(), status: z.string() }).passthrough()).nullish(),
  commit: z
    .object({
      id: z.string().optional(),
      title: z.string().nullish(),
      message: z.string().nullish(),
      author: z.object({ name: z.string().nullish() }).nullish(),
    })
    .nullish(),
});

export const jobEventSchema = z.object({
  object_kind: z.literal("build"),
  build_id: z.number().int(),
  build_name: z.string(),
  build_status: z.string(),
  pipeline_id: z.number().int(),
  project_id: z.number().int(),
  ref: z.string(),
  sha: z.string(),
  build_started_at: z.string().nullish().catch(null),
  build_finished_at: z.string().nullish().catch(null),
});

export const deploymentEventSchema = z.object({
  object_kind: z.literal("deployment"),
  status: z.string(),
  deployment_id: z.number().int(),
  status_changed_at: z.string().nullish().catch(null),
  project: projectRef,
});

export type PipelineEvent = z.infer<typeof pipelineEventSchema>;
export type JobEvent = z.infer<typeof jobEventSchema>;
export type DeploymentEvent = z.infer<typeof deploymentEventSchema>;

/** X-Gitlab-Event header values the bot records; other kinds are acknowledged and ignored. */
export const HANDLED_EVENTS = {
  "Pipeline Hook": pipelineEventSchema,
  "Job Hook": jobEventSchema,
  "Deployment Hook": deploymentEventSchema,
} as const;

export type HandledEvent = keyof typeof HANDLED_EVENTS;
export type HandledBody = PipelineEvent | JobEvent | DeploymentEvent;

export function isHandledEvent(event: string): event is HandledEvent {
  return Object.hasOwn(HANDLED_EVENTS, event);
}

/**
 * A child pipeline (`trigger: include:` in the parent's CI config) has its own Pipeline Hooks, but its
 * status is only part of the branch's CI result, which the parent pipeline carries: GitLab's pipelines
 * list leaves child pipelines out too (`Ci::PipelinesFinder` filters them unless asked for).
 * GitLab sends `source: "parent_pipeline"`; without `source` (older versions), a `source_pipeline` in the
 * same project means the same thing, since a multi-project downstream pipeline lives in another project.
 */
export function isChildPipeline(event: PipelineEvent): boolean {
  const source = event.object_attributes.source;
  if (source) return source === "parent_pipeline";
  const upstream = event.source_pipeline?.project?.id;
  return upstream !== undefined && upstream !== null && upstream === event.project.id;
}

/**
 * The event's own identity, for deduplicating deliveries that carry no `Idempotency-Key` (GitLab before
 * 17.4): a resend gets a new `X-Gitlab-Event-UUID` (and `X-Gitlab-Webhook-UUID`), while distinct events
 * may share one (GitLab recycles the event UUID for every hook fired from a request that carried one:
 * `Gitlab::WebHooks::RecursionDetection::UUID`), so neither header identifies an event. The object, its
 * status and the time of that status do: a pipeline retried after failing that fails again has a later
 * `finished_at`, a job's status has its start or finish time, a deployment its `status_changed_at`.
 */
export function naturalKey(event: HandledEvent, body: PipelineEvent | JobEvent | DeploymentEvent): string {
  switch (body.object_kind) {
    case "pipeline": {
      const attributes = body.object_attributes;
      return `pipeline:${body.project.id}:${attributes.id}:${attributes.status}:${attributes.finished_at ?? ""}`;
    }
    case "build":
      return `job:${body.project_id}:${body.build_id}:${body.build_status}:${body.build_finished_at ?? body.build_started_at ?? ""}`;
    case "deployment":
      return `deployment:${body.project.id}:${body.deployment_id}:${body.status}:${body.status_changed_at ?? ""}`;
    default:
      return `${event}:unknown`;
  }
}
