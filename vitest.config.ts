import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "stand-ins/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Integration tests start servers and databases; two workers fit the project's 2-core machines.
    maxWorkers: 2,
  },
});
