import { defineConfig } from "vitest/config"

// One run covers every package. The real CalDAV servers are started once for the whole run
// by the global setup and their URLs reach the tests through `inject`.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["./scripts/test-servers/globalSetup.ts"],
    setupFiles: ["./scripts/test-servers/propertySeed.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
