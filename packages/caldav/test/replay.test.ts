import { afterAll, beforeAll, expect, layer } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { CalDavClient } from "../src/index.js"
import { httpClientLayer, PASSWORD, type Replay, startReplay, USER } from "./support/replay.js"

let replay: Replay & { readonly close: () => Promise<void> }
beforeAll(async () => {
  replay = await startReplay()
})
afterAll(async () => {
  await replay.close()
})

const client = (options: Partial<CalDavClient.ClientOptions> = {}) =>
  CalDavClient.make({
    auth: { user: USER, password: Redacted.make(PASSWORD) },
    timeout: "5 seconds",
    ...options
  })

const front = (path: string) => replay.url("caldav.icloud.test", path)
const partition = (path: string) => replay.url("p180-caldav.icloud.test", path)

const seenSince = (n: number) => replay.seen.slice(n)

// Live services: the replay server runs on real time, and one test waits for a real timeout.
layer(httpClientLayer, { excludeTestServices: true })("iCloud replay", (it) => {
  it.effect("discovers from the bare server URL across the redirect to the partition host", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const found = yield* c.discover(front("/"))
      expect(found.principal).toBe(front("/123456789/principal/"))
      expect(found.home).toBe(partition("/123456789/calendars/"))
      // inbox, outbox, notification, the home itself and the VTODO-only Reminders list are left out
      expect(found.calendars.map((k) => k.url)).toEqual([
        partition("/123456789/calendars/4D24D1CF-D573-4130-BFB7-F9E0B616E6FE/"),
        partition("/123456789/calendars/work/")
      ])
      const personal = found.calendars[0]
      expect(personal?.displayName).toEqual(Option.some("Personal Calendar"))
      expect(personal?.color).toEqual(Option.some("#1E4C63FF"))
      expect(personal?.ctag).toEqual(
        Option.some("HwoQEgwAADqWpb2npgAAAAAYAhgAIhYIjpChtN2F0ZLeARDhoILd36yp4bYBKABIAA==")
      )
      expect(personal?.syncToken).toEqual(Option.none())
      expect(personal?.components).toEqual(["VEVENT"])
      expect(personal?.privileges).toEqual(expect.arrayContaining(["read", "write", "write-content"]))
      const requests = seenSince(mark)
      expect(requests.map((r) => `${r.method} ${r.host}${r.path}`)).toEqual([
        "PROPFIND caldav.icloud.test/.well-known/caldav",
        "PROPFIND caldav.icloud.test/",
        "PROPFIND caldav.icloud.test/123456789/principal/",
        "PROPFIND p180-caldav.icloud.test/123456789/calendars/"
      ])
      // credentials went preemptively to every request, the partition host included
      expect(requests.every((r) => r.authorization?.startsWith("Basic ") === true)).toBe(true)
      const stats = yield* c.stats
      // the 301 from .well-known, the root, the principal and the home: redirects count as exchanges
      expect(stats.requests).toBe(4)
      expect(stats.bytesReceived).toBeGreaterThan(16_000)
    })
  )

  it.effect("without /.well-known/caldav, discovery asks the server URL itself", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const found = yield* c.discover(replay.url("caldav2.icloud.test", "/"))
      expect(found.calendars).toHaveLength(2)
      expect(seenSince(mark).map((r) => `${r.host}${r.path}`)).toEqual([
        "caldav2.icloud.test/.well-known/caldav",
        "caldav2.icloud.test/",
        "caldav2.icloud.test/123456789/principal/",
        "p180-caldav.icloud.test/123456789/calendars/"
      ])
    })
  )

  it.effect("a /.well-known/caldav pointing to another domain is not followed with credentials", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const found = yield* c.discover(replay.url("caldav3.icloud.test", "/"))
      expect(found.calendars).toHaveLength(2)
      const requests = seenSince(mark)
      expect(requests.slice(0, 3).map((r) => [r.host, r.path, r.authorization !== undefined])).toEqual([
        ["caldav3.icloud.test", "/.well-known/caldav", true],
        ["elsewhere.test", "/.well-known/caldav", false],
        ["caldav3.icloud.test", "/", true]
      ])
    })
  )

  it.effect("a redirect to a partition host of the same domain keeps the credentials", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const state = yield* c.collectionState(
        front("/moved/17149682/calendars/testcalendar-f96b3bf0-09e1-4f3d-b891-3a25c99a2894/")
      )
      expect(state).toEqual({
        ctag: Option.some("HwoQEgwAADqWpb9lNQ"),
        syncToken: Option.some("HwoQEgwAAAh4")
      })
      const requests = seenSince(mark)
      expect(requests.map((r) => r.host)).toEqual(["caldav.icloud.test", "p62-caldav.icloud.test"])
      expect(requests.every((r) => r.authorization !== undefined)).toBe(true)
      expect(requests[1]?.method).toBe("PROPFIND")
      expect(requests[1]?.depth).toBe("0")
    })
  )

  it.effect("a redirect to another domain never carries the credentials", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const err = yield* Effect.flip(c.collectionState(front("/away/cal/")))
      expect(err._tag).toBe("Unauthorized")
      const requests = seenSince(mark)
      expect(requests.map((r) => r.host)).toEqual(["caldav.icloud.test", "elsewhere.test"])
      expect(requests[0]?.authorization).toBeDefined()
      expect(requests[1]?.authorization).toBeUndefined()
    })
  )

  it.effect("a redirect to a neighbour under the same public suffix never carries the credentials", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const err = yield* Effect.flip(c.collectionState(replay.url("alice.duckdns.org", "/neighbour/cal/")))
      expect(err._tag).toBe("Unauthorized")
      const requests = seenSince(mark)
      expect(requests.map((r) => r.host)).toEqual(["alice.duckdns.org", "mallory.duckdns.org"])
      expect(requests[0]?.authorization).toBeDefined()
      expect(requests[1]?.authorization).toBeUndefined()
    })
  )

  it.effect("endless redirects end in a ProtocolError", () =>
    Effect.gen(function* () {
      const c = yield* client({ maxRedirects: 3 })
      const err = yield* Effect.flip(c.collectionState(front("/loop/")))
      expect(err._tag).toBe("ProtocolError")
      expect(err.message).toContain("more than 3 redirects")
    })
  )

  it.effect("a wrong password is Unauthorized, and the password appears nowhere", () =>
    Effect.gen(function* () {
      const secret = "wrong-but-secret-password"
      const c = yield* CalDavClient.make({ auth: { user: USER, password: Redacted.make(secret) } })
      const err = yield* Effect.flip(c.discover(front("/")))
      expect(err._tag).toBe("Unauthorized")
      for (const shown of [String(err), err.message, JSON.stringify(err), JSON.stringify(c)]) {
        expect(shown).not.toContain(secret)
      }
    })
  )

  it.effect("429 with Retry-After in seconds is RateLimited with that duration", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const err = yield* Effect.flip(c.collectionState(partition("/busy/429/")))
      expect(err._tag).toBe("RateLimited")
      if (err._tag === "RateLimited") {
        expect(err.status).toBe(429)
        expect(err.retryAfter).toEqual(Option.some(Duration.seconds(120)))
      }
    })
  )

  it.effect("503 with Retry-After as an HTTP date is RateLimited until then; without one, no duration", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const err = yield* Effect.flip(c.collectionState(partition("/busy/503-date/")))
      expect(err._tag).toBe("RateLimited")
      if (err._tag === "RateLimited") {
        const ms = Option.map(err.retryAfter, Duration.toMillis)
        expect(Option.isSome(ms)).toBe(true)
        // HTTP dates have one-second resolution
        expect(Option.getOrElse(ms, () => 0)).toBeGreaterThan(85_000)
        expect(Option.getOrElse(ms, () => 0)).toBeLessThanOrEqual(90_000)
      }
      const bare = yield* Effect.flip(c.collectionState(partition("/busy/503/")))
      expect(bare._tag === "RateLimited" && Option.isNone(bare.retryAfter)).toBe(true)
    })
  )

  it.effect("sync-collection skips the collection's own row and reads the trailing token", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const cal = partition("/17149682/calendars/testcalendar-f96b3bf0-09e1-4f3d-b891-3a25c99a2894/")
      const delta = yield* c.syncCollection(cal, Option.none())
      expect(delta.changed).toEqual([
        { href: `${cal}1761bf8c-6363-11eb-8fe4-74e5f9bfd8c1.ics`, etag: '"kkkgorwx"' },
        { href: `${cal}20010712T182145Z-123401%40example.com.ics`, etag: '"kkkgoqqu"' }
      ])
      expect(delta.deleted).toEqual([])
      expect(delta.token).toBe("HwoQEgwAAAh4yw8ntwAAAAAYAhgAIhUIopml463FieB4EKq9+NSn04DrkQEoAA==")
    })
  )

  it.effect("a 500 after sending a token is TokenInvalid; without a token it is Transient", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const cal = partition("/17149682/calendars/testcalendar-f96b3bf0-09e1-4f3d-b891-3a25c99a2894/")
      const rejected = yield* Effect.flip(c.syncCollection(cal, Option.some("expired-token")))
      expect(rejected._tag).toBe("TokenInvalid")
      const plain = yield* Effect.flip(c.collectionState(partition("/split/any/")))
      expect(plain._tag).toBe("NotFound")
      const transient = yield* Effect.flip(c.syncCollection(partition("/split/"), Option.none()))
      expect(transient._tag).toBe("Transient")
    })
  )

  it.effect("a truncated sync-collection (507) is followed until complete", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const before = yield* c.stats
      const delta = yield* c.syncCollection(partition("/paged/"), Option.none())
      const after = yield* c.stats
      expect(after.requests - before.requests).toBe(2)
      // b.ics changed on page one and was deleted on page two: deleted wins
      expect(delta.changed).toEqual([
        { href: partition("/paged/a.ics"), etag: '"a1"' },
        { href: partition("/paged/c.ics"), etag: '"c1"' }
      ])
      expect(delta.deleted).toEqual([partition("/paged/b.ics")])
      expect(delta.token).toBe("final")
    })
  )

  it.effect("listEtags lists members only, even though the collection row has an etag", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const cal = partition("/redacted-account-id/calendars/redacted-calendar-id/")
      const refs = yield* c.listEtags(cal)
      expect(refs).toEqual([
        { href: `${cal}AAAAAAAA-1111-2222-3333-444444444444.ics`, etag: '"redacted-etag-001"' },
        { href: `${cal}BBBBBBBB-5555-6666-7777-888888888888.ics`, etag: '"redacted-etag-002"' }
      ])
    })
  )

  it.effect("calendar-query returns the event, and nothing for a calendar with no match", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const range = { start: new Date("2006-07-14T00:00:00Z"), end: new Date("2006-07-16T00:00:00Z") }
      const cal = partition("/17149682/calendars/testcalendar-84439d0b-ce46-4416-b978-7b4009122c64/")
      const items = yield* c.query(cal, range)
      expect(items.map((i) => i.href)).toEqual([`${cal}20010712T182145Z-123401%40example.com.ics`])
      expect(items[0]?.data).toContain("SUMMARY:Bastille Day Party")
      const body = replay.seen.at(-1)?.body ?? ""
      expect(body).toContain(
        '<c:comp-filter name="VEVENT"><c:time-range start="20060714T000000Z" end="20060716T000000Z"/>'
      )
      const none = yield* c.query(
        partition("/17149682/calendars/testcalendar-485d002e-31b9-4147-a334-1d71503a4e2c/"),
        range
      )
      expect(none).toEqual([])
    })
  )

  it.effect("when multiget fails as a whole, batches split down to GET per href", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const hrefs = ["/split/a.ics", "/split/missing.ics", "/split/b.ics", "/split/c.ics"].map(partition)
      const mark = replay.seen.length
      const r = yield* c.multiget(partition("/split/"), hrefs)
      expect(r.found.map((i) => i.href)).toEqual(
        ["/split/a.ics", "/split/b.ics", "/split/c.ics"].map(partition)
      )
      expect(r.found[0]?.etag).toBe('"/split/a.ics"')
      expect(r.found[0]?.data).toContain("UID:/split/a.ics")
      expect(r.missing).toEqual([partition("/split/missing.ics")])
      const methods = seenSince(mark).map((s) => s.method)
      // 4 → 2 + 2 → four single-href GETs; each failing REPORT (a 500) is asked 3 times first
      expect(methods.filter((m) => m === "REPORT")).toHaveLength(9)
      expect(methods.filter((m) => m === "GET")).toHaveLength(4)
    })
  )

  it.effect("a PUT answered without an ETag asks for it with PROPFIND", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const mark = replay.seen.length
      const r = yield* c.put(
        partition("/noetag/event.ics"),
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        CalDavClient.Create
      )
      expect(r.etag).toBe('"after-put"')
      const requests = seenSince(mark)
      expect(requests.map((s) => s.method)).toEqual(["PUT", "PROPFIND"])
      expect(requests[0]?.ifNoneMatch).toBe("*")
      expect(requests[1]?.depth).toBe("0")
    })
  )

  it.effect("iCloud's HTML 400 page is Rejected with its status", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const err = yield* Effect.flip(c.listEtags(partition("/bad-request/")))
      expect(err._tag).toBe("Rejected")
      if (err._tag === "Rejected") {
        expect(err.status).toBe(400)
        expect(err.detail).toContain("400 Bad Request")
      }
    })
  )

  it.effect("a DOCTYPE in an answer is refused as a ProtocolError", () =>
    Effect.gen(function* () {
      const c = yield* client()
      const err = yield* Effect.flip(c.listEtags(partition("/doctype/")))
      expect(err._tag).toBe("ProtocolError")
      expect(err.message).toContain("DOCTYPE")
      expect(err.message).toContain("PROPFIND")
    })
  )

  it.effect("an answer larger than the bound is a ProtocolError", () =>
    Effect.gen(function* () {
      const c = yield* client({ maxResponseBytes: 100_000 })
      const err = yield* Effect.flip(c.listEtags(partition("/big/")))
      expect(err._tag).toBe("ProtocolError")
      expect(err.message).toContain("larger than 100000 bytes")
    })
  )

  it.effect("a server that does not answer in time is Transient", () =>
    Effect.gen(function* () {
      const c = yield* client({ timeout: "300 millis" })
      const err = yield* Effect.flip(c.collectionState(partition("/silent/")))
      expect(err._tag).toBe("Transient")
      expect(err.message).toContain("within")
    })
  )

  it.effect("a host nobody listens on is Transient", () =>
    Effect.gen(function* () {
      const c = yield* CalDavClient.make({})
      const err = yield* Effect.flip(c.get("http://127.0.0.1:1/nothing.ics"))
      expect(err._tag).toBe("Transient")
    })
  )
})
