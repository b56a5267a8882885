/**
 * Servers that ignore `If-None-Match: *` and `If-Match` (docs/caldav-servers.md: the PUT
 * overwrites with 204, the DELETE deletes whatever is there). Almanac cannot make such a server
 * refuse a write; what keeps a person's events safe there is that it writes only where its own
 * copies live: a copy is created at `<key>.ics`, a name derived from the relationship and the
 * original's UID that no other client makes, and updated or deleted only at an address a link
 * holds for such a copy. The engine, the real SQL store and the CalDAV provider, from a calendar on
 * the real Radicale to one seen through a FAKE that ignores both preconditions: a person's own
 * event in the target, with the same UID and the same file name as an original, is never touched.
 */
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import { ICalCodec } from "../src/index.js"
import { event, withPair } from "./support/EngineOnRadicale.js"

const server = caldavServer("radicale")

interface Write {
  readonly method: "PUT" | "DELETE"
  readonly href: string
  /** The real server refused it on its precondition and the fake let it through. */
  ignored: boolean
}

/** The FAKE: every write lands, whatever its precondition says; each is logged. */
const ignoringPreconditions = (log: Array<Write>) => (real: CalDavClient.CalDavClientShape) => {
  const current = (href: string) => Effect.map(real.get(href), (item) => item.etag)
  const client: CalDavClient.CalDavClientShape = {
    ...real,
    put: (href, data, precondition) => {
      const write: Write = { method: "PUT", href, ignored: false }
      log.push(write)
      return real.put(href, data, precondition).pipe(
        Effect.catchTag("EtagMismatch", () => {
          write.ignored = true
          return Effect.flatMap(current(href), (etag) => real.put(href, data, CalDavClient.Update(etag)))
        })
      )
    },
    remove: (href, etag) => {
      const write: Write = { method: "DELETE", href, ignored: false }
      log.push(write)
      return real.remove(href, etag).pipe(
        Effect.catchTag("EtagMismatch", () => {
          write.ignored = true
          return Effect.flatMap(current(href), (now) => real.remove(href, now))
        })
      )
    }
  }
  return client
}

describe("a target server that ignores If-None-Match and If-Match", () => {
  it.live("never has a person's own event overwritten or deleted, only Almanac's copies written", () =>
    Effect.gen(function* () {
      const real = yield* CalDavClient.make({
        auth: { user: server.user, password: Redacted.make("test-password") }
      })
      const writes: Array<Write> = []
      yield* withPair(
        server,
        real,
        { target: ignoringPreconditions(writes) },
        ({ source, target, poll, pollTarget, summaries }) =>
          Effect.gen(function* () {
            // The same invitation in both calendars, saved under its UID by a client, as many do.
            const shared = "invitation-from-bob"
            yield* real.put(
              `${source}${shared}.ics`,
              ICalCodec.serialize(event(shared, "theirs")),
              CalDavClient.Create
            )
            const mine = yield* real.put(
              `${target}${shared}.ics`,
              ICalCodec.serialize(event(shared, "mine")),
              CalDavClient.Create
            )
            yield* real.put(
              `${source}standup.ics`,
              ICalCodec.serialize(event("standup", "standup")),
              CalDavClient.Create
            )

            // an event that stays, so that the source never looks emptied (which halts deletes)
            yield* real.put(
              `${source}lunch.ics`,
              ICalCodec.serialize(event("lunch", "lunch")),
              CalDavClient.Create
            )

            const first = yield* poll()
            expect(first.created).toBe(3)
            expect(yield* summaries).toEqual(["lunch", "mine", "standup", "theirs"])

            // A person edits the copy of the standup while its original changes: the source wins,
            // as it would on any server, and still only at the copy's address.
            const standupOriginal = yield* real.get(`${source}standup.ics`)
            yield* real.put(
              `${source}standup.ics`,
              ICalCodec.serialize(event("standup", "standup, moved")),
              CalDavClient.Update(standupOriginal.etag)
            )
            const inTarget = yield* real.multiget(
              target,
              (yield* real.listEtags(target)).map((i) => i.href)
            )
            const copy = inTarget.found.find((i) => i.data.includes("SUMMARY:standup"))
            if (copy === undefined) return yield* Effect.dieMessage("no copy of the standup")
            yield* real.put(
              copy.href,
              copy.data.replace("SUMMARY:standup", "SUMMARY:standup (my note)"),
              CalDavClient.Update(copy.etag)
            )
            yield* poll()
            yield* pollTarget()
            expect(yield* summaries).toEqual(["lunch", "mine", "standup, moved", "theirs"])

            // Both originals deleted: both copies go, the person's own event stays.
            for (const name of [shared, "standup"]) {
              const at = yield* real.get(`${source}${name}.ics`)
              yield* real.remove(`${source}${name}.ics`, at.etag)
            }
            const deleted = yield* poll()
            expect(deleted.deleted).toBe(2)
            yield* pollTarget()
            expect(yield* summaries).toEqual(["lunch", "mine"])
            const after = yield* real.get(`${target}${shared}.ics`)
            expect(after.etag).toBe(mine.etag)

            // the person's edit of the copy made the update's If-Match stale: the fake ignored it
            expect(writes.filter((w) => w.ignored).map((w) => w.method)).toEqual(["PUT"])
            for (const w of writes) expect(w.href).toMatch(/\/almanac-[0-9a-f]{32}\.ics$/)
          })
      )
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
