/**
 * A PUT with If-Match on an item that is gone is answered 409 by some servers, not 412 or 404
 * (docs/caldav-servers.md). The client calls that NotFound, so that the engine writes the copy
 * again under its key, instead of a refusal that would leave the copy missing. Checked on a
 * loopback node:http server that answers every PUT 409.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"

const conflicting = (body: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
      const server = createServer((req, res) => {
        req.resume()
        req.on("end", () => {
          res.writeHead(409, { "content-type": body === "" ? "text/plain" : "application/xml" })
          res.end(body)
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, close: () => server.close() }))
      })
    }),
    (s) => Effect.sync(s.close)
  )

const data = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"

describe("a 409 answered to a write", () => {
  it.scoped("is NotFound for an update (If-Match), the item being gone", () =>
    Effect.gen(function* () {
      const server = yield* conflicting("")
      const client = yield* CalDavClient.make({})
      const e = yield* Effect.flip(client.put(`${server.url}/cal/a.ics`, data, CalDavClient.Update('"1"')))
      expect(e._tag).toBe("NotFound")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )

  it.scoped("stays a refusal for a create, or when the server names a precondition", () =>
    Effect.gen(function* () {
      const bare = yield* conflicting("")
      const client = yield* CalDavClient.make({})
      const create = yield* Effect.flip(client.put(`${bare.url}/cal/a.ics`, data, CalDavClient.Create))
      expect(create._tag).toBe("Rejected")
      const named = yield* conflicting(
        `<?xml version="1.0"?><d:error xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><c:supported-calendar-data/></d:error>`
      )
      const update = yield* Effect.flip(
        client.put(`${named.url}/cal/a.ics`, data, CalDavClient.Update('"1"'))
      )
      expect(update._tag).toBe("Rejected")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
