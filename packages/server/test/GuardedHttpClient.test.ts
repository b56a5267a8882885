import { createServer, type Server } from "node:http"
import { HttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as GuardedHttpClient from "../src/GuardedHttpClient.js"

const listening = Effect.acquireRelease(
  Effect.async<{ server: Server; port: number }>((resume) => {
    const server = createServer((_, res) => res.end("hello"))
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resume(
        Effect.succeed({ server, port: typeof address === "object" && address !== null ? address.port : 0 })
      )
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
)

const get = (url: string) =>
  HttpClient.get(url).pipe(
    Effect.flatMap((res) => res.text),
    Effect.either
  )

describe("the guarded HTTP client", () => {
  it.scoped("refuses, at connect time, a name that resolves to a loopback address", () =>
    Effect.gen(function* () {
      const { port } = yield* listening
      const refused = yield* get(`http://localhost:${port}/`).pipe(
        Effect.provide(GuardedHttpClient.layer({ allowPrivateUrls: false }))
      )
      expect(refused._tag).toBe("Left")
      expect(JSON.stringify(refused)).toMatch(/not public|EALMANACPRIVATE/)
      const allowed = yield* get(`http://localhost:${port}/`).pipe(
        Effect.provide(GuardedHttpClient.layer({ allowPrivateUrls: true }))
      )
      expect(allowed).toMatchObject({ _tag: "Right", right: "hello" })
    })
  )

  it.effect("passes the answers of a name that resolves only to public addresses", () =>
    Effect.async<ReadonlyArray<string>>((resume) => {
      // No network here: a lookup of a public IP literal resolves locally to itself.
      GuardedHttpClient.guardedLookup("93.184.216.34", { all: true }, (error, addresses) =>
        resume(
          error === null && Array.isArray(addresses)
            ? Effect.succeed(addresses.map((a) => a.address))
            : Effect.die(error)
        )
      )
    }).pipe(Effect.map((addresses) => expect(addresses).toEqual(["93.184.216.34"])))
  )

  it.scoped("keeps at most the cap of sockets open to one origin, and answers every request", () =>
    Effect.gen(function* () {
      let open = 0
      let most = 0
      const slow = yield* Effect.acquireRelease(
        Effect.async<{ server: Server; port: number }>((resume) => {
          const server = createServer((_, res) => setTimeout(() => res.end("late"), 100))
          server.on("connection", (socket) => {
            open++
            most = Math.max(most, open)
            socket.on("close", () => open--)
          })
          server.listen(0, "127.0.0.1", () => {
            const address = server.address()
            resume(
              Effect.succeed({
                server,
                port: typeof address === "object" && address !== null ? address.port : 0
              })
            )
          })
        }),
        ({ server }) =>
          Effect.async<void>((resume) => {
            server.closeAllConnections()
            server.close(() => resume(Effect.void))
          })
      )
      const answers = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => get(`http://127.0.0.1:${slow.port}/${i}`),
        { concurrency: "unbounded" }
      ).pipe(Effect.provide(GuardedHttpClient.layer({ allowPrivateUrls: true, connectionsPerOrigin: 4 })))
      expect(answers.every((a) => a._tag === "Right" && a.right === "late")).toBe(true)
      expect(most).toBeLessThanOrEqual(4)
      expect(most).toBeGreaterThan(1)
    })
  )
})
