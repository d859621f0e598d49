/** Table types for Kysely. Times are ISO-8601 UTC strings (sortable as text on both backends). */
import type { Generated } from "kysely";

export interface DeliveriesTable {
  id: string;
  event: string;
  body: string;
  received_at: string;
  state: string;
  attempts: number;
  lease_owner: string | null;
  lease_until: string | null;
  last_error: string | null;
  finished_at: string | null;
}

export interface CandidatesTable {
  id: string;
  pipeline: string;
  heroku_pipeline_id: string;
  source_app_id: string;
  source_app_name: string;
  release_id: string;
  release_version: number;
  slug_id: string | null;
  commit_sha: string;
  commit_title: string | null;
  commit_author: string | null;
  ci_pipeline_id: number;
  ci_pipeline_url: string;
  channel: string;
  message_ts: string;
  state: string;
  superseded_by: number | null;
  created_at: string;
  /** JSON GitLabJobRef for strategy gitlab-job. */
  gitlab_job: string | null;
}

export interface RequestsTable {
  id: string;
  pipeline: string;
  heroku_pipeline_id: string;
  source_app_id: string;
  source_app_name: string;
  source_release_id: string;
  source_release_version: number;
  slug_id: string | null;
  commit_sha: string;
  commit_title: string | null;
  commits_behind: number | null;
  /** JSON array of {id, name}. */
  target_apps: string;
  requester: string;
  required_approvals: number;
  created_at: string;
  expires_at: string;
  state: string;
  channel: string;
  message_ts: string | null;
  candidate_id: string | null;
  promotion_id: string | null;
  promotion_started_at: string | null;
  finished_at: string | null;
  decided_by: string | null;
  reason: string | null;
  /** JSON PromotionOutcome. */
  outcome: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  updated_at: string;
  override_reason: string | null;
  override_gate: string | null;
  message_settled_at: string | null;
  /** When the post of the request's message was last claimed, by the database's clock. */
  message_claimed_at: string | null;
  /** When the request last changed state, by the database's clock (null before migration 0010). */
  state_changed_at: string | null;
  kind: string;
  /** JSON GitLabJobRef for strategy gitlab-job. */
  gitlab_job: string | null;
  /** JSON {appId: version} taken just before the POST. */
  baseline: string | null;
  /** JSON RollbackTarget[] for rollbacks. */
  rollback_to: string | null;
  /** JSON DriftReport: the last drift check between the source and the targets (issue 16). */
  drift: string | null;
}

export interface LocksTable {
  pipeline: string;
  reason: string;
  locked_by: string;
  locked_at: string;
}

export interface ApprovalsTable {
  request_id: string;
  approver: string;
  at: string;
}

export interface AuditTable {
  id: Generated<number>;
  request_id: string | null;
  pipeline: string;
  event: string;
  actor: string | null;
  at: string;
  /** JSON object. */
  detail: string;
}

export interface AppReleasesTable {
  app_id: string;
  version: number;
  release_id: string;
  status: string;
  /** 0 or 1: Heroku's `current` as last reported. */
  current: number;
  slug_id: string | null;
  description: string;
  made_by: string | null;
  eligible_for_rollback: number;
  output_stream_url: string | null;
  heroku_created_at: string;
  heroku_updated_at: string;
  /** event, read or action. */
  source: string;
  seen_at: string;
}

export interface HerokuAppsTable {
  app_id: string;
  app_name: string;
  last_event_at: string | null;
  last_read_at: string | null;
  release_events: Generated<number>;
  outside_announced_version: number | null;
}

export interface SlugCommitsTable {
  slug_id: string;
  commit_sha: string | null;
}

export interface HerokuPipelinesTable {
  name: string;
  pipeline_id: string;
  /** JSON AppRef. */
  source: string;
  /** JSON AppRef[]. */
  targets: string;
  read_at: string;
}

export interface Database {
  deliveries: DeliveriesTable;
  candidates: CandidatesTable;
  requests: RequestsTable;
  approvals: ApprovalsTable;
  audit: AuditTable;
  locks: LocksTable;
  app_releases: AppReleasesTable;
  heroku_apps: HerokuAppsTable;
  slug_commits: SlugCommitsTable;
  heroku_pipelines: HerokuPipelinesTable;
}
