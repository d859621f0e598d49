import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Compares X-Gitlab-Token with the configured secret in constant time. Both sides are hashed first so
 * the buffers have equal length and the comparison leaks neither the content nor the length.
 */
export function verifyGitLabToken(received: string | undefined, secret: string): boolean {
  if (received === undefined) return false;
  const receivedDigest = createHash("sha256").update(received, "utf8").digest();
  const secretDigest = createHash("sha256").update(secret, "utf8").digest();
  return timingSafeEqual(receivedDigest, secretDigest);
}
