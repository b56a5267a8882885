/**
 * Servers whose ctag and sync token have one-second granularity: an edit in the same second as
 * the poll that saw the previous one is in neither. The engine, the real SQL store and the CalDAV
 * provider, from a calendar on the real Radicale seen through a coarse-token FAKE of the server's
 * change log (support/CoarseServer.ts) to a calendar on Radicale itself: such an edit is copied
 * within two polls, and a quiet calendar still costs one request a poll.
 */
import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import { ICalCodec } from "../src/index.js"
import * as CoarseServer from "./support/CoarseServer.js"
import { event, withPair } from "./support/EngineOnRadicale.js"

const server = caldavServer("radicale")

describe("coarse change tokens", () => {
  it.live("an edit in the same second as the poll that saw the last one is copied within two polls", () =>
    Effect.gen(function* () {
      const real = yield* CalDavClient.make({
        auth: { user: server.user, password: Redacted.make("test-password") }
      })
      const coarse = CoarseServer.wrap(real)
      yield* withPair(server, real, { source: () => coarse.client }, ({ source, poll, summaries }) =>
        Effect.gen(function* () {
          const href = `${source}meeting.ics`
          const uid = `coarse-${randomUUID()}`
          const edit = (summary: string) =>
            Effect.gen(function* () {
              const now = yield* real.get(href)
              yield* coarse.client.put(href, ICalCodec.serialize(event(uid, summary)), {
                _tag: "Update",
                etag: now.etag
              })
            })

          // A first sync, then a quiet minute.
          yield* coarse.client.put(href, ICalCodec.serialize(event(uid, "v1")), { _tag: "Create" })
          coarse.tick(1)
          yield* poll()
          expect(yield* summaries).toEqual(["v1"])
          coarse.tick(60)

          // An edit; the poll that copies it runs in the same second as the next edit.
          yield* edit("v2")
          yield* poll()
          expect(yield* summaries).toEqual(["v2"])
          yield* edit("v3")
          coarse.tick(60)
          // The next poll lists the calendar in full: v3 is found there.
          yield* poll()
          expect(yield* summaries).toEqual(["v3"])

          // And an edit in the same second as that listing, which settled the calendar: the ctag
          // moves but the listing's token does not show it, so the poll after lists again.
          yield* edit("v4")
          coarse.tick(60)
          yield* poll()
          coarse.tick(60)
          yield* poll()
          expect(yield* summaries).toEqual(["v4"])

          // Settled: a quiet calendar costs one request a poll.
          coarse.tick(60)
          yield* poll()
          coarse.tick(60)
          const before = coarse.requests()
          const idle = yield* poll()
          expect(idle.outcome).toBe("unchanged")
          expect(coarse.requests() - before).toBe(1)
        })
      )
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
