import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TestServer from "./support/TestServer.js"

describe("users and tokens", () => {
  it.live("the admin creates a user whose token then works, and only that token", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const me = yield* Effect.promise(() => server.request("GET", "/api/me", { token: ann.token }))
      expect(me.status).toBe(200)
      expect(me.body).toMatchObject({ id: ann.id, name: "Ann" })
      const wrong = yield* Effect.promise(() => server.request("GET", "/api/me", { token: `${ann.token}x` }))
      expect(wrong.status).toBe(401)
      const none = yield* Effect.promise(() => server.request("GET", "/api/me"))
      expect(none.status).toBe(401)
      expect(JSON.stringify(none.body)).toContain("Bearer")
    }).pipe(Effect.scoped)
  )

  it.live("a user token is not the admin token, and a revoked token stops working", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const asUser = yield* Effect.promise(() =>
        server.request("POST", "/api/admin/users", { token: ann.token, body: { name: "Eve" } })
      )
      expect(asUser.status).toBe(403)
      const second = yield* Effect.promise(() =>
        server.request("POST", `/api/admin/users/${ann.id}/tokens`, {
          token: server.adminToken,
          body: { label: "laptop" }
        })
      )
      expect(second.status).toBe(201)
      const { id, token } = second.body as { id: string; token: string }
      expect((yield* Effect.promise(() => server.request("GET", "/api/me", { token }))).status).toBe(200)
      const revoked = yield* Effect.promise(() =>
        server.request("DELETE", `/api/admin/users/${ann.id}/tokens/${id}`, { token: server.adminToken })
      )
      expect(revoked.status).toBe(204)
      expect((yield* Effect.promise(() => server.request("GET", "/api/me", { token }))).status).toBe(401)
      // The first token is untouched.
      expect(
        (yield* Effect.promise(() => server.request("GET", "/api/me", { token: ann.token }))).status
      ).toBe(200)
    }).pipe(Effect.scoped)
  )

  it.live("a bad request says what to fix", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const res = yield* Effect.promise(() =>
        server.request("POST", "/api/admin/users", { token: server.adminToken, body: { name: "  " } })
      )
      expect(res.status).toBe(400)
      expect(JSON.stringify(res.body)).toContain("name")
    }).pipe(Effect.scoped)
  )
})
