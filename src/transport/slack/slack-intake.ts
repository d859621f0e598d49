/**
 * In front of Bolt's HTTP receiver for POST /slack/events: reads the body under a size limit (413,
 * closing the connection so no half-read body is left behind), verifies the signature with Bolt's
 * verifier and refuses timestamps more than 5 minutes away in either direction (Bolt only refuses old
 * ones) with 401, refuses bodies that are not a Slack payload object with 400, then hands the buffered
 * request to Bolt, which reuses the buffer. https://api.slack.com/authentication/verifying-requests-from-slack
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseQuery } from "node:querystring";
import { verifySlackRequest } from "@slack/bolt";
import type { Logger } from "../../infra/logger.js";
import { BodyTooLarge, header, readBody, sendJson } from "../http.js";

export const SLACK_BODY_LIMIT = 256 * 1024;
const MAX_SKEW_S = 5 * 60;

export interface SlackIntakeDeps {
  signingSecret: string;
  log: Logger;
  now: () => number;
  /** Bolt's receiver, given the request with its body already buffered as `rawBody`. */
  next: (req: IncomingMessage, res: ServerResponse) => void;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const isForm = (contentType: string | undefined) =>
  contentType?.startsWith("application/x-www-form-urlencoded") ?? false;

/**
 * Whether a verified body has the outer shape of a Slack request (the listeners validate the rest).
 * `parsedForm`: the form fields when the caller has parsed them already.
 */
export function looksLikeSlackBody(
  contentType: string | undefined,
  text: string,
  parsedForm?: ReturnType<typeof parseQuery>,
): boolean {
  if (isForm(contentType)) {
    const form = parsedForm ?? parseQuery(text);
    if (typeof form.payload === "string") {
      try {
        const payload: unknown = JSON.parse(form.payload);
        return isObject(payload) && typeof payload.type === "string" && isObject(payload.user);
      } catch {
        return false;
      }
    }
    return typeof form.command === "string" && typeof form.user_id === "string";
  }
  if (contentType?.startsWith("application/json")) {
    try {
      const body: unknown = JSON.parse(text);
      return isObject(body) && typeof body.type === "string";
    } catch {
      return false;
    }
  }
  return false;
}

export async function handleSlackEvents(
  req: IncomingMessage,
  res: ServerResponse,
  deps: SlackIntakeDeps,
): Promise<void> {
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return sendJson(res, 405, { error: "use POST" });
  }
  let raw: Buffer;
  try {
    raw = await readBody(req, SLACK_BODY_LIMIT);
  } catch (error) {
    if (error instanceof BodyTooLarge) {
      deps.log.warn("Slack request body over 256 KiB refused");
      return sendJson(res, 413, { error: "body too large" }, true);
    }
    throw error;
  }
  const text = raw.toString("utf8");
  const contentType = header(req, "content-type");
  // Parsed once here for the SSL check and the shape check (Bolt parses it again for itself).
  const form = isForm(contentType) ? parseQuery(text) : undefined;
  // Slack's unsigned SSL check for slash commands: Bolt answers it; nothing else in the body goes on.
  if (form?.ssl_check === "1") {
    (req as IncomingMessage & { rawBody?: Buffer }).rawBody = Buffer.from("ssl_check=1");
    return deps.next(req, res);
  }
  const timestamp = Number(header(req, "x-slack-request-timestamp"));
  try {
    verifySlackRequest({
      signingSecret: deps.signingSecret,
      body: text,
      headers: {
        "x-slack-signature": header(req, "x-slack-signature") ?? "",
        "x-slack-request-timestamp": timestamp,
      },
    });
    if (timestamp - deps.now() / 1000 > MAX_SKEW_S) throw new Error("timestamp is in the future");
  } catch (error) {
    deps.log.warn(
      { reason: error instanceof Error ? error.message.slice(0, 200) : "?" },
      "Slack request refused: bad signature or timestamp",
    );
    return sendJson(res, 401, { error: "invalid signature or timestamp" });
  }
  if (!looksLikeSlackBody(contentType, text, form)) {
    deps.log.warn({ contentType, bytes: raw.length }, "signed Slack request with a malformed body");
    return sendJson(res, 400, { error: "malformed Slack request body" });
  }
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
  deps.next(req, res);
}
