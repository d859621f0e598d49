import { describe, expect, it } from "vitest";
import { verifyGitLabToken } from "../../../../src/transport/gitlab/verify-gitlab-token.js";

const SECRET = "webhook-secret-4444";

describe("verifyGitLabToken", () => {
  it("accepts the configured secret", () => {
    expect(verifyGitLabToken(SECRET, SECRET)).toBe(true);
  });

  it("refuses a missing token", () => {
    expect(verifyGitLabToken(undefined, SECRET)).toBe(false);
  });

  it.each(["", "webhook-secret-4445", "WEBHOOK-SECRET-4444", `${SECRET} `, SECRET.slice(0, -1), `${SECRET}${SECRET}`])(
    "refuses the wrong token %j, whatever its length",
    (token) => {
      expect(verifyGitLabToken(token, SECRET)).toBe(false);
    },
  );

  it("compares unicode tokens byte for byte", () => {
    expect(verifyGitLabToken("séc😀ret", "séc😀ret")).toBe(true);
    expect(verifyGitLabToken("se\u0301c", "séc")).toBe(false);
  });
});
