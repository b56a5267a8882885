import { defineConfig } from "vitest/config"

// One run covers every package. The real CalDAV servers are started once for the whole run
// by the global setup and their URLs reach the tests through `inject`.
export default defineConfig({
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    globalSetup: ["./scripts/test-servers/globalSetup.ts"],
    setupFiles: ["./scripts/test-servers/propertySeed.ts"],
    // Generous: a timeout here only catches a hung test. Real servers, Chromium and child processes
    // on a loaded 2-core machine take many times their idle time, and that says nothing about
    // correctness (speed is measured in `npm run bench`, never in a test's deadline).
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks"
  }
})
