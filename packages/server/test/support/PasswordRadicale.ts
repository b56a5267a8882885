/**
 * A Radicale that checks passwords (scripts/test-servers `startRadicaleWithAuth`), as an Effect
 * resource: stopped when the scope closes. `setPassword` changes the password at the server, as
 * revoking an app-specific password at Apple would.
 */
import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import { startRadicaleWithAuth } from "../../../../scripts/test-servers/servers.js"

export interface PasswordRadicale {
  readonly name: string
  readonly url: string
  readonly home: string
  readonly user: string
  readonly password: string
  readonly setPassword: (password: string) => Promise<void>
}

export const start: Effect.Effect<PasswordRadicale, never, Scope.Scope> = Effect.gen(function* () {
  const user = "almanac"
  const password = `right-${randomBytes(6).toString("hex")}`
  const server = yield* Effect.acquireRelease(
    Effect.promise(() => startRadicaleWithAuth({ [user]: password })),
    (s) => Effect.promise(() => s.stop())
  )
  return {
    name: "radicale with passwords",
    url: server.url,
    home: server.home,
    user,
    password,
    setPassword: async (next) => server.setUsers({ [user]: next })
  }
})
