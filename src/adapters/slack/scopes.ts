/**
 * The Slack Web API methods the bot calls and the bot scope each needs
 * (https://api.slack.com/methods). manifest.yml must request exactly the scopes these and the app's
 * features need, no more: test/unit/manifest.test.ts checks it against this table and the code.
 */
export const WEB_API_SCOPES: Record<string, string | string[] | null> = {
  "chat.postMessage": "chat:write",
  "chat.update": "chat:write",
  "usergroups.users.list": "usergroups:read",
  // App Home views need no scope of their own.
  "views.publish": null,
  // Used by `npm run doctor` only.
  "auth.test": null,
  // Each conversation type has its own read scope; pipeline channels may be public or private.
  "conversations.info": ["channels:read", "groups:read"],
  // Looking for a request's message whose post was accepted but whose answer was lost, before posting
  // it again (decide.ts postMissingMessage). Reads only channels the bot is a member of.
  "conversations.history": ["channels:history", "groups:history"],
};

/** Scopes needed by features rather than by a method call. */
export const FEATURE_SCOPES = {
  /** The /promote slash command. */
  commands: "commands",
  /** Posting to a pipeline's channel without first being invited to it. */
  publicChannels: "chat:write.public",
} as const;
