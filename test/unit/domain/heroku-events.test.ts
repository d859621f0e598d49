import { describe, expect, it } from "vitest";
import { parseHerokuEvent } from "../../../src/domain/heroku-events.js";

/** The envelope of heroku/webhooks-docs `docs/event-examples/api-release-update.json`, with our own values. */
const releaseUpdate = {
  action: "update",
  actor: { email: "grace@example.com", id: "a1" },
  created_at: "2026-12-01T10:00:00Z",
  id: "event-1",
  data: {
    app: { id: "app-1", name: "whitewave-prod" },
    created_at: "2026-12-01T09:59:00Z",
    description: null,
    status: "failed",
    id: "release-1",
    slug: null,
    updated_at: "2026-12-01T10:00:00Z",
    user: { email: "grace@example.com", id: "a1" },
    version: 7,
  },
  previous_data: { status: null },
  published_at: null,
  resource: "release",
  sequence: null,
  updated_at: "2026-12-01T10:00:00Z",
  version: "application/vnd.heroku+json; version=3",
};

describe("parseHerokuEvent", () => {
  it("reads a release event, without `current` (the docs' examples leave it out): current only if it succeeded", () => {
    const parsed = parseHerokuEvent(releaseUpdate);
    expect(parsed).toEqual({
      event: {
        kind: "release",
        id: "event-1",
        action: "update",
        actor: "grace@example.com",
        release: expect.objectContaining({
          id: "release-1",
          version: 7,
          status: "failed",
          current: false,
          slugId: null,
          description: "",
          madeBy: "grace@example.com",
          app: { id: "app-1", name: "whitewave-prod" },
        }),
      },
    });
  });

  it("reads a dyno event's app, state and release version", () => {
    const parsed = parseHerokuEvent({
      ...releaseUpdate,
      resource: "dyno",
      data: { app: { id: "app-1", name: "w" }, name: "web.1", state: "crashed", release: { id: "r", version: 7 } },
    });
    expect(parsed).toMatchObject({ event: { kind: "dyno", state: "crashed", releaseVersion: 7 } });
  });

  it("passes other resources through as 'other' and says what is wrong with a malformed event", () => {
    expect(parseHerokuEvent({ ...releaseUpdate, resource: "domain", data: {} })).toEqual({
      event: { kind: "other", id: "event-1", resource: "domain" },
    });
    expect(parseHerokuEvent({ ...releaseUpdate, id: undefined })).toEqual({ problem: expect.stringMatching(/^id:/) });
    expect(parseHerokuEvent({ ...releaseUpdate, data: { ...releaseUpdate.data, version: "7" } })).toEqual({
      problem: expect.stringMatching(/^data: version/),
    });
    expect(parseHerokuEvent("text")).toEqual({ problem: expect.any(String) });
  });
});
