/**
 * Request framing: some servers refuse chunked request bodies (400), so every body goes with a
 * Content-Length. Checked on a loopback node:http server that records what arrived, through both
 * HTTP clients Almanac runs on (node's http module in tests and tools, undici in the server).
 */
import { createServer, type IncomingHttpHeaders } from "node:http"
import type { AddressInfo } from "node:net"
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"

const recorder = Effect.acquireRelease(
  Effect.async<{
    readonly url: string
    readonly seen: Array<{ method: string; headers: IncomingHttpHeaders; bytes: number }>
    readonly close: () => void
  }>((resume) => {
    const seen: Array<{ method: string; headers: IncomingHttpHeaders; bytes: number }> = []
    const server = createServer((req, res) => {
      let bytes = 0
      req.on("data", (c: Buffer) => {
        bytes += c.length
      })
      req.on("end", () => {
        seen.push({ method: req.method ?? "", headers: req.headers, bytes })
        if (req.method === "PUT") {
          res.writeHead(201, { etag: '"1"' })
          res.end()
        } else {
          res.writeHead(207, { "content-type": "application/xml" })
          res.end(
            `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:getetag>"1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`
          )
        }
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, seen, close: () => server.close() }))
    })
  }),
  (r) => Effect.sync(r.close)
)

const clients = [
  ["node:http", NodeHttpClient.layer],
  ["undici", NodeHttpClient.layerUndici]
] as const

describe("request framing", () => {
  for (const [name, layer] of clients) {
    it.scoped(`every request body carries a Content-Length and none is chunked (${name})`, () =>
      Effect.gen(function* () {
        const server = yield* recorder
        const client = yield* CalDavClient.make({})
        const body = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n${"x".repeat(70_000)}`
        yield* client.put(`${server.url}/cal/a.ics`, body, { _tag: "Create" })
        yield* client.listEtags(`${server.url}/cal/`)
        expect(server.seen.map((s) => s.method)).toEqual(["PUT", "PROPFIND"])
        for (const s of server.seen) {
          expect(s.headers["transfer-encoding"]).toBeUndefined()
          expect(Number(s.headers["content-length"])).toBe(s.bytes)
          expect(s.bytes).toBeGreaterThan(0)
        }
      }).pipe(Effect.provide(Layer.fresh(layer)))
    )
  }
})
