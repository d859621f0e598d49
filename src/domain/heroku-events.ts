/**
 * The Heroku app webhook events the bot reads, validated on the fields it uses (unknown fields are
 * allowed). The envelope's `id` is the event's id: every retry of a delivery is a new attempt (a new
 * `webhook_metadata.attempt.id`, hence a new body and signature) of the same event.
 * Shapes: heroku/webhooks-docs `docs/event-examples/api-release-*.json` and `devcenter/app-webhooks.md`;
 * dyno events: Dev Center "Webhook Dyno Events" (the `dyno` include).
 */
import { z } from "zod";
import type { AppRelease } from "./ports.js";

const app = z.object({ id: z.string().min(1).max(100), name: z.string().min(1).max(100) });

const releaseData = z.object({
  id: z.string().min(1).max(100),
  version: z.number().int().nonnegative(),
  status: z.enum(["pending", "succeeded", "failed", "expired"]),
  app,
  slug: z.object({ id: z.string() }).nullable().optional(),
  // The docs' examples leave `current` out; the Platform API's release has it.
  current: z.boolean().optional(),
  created_at: z.string(),
  updated_at: z.string().optional(),
  description: z.string().nullable().optional(),
  output_stream_url: z.string().nullable().optional(),
  eligible_for_rollback: z.boolean().optional(),
  user: z.object({ email: z.string().nullable().optional() }).nullable().optional(),
});

const dynoData = z.object({
  app,
  state: z.string().max(50),
  type: z.string().max(100).optional(),
  name: z.string().max(100).optional(),
  release: z.object({ id: z.string().optional(), version: z.number().int().optional() }).nullable().optional(),
});

const envelope = z.object({
  id: z.string().min(1).max(100),
  action: z.string().max(50),
  resource: z.string().max(50),
  created_at: z.string().optional(),
  actor: z.object({ email: z.string().nullable().optional() }).nullable().optional(),
  webhook_metadata: z.object({ event: z.object({ include: z.string().max(100).optional() }).optional() }).optional(),
});

export type HerokuEvent =
  | { kind: "release"; id: string; action: string; release: AppRelease; actor: string | null }
  | { kind: "dyno"; id: string; action: string; app: AppRelease["app"]; state: string; releaseVersion: number | null }
  | { kind: "other"; id: string; resource: string };

/** Parses a delivery's JSON body; a reason when it is not a Heroku event the bot can read. */
export function parseHerokuEvent(body: unknown): { event: HerokuEvent } | { problem: string } {
  const head = envelope.safeParse(body);
  if (!head.success) return { problem: issueText(head.error) };
  const { id, action, resource } = head.data;
  const data = (body as { data?: unknown }).data;
  if (resource === "release") {
    const parsed = releaseData.safeParse(data);
    if (!parsed.success) return { problem: `data: ${issueText(parsed.error)}` };
    const r = parsed.data;
    return {
      event: {
        kind: "release",
        id,
        action,
        actor: head.data.actor?.email ?? null,
        release: {
          id: r.id,
          version: r.version,
          status: r.status,
          slugId: r.slug?.id ?? null,
          // Without the field, what Heroku means by current: the newest release that succeeded (the
          // view derives that itself).
          current: r.current ?? r.status === "succeeded",
          createdAt: r.created_at,
          updatedAt: r.updated_at ?? r.created_at,
          description: r.description ?? "",
          outputStreamUrl: r.output_stream_url ?? null,
          eligibleForRollback: r.eligible_for_rollback ?? r.status !== "expired",
          madeBy: r.user?.email ?? head.data.actor?.email ?? null,
          app: r.app,
        },
      },
    };
  }
  if (resource === "dyno") {
    const parsed = dynoData.safeParse(data);
    if (!parsed.success) return { problem: `data: ${issueText(parsed.error)}` };
    return {
      event: {
        kind: "dyno",
        id,
        action,
        app: parsed.data.app,
        state: parsed.data.state,
        releaseVersion: parsed.data.release?.version ?? null,
      },
    };
  }
  return { event: { kind: "other", id, resource } };
}

function issueText(error: z.ZodError): string {
  const first = error.issues[0];
  return first ? `${first.path.join(".") || "body"}: ${first.message}` : "invalid body";
}
