import type {} from "vitest"
import type { TestProject } from "vitest/node"
import { ensurePackages, startAll } from "./servers.js"

export interface TestServerInfo {
  readonly name: "xandikos" | "radicale"
  readonly url: string
  readonly home: string
  readonly user: string
}

declare module "vitest" {
  export interface ProvidedContext {
    caldavServers: ReadonlyArray<TestServerInfo>
  }
}

// Real servers for the whole run. A server that cannot start fails the run with what to install:
// nothing is silently skipped.
export default async function setup(project: TestProject) {
  ensurePackages()
  const servers = await startAll()
  project.provide(
    "caldavServers",
    servers.map(({ name, url, home, user }) => ({ name, url, home, user }))
  )
  return async () => {
    await Promise.all(servers.map((s) => s.stop()))
  }
}
