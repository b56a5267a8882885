/**
 * The provider's decisions that the real servers here cannot show: a server without
 * sync-collection (both Xandikos and Radicale have it), and how caldav errors map onto the
 * engine's. The client below is a fake that answers as such a server would.
 */
import { type CalDavClient, CalDavError } from "@almanac/caldav"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { CalDavProvider } from "../src/index.js"

const URL = "https://dav.example.test/cal/"
const item = (n: number) => ({ href: `${URL}${n}.ics`, etag: `"e${n}"` })

/** A server with getctag and PROPFIND but no sync-collection REPORT. */
const noSyncCollection = (calls: Array<string>): CalDavClient.CalDavClientShape => {
  const unused = (name: string) => () => Effect.die(`unexpected call: ${name}`)
  return {
    discover: unused("discover"),
    collectionState: () => {
      calls.push("collectionState")
      return Effect.succeed({ ctag: Option.some("ctag-1"), syncToken: Option.none() })
    },
    syncCollection: () => {
      calls.push("syncCollection")
      return Effect.fail(
        new CalDavError.Rejected({
          method: "REPORT",
          url: URL,
          status: 403,
          conditions: ["supported-report"],
          detail: ""
        })
      )
    },
    listEtags: () => {
      calls.push("listEtags")
      return Effect.succeed([item(1), item(2)])
    },
    multiget: unused("multiget"),
    query: unused("query"),
    get: unused("get"),
    put: unused("put"),
    remove: unused("remove"),
    mkcalendar: unused("mkcalendar"),
    stats: Effect.succeed({ requests: 0, bytesSent: 0, bytesReceived: 0 })
  }
}

describe("CalDavProvider", () => {
  it.effect("lists by PROPFIND etags where sync-collection is refused, and still polls by ctag", () =>
    Effect.gen(function* () {
      const calls: Array<string> = []
      const provider = CalDavProvider.make(noSyncCollection(calls), URL)
      const first = yield* provider.changes(Option.none())
      expect(first._tag).toBe("Snapshot")
      expect(first._tag === "Snapshot" ? first.items : []).toEqual(
        [item(1), item(2)].map((i) => ({ ref: i.href, version: i.etag }))
      )
      expect(calls).toEqual(["collectionState", "syncCollection", "listEtags"])
      // Same ctag: unchanged in one request. The cursor has no token, so a change means a new listing.
      calls.length = 0
      const cursor = first._tag === "Snapshot" ? first.cursor : ""
      const again = yield* provider.changes(Option.some(cursor))
      expect(again._tag).toBe("Unchanged")
      expect(calls).toEqual(["collectionState"])
    })
  )

  it.effect("maps rate limits with Retry-After and refused credentials onto the engine's errors", () =>
    Effect.gen(function* () {
      const client = noSyncCollection([])
      const limited = CalDavProvider.make(
        {
          ...client,
          collectionState: () =>
            Effect.fail(
              new CalDavError.RateLimited({
                method: "PROPFIND",
                url: URL,
                status: 429,
                retryAfter: Option.some(Duration.seconds(90))
              })
            )
        },
        URL
      )
      const e1 = yield* Effect.flip(limited.changes(Option.some(JSON.stringify({ ctag: "x", token: null }))))
      expect(e1).toMatchObject({ _tag: "RateLimited", retryAfterMillis: 90_000 })
      const refused = CalDavProvider.make(
        {
          ...client,
          collectionState: () =>
            Effect.fail(new CalDavError.Unauthorized({ method: "PROPFIND", url: URL, status: 401 }))
        },
        URL
      )
      const e2 = yield* Effect.flip(refused.changes(Option.some(JSON.stringify({ ctag: "x", token: null }))))
      expect(e2._tag).toBe("Unauthorized")
    })
  )
})
