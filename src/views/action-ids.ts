/** Every interactive element's action_id, in one place. Button values carry only an opaque id. */
export const ACTIONS = {
  promote: "promote_candidate",
  approve: "approve_request",
  reject: "reject_request",
  cancel: "cancel_request",
  rollback: "rollback_release",
  /** On a request whose outcome is unknown (approvers only, audited). */
  recordSucceeded: "record_outcome_succeeded",
  recordFailed: "record_outcome_failed",
  retryUnknown: "retry_unknown_outcome",
} as const;

export type ActionId = (typeof ACTIONS)[keyof typeof ACTIONS];
