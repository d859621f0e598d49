/** Every interactive element's action_id, in one place. Button values carry only an opaque id. */
export const ACTIONS = {
  promote: "promote_candidate",
  approve: "approve_request",
  reject: "reject_request",
  cancel: "cancel_request",
  rollback: "rollback_release",
} as const;

export type ActionId = (typeof ACTIONS)[keyof typeof ACTIONS];
