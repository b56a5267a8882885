import { inject } from "vitest"

export interface TestServerInfo {
  readonly name: "xandikos" | "radicale"
  readonly url: string
  readonly home: string
  readonly user: string
}

// The servers started by scripts/test-servers/globalSetup.ts, which this project does not compile.
declare module "vitest" {
  export interface ProvidedContext {
    caldavServers: ReadonlyArray<TestServerInfo>
  }
}

export const server = (name: TestServerInfo["name"]): TestServerInfo => {
  const found = inject("caldavServers").find((s) => s.name === name)
  if (found === undefined) throw new Error(`the global setup did not start ${name}`)
  return found
}
