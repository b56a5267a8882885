/**
 * Microsoft 365 end to end: `almanac serve` in its own process, driven only through its HTTP API,
 * against the providers' Graph fake (a FAKE of Graph's calendar API and the identity platform's
 * OAuth endpoints, see its header — no real Microsoft here) and calendars on the real Radicale of
 * the test servers. Connect through the OAuth redirect; CalDAV → Microsoft private one-way (a
 * Busy copy, private, nothing else, no invitation); an idle poll of the Microsoft calendar is one
 * request and writes nothing; Microsoft → CalDAV with a weekly series (a moved and a cancelled
 * instance, across the end of summer time) and an all-day event; a rule Outlook cannot express
 * is quarantined with its reason; a rejected delta link merges with no duplicates.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EventModel } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GraphFake from "../../providers/test/fakes/GraphFake.js"
import { api, serve, stop } from "./support/ServeProcess.js"
import * as Fixtures from "./support/SyncFixtures.js"

const DEFAULT = "AAMk-calendar"
const TEAM = "AAMk-team"
const MIRROR = "AAMk-mirror"
const ZONE = "W. Europe Standard Time"

type Json = Record<string, unknown>

const live = (fake: GraphFake.GraphFake, calendarId: string) => fake.events(calendarId)

describe("Microsoft 365 through almanac serve", () => {
  it.scopedLive(
    "connect, CalDAV → Microsoft private, Microsoft → CalDAV with a series and an all-day event, two-way, idle polls, free/busy, a booking, a rejected delta link, a rule Outlook cannot hold",
    () =>
      Effect.gen(function* () {
        const fake = yield* Effect.acquireRelease(
          Effect.promise(() =>
            GraphFake.start({
              clientSecret: "ms-secret",
              calendars: [
                { id: DEFAULT, name: "Calendar", canEdit: true, isDefaultCalendar: true },
                { id: TEAM, name: "Team", canEdit: true },
                { id: MIRROR, name: "Mirror", canEdit: true }
              ]
            })
          ),
          (f) => Effect.promise(() => f.close())
        )
        const port = yield* Effect.promise(freePort)
        const url = `http://127.0.0.1:${port}`
        const adminToken = randomBytes(24).toString("hex")
        const env = {
          ALMANAC_DATA_DIR: mkdtempSync(join(tmpdir(), "almanac-ms-")),
          ALMANAC_PORT: String(port),
          ALMANAC_PUBLIC_URL: url,
          ALMANAC_ADMIN_TOKEN: adminToken,
          ALMANAC_ALLOW_PRIVATE_URLS: "true",
          ALMANAC_POLL_INTERVAL: "1h",
          ALMANAC_MICROSOFT_CLIENT_ID: fake.clientId,
          ALMANAC_MICROSOFT_CLIENT_SECRET: fake.clientSecret ?? "",
          ALMANAC_MICROSOFT_AUTHORITY: fake.authorityUrl,
          ALMANAC_GRAPH_URL: fake.apiUrl
        }
        const server = yield* Effect.acquireRelease(
          Effect.promise(() => serve(env, url)),
          (p) => Effect.promise(() => stop(p))
        )
        const created = yield* Effect.promise(() =>
          api(url, adminToken)("POST", "/api/admin/users", { name: "Ann" })
        )
        const token = (created.body as { token: { token: string } }).token.token
        const call = (method: string, path: string, body?: unknown) =>
          Effect.promise(() => api(url, token)(method, path, body))
        const asServer = {
          request: (method: string, path: string, options: { readonly body?: unknown } = {}) =>
            api(url, token)(method, path, options.body)
        }

        // Connect Microsoft: the authorization URL, the person's consent at the fake, the callback.
        const start = yield* call("POST", "/api/accounts/microsoft")
        expect(start.status).toBe(200)
        const callback = fake.consent((start.body as { authorizeUrl: string }).authorizeUrl)
        const done = yield* Effect.promise(() => fetch(callback, { redirect: "manual" }))
        expect(done.status, server.output()).toBe(303)
        const accounts = (yield* call("GET", "/api/accounts")).body as ReadonlyArray<{
          id: string
          kind: string
        }>
        const microsoft = accounts.find((a) => a.kind === "microsoft")
        if (microsoft === undefined) return expect.fail("no Microsoft account")
        const calendars = (yield* call("GET", `/api/accounts/${microsoft.id}/calendars`))
          .body as ReadonlyArray<{
          id: string
          url: string
        }>
        const team = calendars.find((c) => c.url === TEAM)
        const outlook = calendars.find((c) => c.url === DEFAULT)
        if (team === undefined || outlook === undefined) return expect.fail("calendars missing")
        const mirror = calendars.find((c) => c.url === MIRROR)
        if (mirror === undefined) return expect.fail("no Mirror calendar")
        const [source, target, twin] = yield* Fixtures.account(asServer, token, "radicale", 3)
        if (source === undefined || target === undefined || twin === undefined)
          return expect.fail("no Radicale calendars")

        const status = (calendarId: string) =>
          call("GET", `/api/calendars/${calendarId}/status`).pipe(
            Effect.map(
              (r) =>
                r.body as {
                  lastPollAt: string | null
                  lastError: string | null
                  polling: unknown
                  quarantined: ReadonlyArray<{ href: string; reason: string }>
                }
            )
          )
        const syncAndWait = (calendarId: string) =>
          Effect.gen(function* () {
            const asked = Date.now()
            expect((yield* call("POST", `/api/calendars/${calendarId}/sync`)).status).toBe(202)
            return yield* Fixtures.waitFor(
              `a poll of ${calendarId}`,
              status(calendarId),
              (s) => s.polling === null && s.lastPollAt !== null && Date.parse(s.lastPollAt) >= asked
            )
          })
        const relate = (from: string, to: string, extra: Json) =>
          call("POST", "/api/relationships", { sourceCalendarId: from, targetCalendarId: to, ...extra }).pipe(
            Effect.tap((r) => Effect.sync(() => expect(r.status, JSON.stringify(r.body)).toBe(201)))
          )

        // CalDAV → Microsoft, private.
        const uid = randomUUID()
        yield* Fixtures.put(source, Fixtures.event(uid, "Dentist"))
        yield* relate(source.id, team.id, { direction: "one-way", markPrivate: true })
        yield* syncAndWait(source.id)
        const [copy, ...others] = yield* Fixtures.waitFor(
          "the copy on Microsoft",
          Effect.sync(() => live(fake, TEAM)),
          (es) => es.length > 0
        )
        expect(others).toEqual([])
        expect(copy).toMatchObject({ subject: "Busy", sensitivity: "private" })
        expect(JSON.stringify(copy)).not.toContain("Dentist")
        expect(JSON.stringify(copy)).not.toContain("room of")
        expect(copy?.attendees ?? []).toEqual([])

        // Idle: a poll of the Microsoft calendar is one request and writes nothing; the source's
        // poll writes nothing on Microsoft either.
        yield* syncAndWait(team.id)
        fake.resetLog()
        yield* syncAndWait(team.id)
        expect(fake.apiRequestCount(), JSON.stringify(fake.requests)).toBe(1)
        yield* syncAndWait(source.id)
        expect(fake.apiRequestCount((r) => r.method !== "GET")).toBe(0)

        // Microsoft → CalDAV: a person's weekly series over the end of summer time (25 October
        // 2026), with one instance moved and one cancelled, and an all-day event.
        const series = fake.insertAsPerson(DEFAULT, {
          subject: "Weekly review",
          start: { dateTime: "2026-10-12T10:00:00", timeZone: ZONE },
          end: { dateTime: "2026-10-12T11:00:00", timeZone: ZONE },
          recurrence: {
            pattern: { type: "weekly", interval: 1, daysOfWeek: ["monday"], firstDayOfWeek: "monday" },
            range: {
              type: "numbered",
              startDate: "2026-10-12",
              numberOfOccurrences: 6,
              recurrenceTimeZone: ZONE
            }
          }
        })
        fake.insertAsPerson(DEFAULT, {
          subject: "Holiday",
          isAllDay: true,
          start: { dateTime: "2026-12-24T00:00:00", timeZone: ZONE },
          end: { dateTime: "2026-12-25T00:00:00", timeZone: ZONE }
        })
        const grant = fake.issueTokens()
        const instances = yield* Effect.promise(async () => {
          const res = await fetch(
            `${fake.apiUrl}/me/events/${String(series.id)}/instances?startDateTime=2026-10-01T00:00:00Z&endDateTime=2026-12-31T00:00:00Z`,
            { headers: { authorization: `Bearer ${grant.accessToken}`, prefer: 'outlook.timezone="UTC"' } }
          )
          return (
            (await res.json()) as { value: ReadonlyArray<Json & { id: string; start: { dateTime: string } }> }
          ).value
        })
        const byDay = (day: string) => instances.find((i) => i.start.dateTime.startsWith(day))
        const second = byDay("2026-10-19")
        const third = byDay("2026-10-26")
        if (second === undefined || third === undefined) return expect.fail("occurrences not found")
        fake.edit(second.id, {
          start: { dateTime: "2026-10-20T14:00:00", timeZone: ZONE },
          end: { dateTime: "2026-10-20T15:00:00", timeZone: ZONE }
        })
        fake.remove(third.id)
        yield* relate(outlook.id, target.id, { direction: "one-way", markPrivate: false })
        yield* syncAndWait(outlook.id)
        const arrived = yield* Fixtures.waitFor(
          "the series and the holiday on Radicale",
          Fixtures.contents(target),
          (items) => items.length === 2
        )
        const weekly = arrived.find((i) => Option.contains(i.summary, "Weekly review"))?.resource
        const holiday = arrived.find((i) => Option.contains(i.summary, "Holiday"))?.resource
        if (weekly === undefined || holiday === undefined) return expect.fail(JSON.stringify(arrived))
        const master = Option.getOrThrow(weekly.master)
        expect(Option.getOrElse(master.rrule, () => "")).toMatch(/FREQ=WEEKLY/)
        expect(Option.getOrElse(master.rrule, () => "")).toMatch(/COUNT=6/)
        expect(EventModel.tzidOf(master.start)).toEqual(Option.some("Europe/Berlin"))
        // The moved instance is an override at its new time; the cancelled one an EXDATE.
        // Both in Berlin time at 10:00, on either side of the change to winter time.
        expect(weekly.overrides.map((o) => o.recurrenceId)).toEqual([
          Option.some(EventModel.zoned("Europe/Berlin", 2026, 10, 19, 10, 0, 0))
        ])
        expect(weekly.overrides[0]?.start).toEqual(EventModel.zoned("Europe/Berlin", 2026, 10, 20, 14, 0, 0))
        expect(master.exdates).toEqual([EventModel.zoned("Europe/Berlin", 2026, 10, 26, 10, 0, 0)])
        const h = Option.getOrThrow(holiday.master)
        expect(h.allDay).toBe(true)
        expect(h.start).toMatchObject({ _tag: "Date" })
        expect(fake.invitations).toEqual([])

        // Free/busy over the Microsoft calendar: the moved instance where it went (14:00 Berlin,
        // still summer time: 12:00 UTC), the cancelled one free.
        const fb = yield* call("POST", "/api/freebusy", {
          start: "2026-10-19T00:00:00Z",
          end: "2026-10-27T00:00:00Z",
          calendarIds: [outlook.id]
        })
        expect(fb.status, JSON.stringify(fb.body)).toBe(200)
        expect((fb.body as { busy: unknown }).busy).toEqual([
          { start: "2026-10-20T12:00:00.000Z", end: "2026-10-20T13:00:00.000Z" }
        ])

        // A booking on a Microsoft calendar: one event per key, with no attendee (no invitation).
        const booking = yield* Effect.promise(async () => {
          const body = {
            calendarId: team.id,
            start: "2026-12-11T10:00:00+01:00",
            end: "2026-12-11T10:30:00+01:00",
            summary: "Intro call",
            attendees: ["guest@example.com"],
            timeZone: "Europe/Berlin"
          }
          const post = () =>
            fetch(`${url}/api/bookings`, {
              method: "POST",
              headers: {
                authorization: `Bearer ${token}`,
                "content-type": "application/json",
                "idempotency-key": "ms-1"
              },
              body: JSON.stringify(body)
            }).then(async (r) => ({
              status: r.status,
              body: (await r.json()) as { id: string; status: string }
            }))
          return [await post(), await post()] as const
        })
        expect(booking[0].status, JSON.stringify(booking[0].body)).toBe(201)
        expect(booking[1].status).toBe(200)
        expect(booking[1].body.id).toBe(booking[0].body.id)
        expect(live(fake, TEAM).filter((e) => e.subject === "Intro call")).toHaveLength(1)
        const cancelled = yield* call("DELETE", `/api/bookings/${booking[0].body.id}`)
        expect(cancelled.status).toBe(200)
        expect(live(fake, TEAM).filter((e) => e.subject === "Intro call")).toHaveLength(0)
        expect(fake.invitations).toEqual([])

        // A rejected delta link: the engine merges, nothing is doubled.
        fake.expireDeltaTokens("syncStateNotFound")
        yield* syncAndWait(outlook.id)
        expect((yield* status(outlook.id)).lastError).toBeNull()
        expect((yield* Fixtures.contents(target)).length).toBe(2)
        fake.expireDeltaTokens("reset")
        yield* syncAndWait(team.id)
        expect(live(fake, TEAM)).toHaveLength(1)

        // Two-way, Radicale ⇄ Microsoft: each side's event reaches the other, an edit on
        // Microsoft comes back, and then neither side writes anything (no echo).
        yield* Fixtures.put(twin, Fixtures.event(randomUUID(), "Planning"))
        yield* relate(twin.id, mirror.id, { direction: "two-way", markPrivate: false })
        yield* syncAndWait(twin.id)
        const mirrored = yield* Fixtures.waitFor(
          "Planning on Microsoft",
          Effect.sync(() => live(fake, MIRROR)),
          (es) => es.length === 1
        )
        expect(mirrored[0]).toMatchObject({ subject: "Planning" })
        const offsite = fake.insertAsPerson(MIRROR, {
          subject: "Offsite",
          start: { dateTime: "2026-12-15T09:00:00", timeZone: ZONE },
          end: { dateTime: "2026-12-15T17:00:00", timeZone: ZONE }
        })
        yield* syncAndWait(mirror.id)
        yield* Fixtures.waitFor("Offsite on Radicale", Fixtures.contents(twin), (items) => items.length === 2)
        // An edit of the original on Microsoft is copied; an edit of a copy there is put back.
        fake.edit(String(offsite.id), { subject: "Offsite (Berlin)" })
        fake.edit(String(mirrored[0]?.id), { subject: "Planning (edited on the copy)" })
        yield* syncAndWait(mirror.id)
        const both = yield* Fixtures.waitFor(
          "the edited Offsite on Radicale",
          Fixtures.contents(twin),
          (items) => items.some((i) => Option.contains(i.summary, "Offsite (Berlin)"))
        )
        expect(both.map((i) => Option.getOrElse(i.summary, () => "")).sort()).toEqual([
          "Offsite (Berlin)",
          "Planning"
        ])
        expect(
          live(fake, MIRROR)
            .map((e) => e.subject)
            .sort()
        ).toEqual(["Offsite (Berlin)", "Planning"])
        yield* syncAndWait(twin.id)
        yield* syncAndWait(mirror.id)
        fake.resetLog()
        const etags = (yield* Fixtures.contents(twin)).map((i) => i.etag).sort()
        yield* syncAndWait(twin.id)
        yield* syncAndWait(mirror.id)
        expect(fake.apiRequestCount((r) => r.method !== "GET")).toBe(0)
        expect((yield* Fixtures.contents(twin)).map((i) => i.etag).sort()).toEqual(etags)
        expect(live(fake, MIRROR)).toHaveLength(2)

        // A rule Outlook cannot hold (an hourly one) on the CalDAV side: quarantined with its reason.
        const hourly = Fixtures.event(randomUUID(), "Every hour")
        yield* Fixtures.put(source, {
          ...hourly,
          master: Option.map(hourly.master, (m) => ({ ...m, rrule: Option.some("FREQ=HOURLY;COUNT=5") }))
        })
        yield* syncAndWait(source.id)
        const after = yield* status(source.id)
        expect(live(fake, TEAM)).toHaveLength(1)
        expect(after.quarantined.map((q) => q.reason)).toEqual([
          "the target refused its copy: Outlook cannot repeat an event every hour"
        ])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    240_000
  )
})
