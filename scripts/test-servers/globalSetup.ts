import type { TestProject } from "vitest/node"
import { build, isStale } from "../../packages/server/build.mjs"
import type {} from "./context.js"
import { ensurePackages, startAll } from "./servers.js"

// Real servers for the whole run. A server that cannot start fails the run with what to install:
// nothing is silently skipped.
export default async function setup(project: TestProject) {
  ensurePackages()
  // The CLI tests run the built program, as `npx almanac` does; built once here, not by each test.
  if (isStale()) await build()
  const servers = await startAll()
  project.provide(
    "caldavServers",
    servers.map(({ name, url, home, user }) => ({ name, url, home, user }))
  )
  return async () => {
    await Promise.all(servers.map((s) => s.stop()))
  }
}
