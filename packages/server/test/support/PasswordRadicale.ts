/**
 * A Radicale that checks passwords, for what the shared test servers cannot show because they
 * accept any password: a calendar server answering 401. The scoped form of the setup's
 * startRadicaleWithAuth, with one user: stopped when the scope closes.
 */
import { Effect, type Scope } from "effect"
import { startRadicaleWithAuth } from "../../../../scripts/test-servers/servers.js"

export interface PasswordRadicale {
  readonly name: string
  readonly url: string
  readonly home: string
  readonly user: string
  /** The password it accepts at the start. */
  readonly password: string
  /** From now on only `password` is accepted: what revoking an app-specific password does. */
  readonly setPassword: (password: string) => Promise<void>
}

const user = "almanac"
const password = "right-password"

export const start: Effect.Effect<PasswordRadicale, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => startRadicaleWithAuth({ [user]: password })),
  (server) => Effect.promise(() => server.stop())
).pipe(
  Effect.map((server) => ({
    name: "radicale with passwords",
    url: server.url,
    home: server.home,
    user,
    password,
    setPassword: async (next: string) => server.setUsers({ [user]: next })
  }))
)
