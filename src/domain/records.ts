/** Stored records besides requests: webhook deliveries and staging candidates. */

export interface Delivery {
  id: string;
  event: string;
  body: string;
  receivedAt: Date;
  state: "received" | "processing" | "done" | "failed";
  attempts: number;
  /** Why the last attempt failed, when one did. */
  lastError: string | null;
}

/**
 * A staging release announced in the channel ("staging ready"). Its message offers the Promote button
 * while it is `live`; a newer candidate supersedes it; a request turns its message into the approval message.
 */
export interface Candidate {
  id: string;
  pipeline: string;
  herokuPipelineId: string;
  sourceAppId: string;
  sourceAppName: string;
  releaseId: string;
  releaseVersion: number;
  slugId: string | null;
  commitSha: string;
  commitTitle: string | null;
  commitAuthor: string | null;
  ciPipelineId: number;
  ciPipelineUrl: string;
  channel: string;
  messageTs: string;
  state: "live" | "superseded" | "requested";
  supersededBy: number | null;
  createdAt: Date;
  /** For strategy gitlab-job: the manual production job this candidate would play. */
  gitlabJob: { id: number; name: string; pipelineId: number } | null;
}
