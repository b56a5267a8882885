/**
 * What the global setup hands to the tests: the CalDAV servers it started. The one declaration
 * of that contract, shared by the setup and by every package's tests.
 */
import { inject } from "vitest"

export interface TestServerInfo {
  readonly name: "xandikos" | "radicale"
  readonly url: string
  /** URL of the test user's calendar home, ending in "/". */
  readonly home: string
  readonly user: string
}

declare module "vitest" {
  export interface ProvidedContext {
    caldavServers: ReadonlyArray<TestServerInfo>
  }
}

export const caldavServers = (): ReadonlyArray<TestServerInfo> => {
  const servers = inject("caldavServers")
  if (servers.length === 0) throw new Error("the global setup provided no CalDAV servers")
  return servers
}

export const caldavServer = (name: TestServerInfo["name"]): TestServerInfo => {
  const found = caldavServers().find((s) => s.name === name)
  if (found === undefined) throw new Error(`the global setup did not start ${name}`)
  return found
}
