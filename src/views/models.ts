/**
 * View models: what the bot shows about a pipeline, as the use cases gather it for the views. They
 * live with the views that render them; the use cases in app/ fill them in.
 */

import type { PipelineConfig } from "../config.js";
import type { DriftMode, DriftReport } from "../domain/drift.js";
import type { Lock } from "../domain/gate.js";
import type { CommitInfo } from "../domain/ports.js";
import type { AppRef, PromotionRequest } from "../domain/request.js";

/** What one stage's app runs. */
export interface StageState {
  app: AppRef;
  version: number | null;
  commit: string | null;
}

/** A pipeline as `/promote status`, `/promote list` and App Home show it. */
export interface PipelineSnapshot {
  pipeline: PipelineConfig;
  staging: StageState | null;
  targets: StageState[];
  behind: { count: number; commits: CommitInfo[]; compareUrl: string } | null;
  active: PromotionRequest | undefined;
  lock: Lock | undefined;
  /** Why the snapshot is incomplete (Heroku or GitLab could not be read). */
  error: string | null;
  /** The drift check, where one was made for this view (`/promote status`). */
  drift?: DriftReport | null;
}

/** One pipeline in App Home: its snapshot, lock, a pending or unknown request, and whether the viewer decides. */
export interface HomeEntry {
  snapshot: PipelineSnapshot;
  lock: Lock | undefined;
  pending: PromotionRequest | undefined;
  /** A request whose outcome is unknown: it holds the pipeline until an approver records it. */
  unknown: PromotionRequest | undefined;
  canDecide: boolean;
}

/** A pipeline as its messages name it: stages, approvers, how many approvals. */
export interface PipelineView {
  name: string;
  from: string;
  to: string;
  approverUsers: string[];
  approverGroups: string[];
  requiredApprovals: number;
  /** What drift does for this pipeline (issue 16): shown, or blocking approvals. */
  drift: DriftMode;
}

export interface TargetView {
  app: AppRef;
  releaseVersion: number | null;
  commit: string | null;
}

export interface BehindView {
  count: number;
  commits: CommitInfo[];
  compareUrl: string;
}
