/** Builders of domain values for unit tests: a valid value by default, overridden field by field. */
import type { PipelineConfig } from "../../src/config.js";
import { parseDuration } from "../../src/domain/duration.js";
import type { Candidate } from "../../src/domain/records.js";
import type { Approval, PromotionRequest, TargetResult } from "../../src/domain/request.js";

export const REQUESTER = "UREQUESTER";
export const CREATED_AT = new Date("2025-03-04T10:00:00Z");
export const EXPIRES_AT = new Date("2025-03-04T12:00:00Z");

/** A Heroku promotion request; `kind: "rollback"` without `rollbackTo` gets none. */
export function aRequest(overrides: Partial<PromotionRequest> = {}): PromotionRequest {
  const request = {
    id: "req_01",
    pipeline: "whitewave",
    herokuPipelineId: "hp-1",
    sourceApp: { id: "app-staging", name: "whitewave-staging" },
    sourceReleaseId: "rel-41",
    sourceReleaseVersion: 41,
    slugId: "slug-1",
    commitSha: "9f2c4e81b7a05d3c6e1f8a9b0c2d4e6f8a1b3c5d",
    commitTitle: "Retry card authorisation once on gateway timeout",
    commitsBehind: 2,
    targetApps: [{ id: "app-prod", name: "whitewave-prod" }],
    requester: REQUESTER,
    requiredApprovals: 1,
    createdAt: CREATED_AT,
    expiresAt: EXPIRES_AT,
    state: "pending",
    channel: "C0123456789",
    messageTs: "1700000000.000100",
    candidateId: "cand_01",
    promotionId: null,
    promotionStartedAt: null,
    finishedAt: null,
    decidedBy: null,
    reason: null,
    outcome: null,
    overrideReason: null,
    overrideGate: null,
    kind: "promotion",
    baseline: null,
    drift: null,
    ...overrides,
  } as PromotionRequest;
  if (request.kind === "rollback" && !request.rollbackTo) request.rollbackTo = [];
  return request;
}

export function anApproval(approver: string, overrides: Partial<Approval> = {}): Approval {
  return { requestId: "req_01", approver, at: new Date("2025-03-04T10:05:00Z"), ...overrides };
}

export function aTarget(overrides: Partial<TargetResult> = {}): TargetResult {
  return {
    app: { id: "app-prod", name: "whitewave-prod" },
    status: "succeeded",
    releaseId: "rel-prod-99",
    releaseVersion: 99,
    errorMessage: null,
    outputTail: null,
    ...overrides,
  };
}

export function aCandidate(overrides: Partial<Candidate> = {}): Candidate {
  return {
    id: "cand_01",
    pipeline: "whitewave",
    herokuPipelineId: "hp-1",
    sourceAppId: "app-staging",
    sourceAppName: "whitewave-staging",
    releaseId: "rel-41",
    releaseVersion: 41,
    slugId: "slug-1",
    commitSha: "9f2c4e81b7a05d3c6e1f8a9b0c2d4e6f8a1b3c5d",
    commitTitle: "Retry card authorisation once on gateway timeout",
    commitAuthor: "Dana Reyes",
    ciPipelineId: 1187,
    ciPipelineUrl: "https://gitlab.example.com/acme/whitewave/-/pipelines/1187",
    channel: "C0123456789",
    messageTs: "1700000000.000100",
    state: "live",
    supersededBy: null,
    createdAt: CREATED_AT,
    gitlabJob: null,
    ...overrides,
  };
}

export function aPipelineConfig(overrides: Partial<PipelineConfig> = {}): PipelineConfig {
  return {
    name: "whitewave",
    herokuPipeline: "whitewave",
    gitlabProject: "acme/whitewave",
    branch: "main",
    channel: "C0123456789",
    from: "staging",
    to: "production",
    strategy: "heroku",
    productionJob: undefined,
    approverUsers: ["U0AAAAAAA"],
    approverGroups: ["S0BBBBBBB"],
    requiredApprovals: 1,
    allowSelfApproval: false,
    requestTtl: parseDuration("2h")!,
    freeze: [],
    drift: "warn",
    driftIgnore: [],
    ...overrides,
  };
}
