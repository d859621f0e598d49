import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { verifyHerokuSignature } from "../../../../src/transport/heroku/verify-heroku-signature.js";

const SECRET = "s".repeat(40);
const body = Buffer.from('{"id":"e1","resource":"release"}');
const signature = createHmac("sha256", SECRET).update(body).digest("base64");

describe("verifyHerokuSignature", () => {
  it("accepts the base64 HMAC-SHA256 of the raw body with the secret", () => {
    expect(verifyHerokuSignature(signature, body, SECRET)).toBe(true);
  });

  it("refuses a missing, truncated, hex or other-secret signature, and one over other bytes", () => {
    expect(verifyHerokuSignature(undefined, body, SECRET)).toBe(false);
    expect(verifyHerokuSignature(signature.slice(0, 20), body, SECRET)).toBe(false);
    expect(verifyHerokuSignature(createHmac("sha256", SECRET).update(body).digest("hex"), body, SECRET)).toBe(false);
    expect(
      verifyHerokuSignature(createHmac("sha256", "x".repeat(40)).update(body).digest("base64"), body, SECRET),
    ).toBe(false);
    expect(verifyHerokuSignature(signature, Buffer.concat([body, Buffer.from(" ")]), SECRET)).toBe(false);
  });
});
