/**
 * Servers that answer a stale or bogus sync token with 207 and every item, as if no token had been
 * sent (docs/caldav-servers.md). The engine, the real SQL store and the CalDAV provider, from a
 * calendar on the real Radicale seen through a FAKE of such a server (every sync-collection
 * REPORT asked without its token) to a calendar on Radicale itself: the listing is recognised as
 * complete, so a deletion is found in the poll that sees it, and nothing is written twice.
 */
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import { ICalCodec } from "../src/index.js"
import { event, withPair } from "./support/EngineOnRadicale.js"

const server = caldavServer("radicale")

/**
 * The FAKE: whatever token is sent, the answer is the full listing a first sync gets, with no
 * tombstones (Radicale's own answer without a token still reports deletions it remembers).
 */
const everythingForAnyToken = (real: CalDavClient.CalDavClientShape): CalDavClient.CalDavClientShape => ({
  ...real,
  syncCollection: (url) =>
    Effect.map(real.syncCollection(url, Option.none()), (all) => ({ ...all, deleted: [] }))
})

describe("a server that answers any sync token with everything", () => {
  it.live("has a deletion found in the poll that sees it, and nothing copied twice", () =>
    Effect.gen(function* () {
      const real = yield* CalDavClient.make({
        auth: { user: server.user, password: Redacted.make("test-password") }
      })
      yield* withPair(server, real, { source: everythingForAnyToken }, ({ source, poll, summaries }) =>
        Effect.gen(function* () {
          const names = ["one", "two", "three", "four"]
          for (const name of names)
            yield* real.put(`${source}${name}.ics`, ICalCodec.serialize(event(`stale-${name}`, name)), {
              _tag: "Create"
            })
          const first = yield* poll()
          expect(first.created).toBe(4)
          expect(yield* summaries).toEqual(["four", "one", "three", "two"])
          // settled: the provider's recheck after a change is behind us
          yield* poll()
          expect((yield* poll()).outcome).toBe("unchanged")

          const gone = yield* real.get(`${source}two.ics`)
          yield* real.remove(`${source}two.ics`, gone.etag)
          const afterDelete = yield* poll()
          expect({
            created: afterDelete.created,
            updated: afterDelete.updated,
            deleted: afterDelete.deleted
          }).toEqual({ created: 0, updated: 0, deleted: 1 })
          expect(yield* summaries).toEqual(["four", "one", "three"])

          const edited = yield* real.get(`${source}three.ics`)
          yield* real.put(`${source}three.ics`, ICalCodec.serialize(event("stale-three", "three, moved")), {
            _tag: "Update",
            etag: edited.etag
          })
          const afterEdit = yield* poll()
          expect({
            created: afterEdit.created,
            updated: afterEdit.updated,
            deleted: afterEdit.deleted
          }).toEqual({ created: 0, updated: 1, deleted: 0 })
          expect(yield* summaries).toEqual(["four", "one", "three, moved"])

          // and quiet again: nothing written
          for (let i = 0; i < 2; i++) {
            const quiet = yield* poll()
            expect(quiet.created + quiet.updated + quiet.deleted).toBe(0)
          }
        })
      )
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
