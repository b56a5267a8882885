/**
 * The Graph client against the Graph fake (test/fakes/GraphFake.ts): paging, delta rounds, 410 and
 * syncStateNotFound, 412, transactionId, extended properties, instances, throttling (Retry-After,
 * the per-mailbox concurrency limit), 401 → refresh (with a rotated refresh token) → retry,
 * a revoked grant → Unauthorized, and the Prefer headers on every request.
 */

import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { GraphCalendarClient } from "../../src/index.js"
import { CAL, wired } from "./support.js"

const PROP = "String {b0dd0375-0d22-4b7c-af4a-ebf5e1e7dac5} Name almanacKey"
const WINDOW = { start: new Date("2026-12-01T00:00:00Z"), end: new Date("2027-01-01T00:00:00Z") }
const FROM_WINDOW: GraphCalendarClient.DeltaFrom = { _tag: "Window", window: WINDOW }

const event = (day: number, extra: Record<string, unknown> = {}) => ({
  subject: `event ${day}`,
  body: { contentType: "text", content: "" },
  start: { dateTime: `2026-12-${String(day).padStart(2, "0")}T10:00:00`, timeZone: "UTC" },
  end: { dateTime: `2026-12-${String(day).padStart(2, "0")}T11:00:00`, timeZone: "UTC" },
  ...extra
})

const newEvent = (day: number, key: string, extra: Record<string, unknown> = {}) => ({
  event: event(day, { singleValueExtendedProperties: [{ id: PROP, value: key }], ...extra }),
  transactionId: key
})

const changedIds = (entries: ReadonlyArray<GraphCalendarClient.DeltaEntry>) =>
  entries.flatMap((e) => (e._tag === "Changed" ? [e.item.id] : [])).sort()
const removedIds = (entries: ReadonlyArray<GraphCalendarClient.DeltaEntry>) =>
  entries.flatMap((e) => (e._tag === "Removed" ? [e.id] : [])).sort()

