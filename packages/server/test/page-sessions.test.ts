/**
 * The settings pages' sessions are their own, not the API token: the cookie holds a random
 * session secret (only its hash is stored), sign-out ends the session on the server (the old
 * cookie replayed is no session), revoking the token it was opened with ends it, and an idle
 * session expires.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Users } from "../src/store/Users.js"
import * as TestServer from "./support/TestServer.js"

describe("page sessions", () => {
  it.scopedLive("are not the API token, and end at sign-out, at token revocation and when idle", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const signedIn = (cookie: string) =>
        Effect.promise(async () => {
          const res = await fetch(`${server.url}/accounts`, { redirect: "manual", headers: { cookie } })
          return res.status === 200
        })
      const signOut = (cookie: string) =>
        Effect.promise(() =>
          fetch(`${server.url}/logout`, {
            method: "POST",
            redirect: "manual",
            headers: { cookie, origin: server.url, "content-type": "application/x-www-form-urlencoded" },
            body: ""
          })
        )

      // The cookie is a session of its own; the token itself is no cookie any more.
      const first = yield* Effect.promise(() => server.sessionCookie(ann.token))
      expect(first).not.toContain(ann.token)
      expect(yield* signedIn(first)).toBe(true)
      expect(yield* signedIn(`almanac_session=${ann.token}`)).toBe(false)
      // Only the secret's hash is in the database.
      const secret = first.split("=")[1] ?? ""
      const file = join(server.dataDir, "almanac.db")
      const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)))
      expect(bytes.includes(Buffer.from(secret))).toBe(false)

      // Sign-out ends it on the server: the same cookie replayed is no session.
      expect((yield* signOut(first)).status).toBe(303)
      expect(yield* signedIn(first)).toBe(false)

      // Revoking the token it was opened with ends it.
      const second = yield* Effect.promise(() => server.sessionCookie(ann.token))
      expect(yield* signedIn(second)).toBe(true)
      yield* TestServer.within(
        server,
        Effect.gen(function* () {
          const users = yield* Users
          for (const t of yield* users.tokens(ann.id)) yield* users.revokeToken(ann.id, t.id)
        })
      ).pipe(Effect.orDie)
      expect(yield* signedIn(second)).toBe(false)

      // An idle session expires.
      const bob = yield* Effect.promise(() => server.createUser("Bob"))
      const third = yield* Effect.promise(() => server.sessionCookie(bob.token))
      expect(yield* signedIn(third)).toBe(true)
      yield* TestServer.within(
        server,
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`UPDATE page_sessions SET expires_at = ${Date.now() - 1}`
        )
      ).pipe(Effect.orDie)
      expect(yield* signedIn(third)).toBe(false)
    })
  )
})
