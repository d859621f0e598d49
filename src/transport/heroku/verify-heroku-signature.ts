import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Checks `Heroku-Webhook-Hmac-SHA256`: the base64 HMAC-SHA256 of the raw body with the subscription's
 * secret (heroku/webhooks-docs `devcenter/app-webhooks.md`), compared in constant time. Computed on
 * the bytes as received, before anything parses them.
 */
export function verifyHerokuSignature(signature: string | undefined, rawBody: Buffer, secret: string): boolean {
  if (signature === undefined) return false;
  const expected = createHmac("sha256", secret).update(rawBody).digest();
  // A malformed header decodes to the wrong length (Buffer.from ignores what is not base64).
  const received = Buffer.from(signature.trim(), "base64");
  if (received.length !== expected.length) return false;
  return timingSafeEqual(received, expected);
}
