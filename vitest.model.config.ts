import { defineConfig } from "vitest/config";

/** `npm run test:model`: the long run of the model-based test (test/model/long-run.model.ts), alone. */
export default defineConfig({
  test: {
    include: ["test/model/**/*.model.ts"],
    testTimeout: 6 * 3_600_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