describe("GraphCalendarClient against the Graph fake", () => {
  it.scoped("reads /me and every page of calendars; every request asks for immutable ids and UTC", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired({ pageSize: 2 })
      fake.addCalendar({ id: "cal-2", name: "Team", canEdit: true })
      fake.addCalendar({
        id: "cal-3",
        name: "Holidays",
        canEdit: false,
        owner: { name: "H", address: "h@x.example" }
      })
      const me = yield* client.me
      expect([me.userPrincipalName, Option.getOrNull(me.mail)]).toEqual([
        fake.mailbox.userPrincipalName,
        fake.mailbox.mail
      ])
      const cals = yield* client.listCalendars
      expect(cals.map((c) => [c.id, c.canEdit, c.isDefaultCalendar, Option.getOrNull(c.owner)])).toEqual([
        [CAL, true, true, fake.mailbox.mail],
        ["cal-2", true, false, fake.mailbox.mail],
        ["cal-3", false, false, "h@x.example"]
      ])
      expect(fake.apiRequestCount((r) => r.path.endsWith("/me/calendars"))).toBe(2)
      expect(fake.requests.length).toBeGreaterThan(0)
      for (const r of fake.requests)
        expect(r.prefer).toEqual(expect.arrayContaining(['IdType="ImmutableId"', 'outlook.timezone="UTC"']))
    })
  )

  it.scoped(
    "follows a delta round's nextLinks to its deltaLink; the next round has the changes and removals",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired({ pageSize: 3 })
        const made: Array<GraphCalendarClient.EventItem> = []
        for (let d = 1; d <= 7; d++) made.push(yield* client.createEvent(CAL, newEvent(d, `k${d}`)))
        fake.resetLog()
        const first = yield* client.deltaPage(CAL, FROM_WINDOW)
        expect(first.next._tag).toBe("Next")
        expect(first.entries).toHaveLength(3)
        const round = yield* client.deltaRound(CAL, FROM_WINDOW)
        expect(changedIds(round.entries)).toEqual(made.map((m) => m.id).sort())
        expect(fake.apiRequestCount()).toBe(1 + 3)
        expect(fake.requests[1]?.query).toMatchObject({ startDateTime: WINDOW.start.toISOString() })
        const idle = yield* client.deltaRound(CAL, { _tag: "Link", link: round.deltaLink })
        expect(idle.entries).toEqual([])
        const [a, b] = made
        fake.edit(a?.id ?? "", { subject: "changed" })
        yield* client.deleteEvent(CAL, b?.id ?? "", Option.none())
        const next = yield* client.deltaRound(CAL, { _tag: "Link", link: idle.deltaLink })
        expect(changedIds(next.entries)).toEqual([a?.id])
        expect(removedIds(next.entries)).toEqual([b?.id])
        const changed = next.entries.find((e) => e._tag === "Changed")
        expect(changed?._tag === "Changed" && changed.item.json.subject).toBe("changed")
      })
  )

  it.scoped(
    "a 410 delta, syncStateNotFound and resyncRequired are TokenInvalid; a foreign link is refused unsent",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        yield* client.createEvent(CAL, newEvent(1, "k1"))
        const round = yield* client.deltaRound(CAL, FROM_WINDOW)
        for (const how of ["reset", "syncStateNotFound", "resyncRequired"] as const) {
          const again = yield* client.deltaRound(CAL, FROM_WINDOW)
          fake.expireDeltaTokens(how)
          const e = yield* Effect.flip(client.deltaRound(CAL, { _tag: "Link", link: again.deltaLink }))
          expect(e._tag).toBe("TokenInvalid")
        }
        void round
        fake.resetLog()
        const foreign = yield* Effect.flip(
          client.deltaRound(CAL, {
            _tag: "Link",
            link: "https://evil.example/v1.0/me/calendarView/delta?$deltatoken=x"
          })
        )
        expect(foreign._tag).toBe("TokenInvalid")
        expect(fake.requests).toHaveLength(0)
      })
  )

  it.scoped(
    "creates with a transactionId (a retried create returns the first event), finds by the extended property",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        const a = yield* client.createEvent(CAL, newEvent(1, "key-1"), { expandProperty: PROP })
        const again = yield* client.createEvent(CAL, newEvent(1, "key-1"))
        expect(again.id).toBe(a.id)
        expect(fake.events(CAL)).toHaveLength(1)
        expect(Option.getOrNull(a.extendedProperty)).toBe("key-1")
        const got = yield* client.getEvent(CAL, a.id, { expandProperty: PROP })
        expect([Option.getOrNull(got.extendedProperty), Option.getOrNull(got.type)]).toEqual([
          "key-1",
          "singleInstance"
        ])
        const plain = yield* client.getEvent(CAL, a.id)
        expect(Option.isNone(plain.extendedProperty)).toBe(true)
        yield* client.createEvent(CAL, newEvent(2, "key-2"))
        const found = yield* client.findByExtendedProperty(CAL, PROP, "key-1")
        expect(found.map((f) => [f.id, Option.getOrNull(f.extendedProperty)])).toEqual([[a.id, "key-1"]])
        expect(yield* client.findByExtendedProperty(CAL, PROP, "it's nothing")).toEqual([])
        expect(fake.requests.filter((r) => r.method === "POST").map((r) => r.status)).toEqual([201, 201, 201])
      })
  )

  it.scoped(
    "updates and deletes with If-Match: a 412 is EtagMismatch; a delete of a gone event succeeds",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        const created = yield* client.createEvent(CAL, newEvent(1, "k1"))
        const updated = yield* client.updateEvent(
          CAL,
          created.id,
          { subject: "v2" },
          Option.some(created.etag)
        )
        expect(updated.etag).not.toBe(created.etag)
        const stale = yield* Effect.flip(
          client.updateEvent(CAL, created.id, { subject: "v3" }, Option.some(created.etag))
        )
        expect(stale).toMatchObject({ _tag: "EtagMismatch", ref: created.id })
        const staleDelete = yield* Effect.flip(client.deleteEvent(CAL, created.id, Option.some(created.etag)))
        expect(staleDelete._tag).toBe("EtagMismatch")
        yield* client.deleteEvent(CAL, created.id, Option.some(updated.etag))
        yield* client.deleteEvent(CAL, created.id, Option.some(updated.etag))
        expect(fake.requests.filter((r) => r.method === "DELETE").map((r) => [r.ifMatch, r.status])).toEqual([
          [created.etag, 412],
          [updated.etag, 204],
          [updated.etag, 404]
        ])
        const missing = yield* Effect.flip(client.getEvent(CAL, created.id))
        expect(missing._tag).toBe("NotFound")
        const refused = yield* Effect.flip(
          client.createEvent(CAL, {
            event: event(2, { start: { dateTime: "2026-12-02T10:00:00", timeZone: "Nowhere/Land" } }),
            transactionId: "k2"
          })
        )
        expect(refused._tag).toBe("Rejected")
      })
  )

  it.scoped("lists a series' instances: occurrences and exceptions, not the cancelled ones", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired({ pageSize: 2 })
      const master = yield* client.createEvent(CAL, {
        event: event(7, {
          recurrence: {
            pattern: { type: "daily", interval: 1 },
            range: { type: "numbered", startDate: "2026-12-07", numberOfOccurrences: 4 }
          }
        }),
        transactionId: "series-1"
      })
      expect(Option.getOrNull(master.type)).toBe("seriesMaster")
      const before = yield* client.instances(CAL, master.id, WINDOW)
      expect(before.map((i) => Option.getOrNull(i.type))).toEqual([
        "occurrence",
        "occurrence",
        "occurrence",
        "occurrence"
      ])
      const [o1, o2] = before
      yield* client.updateEvent(CAL, o1?.id ?? "", { subject: "moved" }, Option.some(o1?.etag ?? ""))
      fake.remove(o2?.id ?? "")
      const after = yield* client.instances(CAL, master.id, WINDOW)
      expect(after.map((i) => [Option.getOrNull(i.type), Option.getOrNull(i.seriesMasterId)])).toEqual([
        ["exception", master.id],
        ["occurrence", master.id],
        ["occurrence", master.id]
      ])
      // The delta of the same window has bare occurrence stubs.
      const round = yield* client.deltaRound(CAL, FROM_WINDOW)
      const stub = round.entries.find(
        (e) => e._tag === "Changed" && Option.contains(e.item.type, "occurrence")
      )
      expect(stub?._tag === "Changed" && stub.item.json.subject).toBe(undefined)
    })
  )

  // Live: under a mutation the 5th call is refused and the client waits out Retry-After on the real clock.
  it.scopedLive("5 concurrent calls never have more than 4 requests in flight, and none is refused", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      const e = yield* client.createEvent(CAL, newEvent(1, "k1"))
      fake.setLatency(150)
      fake.resetMaxInFlight()
      fake.resetLog()
      const all = yield* Effect.all(
        [client.me, client.getEvent(CAL, e.id), client.listCalendars, client.me, client.getEvent(CAL, e.id)],
        { concurrency: "unbounded" }
      )
      expect(all).toHaveLength(5)
      expect(fake.maxInFlight()).toBe(4)
      expect(fake.requests.map((r) => r.status)).toEqual([200, 200, 200, 200, 200])
    })
  )

  it.scopedLive("honours Retry-After on a 429 and a 503, then answers", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      fake.failNext(1, { status: 429, code: "TooManyRequests", retryAfter: "1" })
      const t0 = Date.now()
      yield* client.me
      const waited = Date.now() - t0
      expect(waited).toBeGreaterThanOrEqual(1000)
      fake.failNext(1, { status: 503, code: "serviceNotAvailable", retryAfter: "1" })
      const t1 = Date.now()
      yield* client.me
      expect(Date.now() - t1).toBeGreaterThanOrEqual(1000)
      expect(fake.requests.map((r) => r.status)).toEqual([429, 200, 503, 200])
    })
  )

  it.scopedLive(
    "gives up with RateLimited (carrying the wait) on a wait beyond the cap, and after its attempts",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired({ client: { maxRetryAfter: "2 seconds", attempts: 2 } })
        fake.failNext(1, { status: 429, code: "TooManyRequests", retryAfter: "120" })
        const long = yield* Effect.flip(client.me)
        expect(long).toMatchObject({ _tag: "RateLimited", retryAfterMillis: 120_000 })
        expect(fake.requests).toHaveLength(1)
        fake.failNext(2, { status: 429, code: "TooManyRequests", retryAfter: "0" })
        expect((yield* Effect.flip(client.me))._tag).toBe("RateLimited")
        fake.failNext(2, { status: 503, code: "serviceNotAvailable", retryAfter: "0" })
        expect((yield* Effect.flip(client.me))._tag).toBe("Transient")
        fake.resetLog()
        fake.failNext(1, { status: 500, code: "generalException" })
        expect((yield* Effect.flip(client.me))._tag).toBe("Transient")
        expect(fake.requests).toHaveLength(1)
      })
  )

  it.scoped(
    "refreshes once on a 401 and retries; the rotated refresh token is sealed and used next time",
    () =>
      Effect.gen(function* () {
        const { fake, client, sealed, initialRefreshToken } = yield* wired({ strictRotation: true })
        fake.expireAccessTokens()
        yield* client.me
        expect(sealed).toHaveLength(1)
        const rotated = Redacted.value(sealed[0]?.refreshToken ?? Redacted.make(""))
        expect(rotated).not.toBe(initialRefreshToken)
        expect(fake.issuedRefreshTokens).toContain(rotated)
        // Strict rotation: the second refresh works only with the rotated token.
        fake.expireAccessTokens()
        yield* client.me
        expect(sealed).toHaveLength(2)
        expect(Redacted.value(sealed[1]?.refreshToken ?? Redacted.make(""))).not.toBe(rotated)
        expect(fake.requests.filter((r) => r.path.endsWith("/me")).map((r) => r.status)).toEqual([
          401, 200, 401, 200
        ])
      })
  )

  it.scoped("a revoked grant is Unauthorized", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      fake.revokeGrants()
      const e = yield* Effect.flip(client.me)
      expect(e._tag).toBe("Unauthorized")
    })
  )

  it.scoped("asks getSchedule for free/busy", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      yield* client.createEvent(CAL, newEvent(1, "k1"))
      const [mine, other] = yield* client.getSchedule({
        schedules: [fake.mailbox.mail ?? "", "nobody@example.org"],
        window: { start: new Date("2026-12-01T09:00:00Z"), end: new Date("2026-12-01T12:00:00Z") },
        intervalMinutes: 60
      })
      expect(mine?.availabilityView).toBe("020")
      expect(mine?.items.map((i) => [i.status, i.start.toISOString(), i.end.toISOString()])).toEqual([
        ["busy", "2026-12-01T10:00:00.000Z", "2026-12-01T11:00:00.000Z"]
      ])
      expect(Option.isSome(other?.error ?? Option.none())).toBe(true)
    })
  )

  it.effect("refuses a plain http:// API URL off loopback", () =>
    Effect.gen(function* () {
      const r = yield* Effect.either(
        GraphCalendarClient.make({
          tokens: {
            accessToken: Effect.succeed(Redacted.make("t")),
            refreshAfterRejection: () => Effect.succeed(Redacted.make("t"))
          },
          apiUrl: "http://graph.example/v1.0",
          account: "a"
        })
      ).pipe(Effect.provide(FetchHttpClient.layer))
      expect(Either.isLeft(r)).toBe(true)
    })
  )
})
