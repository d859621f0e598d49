/**
 * In front of Bolt for POST /slack/events: reads the body under a size limit (413, closing the
 * connection so no half-read body is left behind), verifies the signature with Bolt's verifier and
 * refuses timestamps more than 5 minutes away in either direction (Bolt only refuses old ones) with
 * 401, refuses bodies that are not a Slack payload object with 400, then hands the body, parsed once,
 * to Bolt's receiver (slack-receiver.ts). https://api.slack.com/authentication/verifying-requests-from-slack
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
  /** Bolt's receiver, given the verified body parsed as Bolt's HTTPReceiver parses it. */
  next: (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const FORM = "application/x-www-form-urlencoded";
const isForm = (contentType: string | undefined) => contentType?.startsWith(FORM) ?? false;

const PAYLOAD_FIELD = "payload=";

/**
 * The form fields, as `querystring.parse` returns them. An interaction is one field, `payload`, of a
 * few kilobytes of escaped JSON: it is decoded at once, as querystring decodes it when its escapes
 * are well formed ('+' is a space, then `decodeURIComponent`), without querystring's scan of every character in JavaScript
 * (most of a denied click's parse, bench/PROFILING.md).
 */
export function parseForm(text: string): ReturnType<typeof parseQuery> {
  if (text.startsWith(PAYLOAD_FIELD) && !text.includes("&")) {
    try {
      const form: ReturnType<typeof parseQuery> = Object.create(null);
      form.payload = decodeURIComponent(text.slice(PAYLOAD_FIELD.length).replaceAll("+", " "));
      return form;
    } catch {
      // Malformed escapes: querystring's own lenient decoding, below.
    }
  }
  return parseQuery(text);
}

/** Not JSON: the body Bolt would have failed to parse. */
const NOT_JSON = Symbol("not JSON");

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
}

/**
 * The body Bolt's HTTPReceiver would have parsed from a verified request (the interaction's `payload`
 * JSON, a command's form fields, an Events API JSON body), or undefined when the request does not
 * have the outer shape of a Slack request (the listeners validate the rest). `form`: the form fields
 * when the content type is a form. Bolt compares the content type with `===`: a form with parameters
 * (`; charset=utf-8`) passes the shape check but is then parsed by Bolt as JSON, which nearly always
 * fails (400); that is kept as it was.
 */
function slackBody(
  contentType: string | undefined,
  text: string,
  form: ReturnType<typeof parseQuery> | undefined,
): Record<string, unknown> | typeof NOT_JSON | undefined {
  if (form) {
    let body: Record<string, unknown>;
    if (typeof form.payload === "string") {
      const payload = parseJson(form.payload);
      if (!isObject(payload) || typeof payload.type !== "string" || !isObject(payload.user)) return undefined;
      body = payload;
    } else if (typeof form.command === "string" && typeof form.user_id === "string") {
      body = form;
    } else return undefined;
    // As Bolt's parseHTTPRequestBody; a JSON value other than an object reaches Bolt as it did.
    return contentType === FORM ? body : (parseJson(text) as Record<string, unknown>);
  }
  if (contentType?.startsWith("application/json")) {
    const body = parseJson(text);
    return isObject(body) && typeof body.type === "string" ? body : undefined;
  }
  return undefined;
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
  // Parsed once, here: Bolt gets the parsed body.
  const form = isForm(contentType) ? parseForm(text) : undefined;
  // Slack's unsigned SSL check for slash commands: Bolt answers it; nothing else in the body goes on.
  // (Bolt parses a form with parameters in its content type as JSON, and `ssl_check=1` is not JSON.)
  if (form?.ssl_check === "1") {
    if (contentType === FORM) return deps.next({ ssl_check: "1" }, req, res);
    deps.log.warn("Slack SSL check with a content type Bolt does not parse as a form");
    return sendJson(res, 400, { error: "malformed Slack request body" });
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
  const body = slackBody(contentType, text, form);
  if (body === undefined || body === NOT_JSON) {
    deps.log.warn({ contentType, bytes: raw.length }, "signed Slack request with a malformed body");
    return sendJson(res, 400, { error: "malformed Slack request body" });
  }
  deps.next(body, req, res);
}
