import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { CalDavClient } from "../src/index.js"
import { caldavServers, event, unique } from "./support/servers.js"

const servers = caldavServers()

describe.each(servers)("against $name", (server) => {
  // one HTTP agent for the whole block, closed after it: a layer provided inside `make` would close
  // its agent as soon as `make` returned
  layer(NodeHttpClient.layer)((it) => {
    const client = (options: Partial<CalDavClient.ClientOptions> = {}) =>
      CalDavClient.make({
        auth: { user: server.user, password: Redacted.make("not-checked-by-the-test-servers") },
        timeout: "10 seconds",
        ...options
      })

    /** A calendar of its own for each test, so tests stay independent. */
    const freshCalendar = (c: CalDavClient.CalDavClientShape, name = unique("cal")) =>
      Effect.gen(function* () {
        const url = `${server.home}${name}/`
        yield* c.mkcalendar(url, { displayName: `Almanac ${name}` })
        return url
      })

    const putEvent = (
      c: CalDavClient.CalDavClientShape,
      calendar: string,
      uid = unique("uid"),
      summary = "Lunch"
    ) =>
      Effect.map(c.put(`${calendar}${uid}.ics`, event(uid, summary), CalDavClient.Create), ({ etag }) => ({
        href: `${calendar}${uid}.ics`,
        etag,
        uid
      }))

    it.effect("discovers the calendars from the bare server URL", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const name = unique("disc")
        const url = yield* freshCalendar(c, name)
        const found = yield* c.discover(server.url)
        expect(found.home).toBe(server.home)
        const cal = found.calendars.find((k) => k.url === url)
        expect(cal, `calendars: ${found.calendars.map((k) => k.url).join(", ")}`).toBeDefined()
        if (cal === undefined) return
        expect(cal.displayName).toEqual(Option.some(`Almanac ${name}`))
        expect(Option.isSome(cal.ctag)).toBe(true)
        expect(Option.isSome(cal.syncToken)).toBe(true)
        expect(cal.components).toContain("VEVENT")
        expect(cal.supportedReports).toEqual(expect.arrayContaining(["sync-collection", "calendar-multiget"]))
        expect(cal.privileges).toEqual(expect.arrayContaining(["read", "write"]))
        // The home itself is a collection but not a calendar: never offered.
        expect(found.calendars.some((k) => k.url === server.home)).toBe(false)
      })
    )

    it.effect("discovers from the home, the principal and a calendar URL", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const url = yield* freshCalendar(c)
        const fromHome = yield* c.discover(server.home)
        expect(fromHome.home).toBe(server.home)
        expect(fromHome.calendars.map((k) => k.url)).toContain(url)
        const fromPrincipal = yield* c.discover(fromHome.principal)
        expect(fromPrincipal.home).toBe(server.home)
        expect(fromPrincipal.calendars.map((k) => k.url)).toContain(url)
        const fromCalendar = yield* c.discover(url)
        expect(fromCalendar.calendars.map((k) => k.url)).toEqual([url])
        expect(fromCalendar.home).toBe(server.home)
      })
    )

    it.effect("collectionState is one request and moves when the calendar changes", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const before = yield* c.stats
        const s1 = yield* c.collectionState(cal)
        const after = yield* c.stats
        expect(after.requests - before.requests).toBe(1)
        expect(after.bytesSent - before.bytesSent + after.bytesReceived - before.bytesReceived).toBeLessThan(
          2048
        )
        expect(Option.isSome(s1.ctag)).toBe(true)
        expect(Option.isSome(s1.syncToken)).toBe(true)
        yield* putEvent(c, cal)
        const s2 = yield* c.collectionState(cal)
        expect(s2.ctag).not.toEqual(s1.ctag)
        expect(s2.syncToken).not.toEqual(s1.syncToken)
      })
    )

    it.effect("put creates, get reads, put updates with If-Match", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const { href, etag, uid } = yield* putEvent(c, cal)
        expect(etag).not.toBe("")
        const item = yield* c.get(href)
        expect(item.href).toBe(href)
        expect(item.etag).toBe(etag)
        expect(item.data).toContain(`UID:${uid}`)
        const updated = yield* c.put(href, event(uid, "Dinner"), CalDavClient.Update(etag))
        expect(updated.etag).not.toBe(etag)
        const again = yield* c.get(href)
        expect(again.data).toContain("SUMMARY:Dinner")
        expect(again.etag).toBe(updated.etag)
      })
    )

    it.effect("a stale If-Match and a create over an existing item are EtagMismatch", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const { href, etag, uid } = yield* putEvent(c, cal)
        yield* c.put(href, event(uid, "Second"), CalDavClient.Update(etag))
        const stale = yield* Effect.flip(c.put(href, event(uid, "Third"), CalDavClient.Update(etag)))
        expect(stale._tag).toBe("EtagMismatch")
        const recreate = yield* Effect.flip(c.put(href, event(uid, "Again"), CalDavClient.Create))
        expect(recreate._tag).toBe("EtagMismatch")
        const staleDelete = yield* Effect.flip(c.remove(href, etag))
        expect(staleDelete._tag).toBe("EtagMismatch")
      })
    )

    it.effect("the same UID at a second href is UidConflict", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const { uid } = yield* putEvent(c, cal)
        const err = yield* Effect.flip(
          c.put(`${cal}${unique("other")}.ics`, event(uid, "Clash"), CalDavClient.Create)
        )
        expect(err._tag).toBe("UidConflict")
      })
    )

    it.effect("invalid iCalendar data is Rejected, not mistaken for an etag problem", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const err = yield* Effect.flip(c.put(`${cal}${unique("bad")}.ics`, "garbage", CalDavClient.Create))
        expect(err._tag).toBe("Rejected")
      })
    )

    it.effect("mkcalendar over an existing collection is Rejected with resource-must-be-null", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const err = yield* Effect.flip(c.mkcalendar(cal))
        expect(err._tag).toBe("Rejected")
        if (err._tag === "Rejected") expect(err.conditions).toContain("resource-must-be-null")
      })
    )

    it.effect("remove deletes with If-Match, after which get is NotFound", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const { href, etag } = yield* putEvent(c, cal)
        yield* c.remove(href, etag)
        const err = yield* Effect.flip(c.get(href))
        expect(err._tag).toBe("NotFound")
      })
    )

    it.effect("sync-collection: a full listing, then changes and deletions since the token", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const a = yield* putEvent(c, cal)
        const b = yield* putEvent(c, cal)
        const first = yield* c.syncCollection(cal, Option.none())
        expect(first.changed.map((r) => r.href).sort()).toEqual([a.href, b.href].sort())
        expect(first.changed.find((r) => r.href === a.href)?.etag).toBe(a.etag)
        expect(first.deleted).toEqual([])
        expect(first.token).not.toBe("")

        const b2 = yield* c.put(b.href, event(b.uid, "Moved"), CalDavClient.Update(b.etag))
        yield* c.remove(a.href, a.etag)
        const d = yield* putEvent(c, cal)
        const delta = yield* c.syncCollection(cal, Option.some(first.token))
        expect(delta.changed.map((r) => r.href).sort()).toEqual([b.href, d.href].sort())
        expect(delta.changed.find((r) => r.href === b.href)?.etag).toBe(b2.etag)
        expect(delta.deleted).toEqual([a.href])
        expect(delta.token).not.toBe(first.token)

        const quiet = yield* c.syncCollection(cal, Option.some(delta.token))
        expect(quiet.changed).toEqual([])
        expect(quiet.deleted).toEqual([])
      })
    )

    it.effect("a bogus sync token is TokenInvalid", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        yield* putEvent(c, cal)
        const err = yield* Effect.flip(c.syncCollection(cal, Option.some("bogus-token-that-never-was")))
        expect(err._tag).toBe("TokenInvalid")
        if (err._tag === "TokenInvalid") expect(err.token).toBe("bogus-token-that-never-was")
      })
    )

    it.effect("listEtags lists the members only, with their etags", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const a = yield* putEvent(c, cal)
        const b = yield* putEvent(c, cal)
        const refs = yield* c.listEtags(cal)
        expect([...refs].sort((x, y) => x.href.localeCompare(y.href))).toEqual(
          [
            { href: a.href, etag: a.etag },
            { href: b.href, etag: b.etag }
          ].sort((x, y) => x.href.localeCompare(y.href))
        )
      })
    )

    it.effect("multiget returns what exists and reports a missing href without failing the batch", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const a = yield* putEvent(c, cal)
        const b = yield* putEvent(c, cal)
        const gone = `${cal}${unique("gone")}.ics`
        const r = yield* c.multiget(cal, [a.href, gone, b.href])
        expect(r.missing).toEqual([gone])
        expect(r.found.map((i) => i.href).sort()).toEqual([a.href, b.href].sort())
        const itemA = r.found.find((i) => i.href === a.href)
        expect(itemA?.etag).toBe(a.etag)
        expect(itemA?.data).toContain(`UID:${a.uid}`)
      })
    )

    it.effect("multiget splits into bounded batches", () =>
      Effect.gen(function* () {
        const c = yield* client({ multigetBatchSize: 2 })
        const cal = yield* freshCalendar(c)
        const refs = yield* Effect.forEach([1, 2, 3, 4, 5], () => putEvent(c, cal))
        const before = yield* c.stats
        const r = yield* c.multiget(
          cal,
          refs.map((x) => x.href)
        )
        const after = yield* c.stats
        expect(after.requests - before.requests).toBe(3)
        expect(r.found.map((i) => i.href).sort()).toEqual(refs.map((x) => x.href).sort())
        expect(r.missing).toEqual([])
      })
    )

    it.effect("calendar-query returns the events overlapping the range", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const inside = unique("inside")
        const outside = unique("outside")
        yield* c.put(
          `${cal}${inside}.ics`,
          event(inside, "In", "20260310T100000Z", "20260310T110000Z"),
          CalDavClient.Create
        )
        yield* c.put(
          `${cal}${outside}.ics`,
          event(outside, "Out", "20260410T100000Z", "20260410T110000Z"),
          CalDavClient.Create
        )
        const items = yield* c.query(cal, {
          start: new Date("2026-03-10T00:00:00Z"),
          end: new Date("2026-03-11T00:00:00Z")
        })
        expect(items.map((i) => i.href)).toEqual([`${cal}${inside}.ics`])
        expect(items[0]?.data).toContain(`UID:${inside}`)
        expect(items[0]?.etag).not.toBe("")
      })
    )

    it.effect("get of an unknown href is NotFound", () =>
      Effect.gen(function* () {
        const c = yield* client()
        const cal = yield* freshCalendar(c)
        const err = yield* Effect.flip(c.get(`${cal}nothing-here.ics`))
        expect(err._tag).toBe("NotFound")
      })
    )
  })
})
