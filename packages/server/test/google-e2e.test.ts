/**
 * Google end to end: `almanac serve` in its own process, driven only through its HTTP API, against
 * the providers' Google fake (a FAKE of Google's OAuth endpoints and Calendar API v3, see its header
 * — no real Google here) and calendars on the real Radicale of the test servers, standing in for
 * iCloud. Connect through the OAuth redirect; CalDAV → Google private one-way (a Busy copy, private,
 * nothing else), its edits and deletes, a weekly series with an EXDATE, a moved and a cancelled
 * instance; the mass-delete safety stop; an idle poll of the Google calendar is one request and
 * writes nothing; Google → CalDAV with a weekly series (a moved and a cancelled instance, across the
 * end of summer time) and an all-day event, checked field by field on Radicale, and Google's edits
 * and deletes; a rejected sync token merges with nothing doubled; two-way with no echo; an access
 * token refused mid-way is refreshed, not parked; a revoked grant parks the account until it is
 * connected again; never an invitation.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { EventModel } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GoogleFake from "../../providers/test/fakes/GoogleFake.js"
import * as Chromium from "./support/Browser.js"
import { api, serve, stop } from "./support/ServeProcess.js"
import * as Fixtures from "./support/SyncFixtures.js"

const PRIMARY = "ann@example.org"
const TEAM = "team@group.calendar.google.com"
const MIRROR = "mirror@group.calendar.google.com"
const BERLIN = "Europe/Berlin"

type Json = Record<string, unknown>

const calendars: ReadonlyArray<GoogleFake.FakeCalendar> = [
  { id: PRIMARY, summary: PRIMARY, timeZone: BERLIN, accessRole: "owner", primary: true },
  { id: TEAM, summary: "Team", timeZone: BERLIN, accessRole: "writer" },
  { id: MIRROR, summary: "Mirror", timeZone: BERLIN, accessRole: "writer" }
]

/** A calendar's live events on the fake, as Google stores them (tombstones and cancelled instances aside). */
const live = (fake: GoogleFake.GoogleFake, calendarId: string) =>
  fake.events(calendarId).filter((e) => e.status !== "cancelled")

const writes = (r: GoogleFake.LoggedRequest) => r.method !== "GET"

const summaries = (items: ReadonlyArray<Fixtures.Stored>) =>
  items.map((i) => Option.getOrElse(i.summary, () => "")).sort()

/**
 * The fake, `almanac serve` in its own process configured for it (polls only when asked: the
 * interval is an hour), Ann, and the OAuth redirect flow for her Google account.
 */
const boot = Effect.gen(function* () {
  const fake = yield* Effect.acquireRelease(
    Effect.promise(() => GoogleFake.start({ calendars })),
    (f) => Effect.promise(() => f.close())
  )
  const port = yield* Effect.promise(freePort)
  const url = `http://127.0.0.1:${port}`
  const adminToken = randomBytes(24).toString("hex")
  const env = {
    ALMANAC_DATA_DIR: mkdtempSync(join(tmpdir(), "almanac-google-")),
    ALMANAC_PORT: String(port),
    ALMANAC_PUBLIC_URL: url,
    ALMANAC_ADMIN_TOKEN: adminToken,
    ALMANAC_ALLOW_PRIVATE_URLS: "true",
    ALMANAC_POLL_INTERVAL: "1h",
    ALMANAC_GOOGLE_AUTH_URL: fake.authUrl,
    ALMANAC_GOOGLE_TOKEN_URL: fake.tokenUrl,
    ALMANAC_GOOGLE_REVOKE_URL: fake.revokeUrl,
    ALMANAC_GOOGLE_API_URL: fake.apiUrl,
    ALMANAC_GOOGLE_CLIENT_ID: fake.clientId,
    ALMANAC_GOOGLE_CLIENT_SECRET: fake.clientSecret
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

  // Connect Google: the authorization URL, the person's consent at the fake (it allows at
  // once and redirects), the callback on the server.
  const connectGoogle = Effect.gen(function* () {
    const start = yield* call("POST", "/api/accounts/google")
    expect(start.status, JSON.stringify(start.body)).toBe(200)
    const consent = yield* Effect.promise(() =>
      fetch((start.body as { authorizeUrl: string }).authorizeUrl, { redirect: "manual" })
    )
    const callback = consent.headers.get("location") ?? ""
    expect(callback.startsWith(`${url}/oauth/google/callback?`), callback).toBe(true)
    const done = yield* Effect.promise(() => fetch(callback, { redirect: "manual" }))
    expect(done.status, server.output()).toBe(303)
  })
  return { fake, url, server, token, call, asServer, connectGoogle }
})

describe("Google through almanac serve", () => {
  it.scopedLive(
    "connect, CalDAV → Google private, Google → CalDAV with a series and an all-day event, edits and deletes on both sides, a rejected sync token, two-way with no echo, a refused access token, a revoked grant",
    () =>
      Effect.gen(function* () {
        const { fake, server, token, call, asServer, connectGoogle } = yield* boot
        yield* connectGoogle
        const accountList = call("GET", "/api/accounts").pipe(
          Effect.map((r) => r.body as ReadonlyArray<{ id: string; kind: string; status: string }>)
        )
        const google = (yield* accountList).find((a) => a.kind === "google")
        if (google === undefined) return expect.fail("no Google account")
        const googleStatus = accountList.pipe(
          Effect.map((all) => all.find((a) => a.kind === "google")?.status)
        )
        const googleCalendars = (yield* call("GET", `/api/accounts/${google.id}/calendars`))
          .body as ReadonlyArray<{ id: string; url: string; writable: boolean }>
        const primary = googleCalendars.find((c) => c.url === PRIMARY)
        const team = googleCalendars.find((c) => c.url === TEAM)
        const mirror = googleCalendars.find((c) => c.url === MIRROR)
        if (primary === undefined || team === undefined || mirror === undefined)
          return expect.fail(`calendars missing: ${JSON.stringify(googleCalendars)}`)
        expect(team.writable).toBe(true)
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
                  copiesMade: number
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
        /**
         * A poll that finds nothing new: its log line (written just after the status, so waited
         * for) says unchanged, after one request to the calendar's server. On a CalDAV calendar
         * the poll after one that saw changes lists it in full first (coarse ctags,
         * CalDavProvider.changes): that one writes nothing, and the next is the idle one.
         */
        const idlePoll = (calendarId: string, settle = false) =>
          Effect.gen(function* () {
            const lines = Effect.sync(() =>
              server
                .output()
                .split("\n")
                .filter((l) => l.includes("message=poll") && l.includes(`calendar=${calendarId} `))
            )
            const once = Effect.gen(function* () {
              const before = (yield* lines).length
              const polled = yield* syncAndWait(calendarId)
              expect(polled.lastError).toBeNull()
              const after = yield* Fixtures.waitFor(
                "the poll's log line",
                lines,
                (ls) => ls.length > before,
                20
              )
              return after.at(-1) ?? ""
            })
            if (settle) {
              const listing = yield* once
              for (const written of [/ created=0 /, / updated=0 /, / deleted=0 /])
                expect(listing).toMatch(written)
            }
            const line = yield* once
            expect(line).toMatch(/ requests=1 /)
            expect(line).toMatch(/ outcome=unchanged /)
          })
        const relate = (from: string, to: string, extra: Json) =>
          call("POST", "/api/relationships", { sourceCalendarId: from, targetCalendarId: to, ...extra }).pipe(
            Effect.tap((r) => Effect.sync(() => expect(r.status, JSON.stringify(r.body)).toBe(201)))
          )
        /** A person's delete on Google, as their own client sends it. */
        const personal = fake.issueTokens()
        const deleteAsPerson = (calendarId: string, eventId: string) =>
          Effect.promise(() =>
            fetch(
              `${fake.apiUrl}/calendars/${encodeURIComponent(calendarId)}/events/${encodeURIComponent(eventId)}`,
              { method: "DELETE", headers: { authorization: `Bearer ${personal.accessToken}` } }
            )
          ).pipe(Effect.tap((r) => Effect.sync(() => expect(r.status).toBe(204))))
        /** Rewrites an event on Radicale in place (If-Match), as another client would. */
        const rewrite = (
          calendar: Fixtures.Calendar,
          href: string,
          change: (e: EventModel.VEvent) => EventModel.VEvent
        ) =>
          Effect.gen(function* () {
            const stored = (yield* Fixtures.contents(calendar)).find((i) => i.href === href)
            if (stored === undefined) return yield* Effect.dieMessage(`no ${href}`)
            const resource = stored.resource
            yield* calendar.client
              .put(href, ICalCodec.serialize({ ...resource, master: Option.map(resource.master, change) }), {
                _tag: "Update",
                etag: stored.etag
              })
              .pipe(Effect.orDie)
          })
        const removeFrom = (calendar: Fixtures.Calendar, href: string) =>
          Effect.gen(function* () {
            const stored = (yield* Fixtures.contents(calendar)).find((i) => i.href === href)
            if (stored === undefined) return yield* Effect.dieMessage(`no ${href}`)
            yield* calendar.client.remove(href, stored.etag).pipe(Effect.orDie)
          })

        // ---- CalDAV → Google, private: a Busy copy with nothing else, no attendee, no invitation.
        const dentistUid = randomUUID()
        const dentist = Fixtures.event(dentistUid, "Dentist", 3)
        const dentistHref = yield* Fixtures.put(source, {
          ...dentist,
          master: Option.map(dentist.master, (m) => ({
            ...m,
            description: Option.some("bring the X-rays"),
            attendees: [
              {
                address: "mailto:dr.who@example.com",
                name: Option.some("Dr Who"),
                scheduleAgent: Option.none()
              }
            ]
          }))
        })
        const physioHref = yield* Fixtures.put(source, Fixtures.event(randomUUID(), "Physio", 4))
        yield* relate(source.id, team.id, { direction: "one-way", markPrivate: true })
        yield* syncAndWait(source.id)
        const copies = yield* Fixtures.waitFor(
          "the copies on Google",
          Effect.sync(() => live(fake, TEAM)),
          (es) => es.length === 2
        )
        for (const copy of copies) {
          expect(copy).toMatchObject({ summary: "Busy", visibility: "private" })
          for (const field of ["description", "location", "attendees"]) expect(copy).not.toHaveProperty(field)
        }
        expect(JSON.stringify(copies)).not.toMatch(/Dentist|Physio|X-rays|room of|Dr Who/)
        const dentistCopy = copies.find((c) => JSON.stringify(c.extendedProperties).includes(dentistUid))
        if (dentistCopy === undefined) return expect.fail("the Dentist copy is not marked with its origin")
        expect(fake.events(PRIMARY)).toEqual([])

        // Idle: after the Google calendar's first full listing, its poll is one request and writes
        // nothing; the source's poll writes nothing on Google either.
        yield* syncAndWait(team.id)
        fake.resetLog()
        const idle = yield* syncAndWait(team.id)
        expect(idle.lastError).toBeNull()
        expect(fake.apiRequestCount(), JSON.stringify(fake.requests)).toBe(1)
        expect(fake.requests.map((r) => [r.method, r.path])).toEqual([
          ["GET", `/calendar/v3/calendars/${encodeURIComponent(TEAM)}/events`]
        ])
        expect(fake.requests[0]?.query.syncToken).toBeDefined()
        fake.resetLog()
        yield* idlePoll(source.id, true)
        expect(fake.apiRequestCount(writes)).toBe(0)

        // Edits and deletes on the CalDAV side: the Dentist moves by an hour, the Physio is deleted.
        const dentistStart = Option.getOrThrow(dentist.master).start
        const later = (d: EventModel.DateValue): EventModel.DateValue =>
          d._tag === "UtcDateTime" ? { ...d, hour: d.hour + 2 } : d
        yield* rewrite(source, dentistHref, (m) => ({ ...m, start: later(m.start), end: later(m.end) }))
        yield* removeFrom(source, physioHref)
        yield* syncAndWait(source.id)
        const [moved, ...rest] = live(fake, TEAM)
        expect(rest).toEqual([])
        expect(moved?.id).toBe(dentistCopy.id)
        if (dentistStart._tag !== "UtcDateTime") return expect.fail("the fixture's start is UTC")
        const movedAt = Date.UTC(
          dentistStart.year,
          dentistStart.month - 1,
          dentistStart.day,
          dentistStart.hour + 2
        )
        expect(Date.parse(String((moved?.start as Json | undefined)?.dateTime))).toBe(movedAt)
        expect(moved).toMatchObject({ summary: "Busy", visibility: "private" })

        // A weekly series on Radicale (Berlin, 09:00, five Mondays from 7 December): the 14th an
        // EXDATE, the 21st moved to Tuesday 11:00, the 28th a cancelled override. On Google: one
        // master whose recurrence holds the rule and both exclusions, and one exception at its
        // instance id (the original start in UTC) with its new time, still private.
        const standupUid = randomUUID()
        const at = (day: number, hour: number) => EventModel.zoned(BERLIN, 2026, 12, day, hour, 0, 0)
        const standup = EventModel.makeEvent({
          uid: standupUid,
          start: at(7, 9),
          end: at(7, 10),
          summary: Option.some("Standup"),
          rrule: Option.some("FREQ=WEEKLY;COUNT=5"),
          exdates: [at(14, 9)]
        })
        yield* Fixtures.put(
          source,
          EventModel.makeResource(standup, [
            {
              ...standup,
              rrule: Option.none(),
              exdates: [],
              recurrenceId: Option.some(at(21, 9)),
              start: at(22, 11),
              end: at(22, 12)
            },
            {
              ...standup,
              rrule: Option.none(),
              exdates: [],
              recurrenceId: Option.some(at(28, 9)),
              status: Option.some("CANCELLED")
            }
          ])
        )
        yield* syncAndWait(source.id)
        const standupCopies = live(fake, TEAM).filter((e) =>
          JSON.stringify(e.extendedProperties).includes(standupUid)
        )
        const standupMaster = standupCopies.find((e) => e.recurringEventId === undefined)
        if (standupMaster === undefined) return expect.fail(JSON.stringify(standupCopies))
        const recurrence = (standupMaster.recurrence as ReadonlyArray<string>).join("\n")
        expect(recurrence).toMatch(/^RRULE:FREQ=WEEKLY;COUNT=5$/m)
        expect(recurrence).toMatch(/^EXDATE.*20261214T(090000|080000Z)/m)
        expect(recurrence).toMatch(/20261228T(090000|080000Z)/)
        expect(standupMaster).toMatchObject({
          summary: "Busy",
          visibility: "private",
          start: { dateTime: "2026-12-07T09:00:00+01:00", timeZone: BERLIN }
        })
        expect(standupCopies.filter((e) => e !== standupMaster)).toEqual([
          expect.objectContaining({
            id: `${String(standupMaster.id)}_20261221T080000Z`,
            recurringEventId: standupMaster.id,
            originalStartTime: { dateTime: "2026-12-21T09:00:00+01:00", timeZone: BERLIN },
            start: { dateTime: "2026-12-22T11:00:00+01:00", timeZone: BERLIN },
            summary: "Busy",
            visibility: "private"
          })
        ])

        // ---- Google → CalDAV: a person's weekly series in Berlin over the end of summer time
        // (25 October 2026), the second instance moved, the third cancelled; an all-day event.
        const series = fake.insertAsPerson(PRIMARY, {
          summary: "Weekly review",
          location: "Room 7",
          start: { dateTime: "2026-10-12T10:00:00+02:00", timeZone: BERLIN },
          end: { dateTime: "2026-10-12T11:00:00+02:00", timeZone: BERLIN },
          recurrence: ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6"]
        })
        const seriesId = String(series.id)
        // Instance ids name the original start in UTC: 19 October 10:00 CEST, 26 October 10:00 CET.
        fake.insertAsPerson(PRIMARY, {
          id: `${seriesId}_20261019T080000Z`,
          summary: "Weekly review",
          location: "Room 7",
          start: { dateTime: "2026-10-20T14:00:00+02:00", timeZone: BERLIN },
          end: { dateTime: "2026-10-20T15:00:00+02:00", timeZone: BERLIN }
        })
        fake.insertAsPerson(PRIMARY, { id: `${seriesId}_20261026T090000Z`, status: "cancelled" })
        const holiday = fake.insertAsPerson(PRIMARY, {
          summary: "Holiday",
          start: { date: "2026-12-24" },
          end: { date: "2026-12-26" }
        })
        const lunch = fake.insertAsPerson(PRIMARY, {
          summary: "Lunch with Bo",
          start: { dateTime: "2026-12-18T12:30:00+01:00", timeZone: BERLIN },
          end: { dateTime: "2026-12-18T13:30:00+01:00", timeZone: BERLIN }
        })
        expect(fake.event(PRIMARY, `${seriesId}_20261019T080000Z`)).toMatchObject({
          recurringEventId: seriesId,
          originalStartTime: { dateTime: "2026-10-19T10:00:00+02:00", timeZone: BERLIN }
        })
        yield* relate(primary.id, target.id, { direction: "one-way", markPrivate: false })
        yield* syncAndWait(primary.id)
        const arrived = yield* Fixtures.waitFor(
          "the series, the holiday and the lunch on Radicale",
          Fixtures.contents(target),
          (items) => items.length === 3
        )
        expect(summaries(arrived)).toEqual(["Holiday", "Lunch with Bo", "Weekly review"])
        const weekly = arrived.find((i) => Option.contains(i.summary, "Weekly review"))?.resource
        const allDay = arrived.find((i) => Option.contains(i.summary, "Holiday"))?.resource
        if (weekly === undefined || allDay === undefined) return expect.fail(JSON.stringify(arrived))
        const master = Option.getOrThrow(weekly.master)
        // (ical.js normalises the order of the rule's parts)
        expect(Option.getOrNull(master.rrule)).toBe("FREQ=WEEKLY;COUNT=6;BYDAY=MO")
        expect(master.start).toEqual(EventModel.zoned(BERLIN, 2026, 10, 12, 10, 0, 0))
        expect(master.end).toEqual(EventModel.zoned(BERLIN, 2026, 10, 12, 11, 0, 0))
        expect(Option.getOrNull(master.location)).toBe("Room 7")
        // The cancelled one an EXDATE at its Berlin wall-clock time (10:00, now winter time).
        expect(master.exdates).toEqual([EventModel.zoned(BERLIN, 2026, 10, 26, 10, 0, 0)])
        // The moved one an override: RECURRENCE-ID at the original 10:00 (summer time), at its new time.
        expect(weekly.overrides).toHaveLength(1)
        const override = weekly.overrides[0]
        expect(override?.recurrenceId).toEqual(Option.some(EventModel.zoned(BERLIN, 2026, 10, 19, 10, 0, 0)))
        expect(override?.start).toEqual(EventModel.zoned(BERLIN, 2026, 10, 20, 14, 0, 0))
        expect(override?.end).toEqual(EventModel.zoned(BERLIN, 2026, 10, 20, 15, 0, 0))
        expect(override?.uid).toBe(master.uid)
        // Radicale holds a VTIMEZONE for Berlin with both its summer and winter rules.
        const berlin = weekly.timezones.find((z) => z.tzid === BERLIN)
        expect(berlin?.text).toMatch(/BEGIN:DAYLIGHT/)
        expect(berlin?.text).toMatch(/BEGIN:STANDARD/)
        const h = Option.getOrThrow(allDay.master)
        expect(h.allDay).toBe(true)
        expect(h.start).toEqual(EventModel.date(2026, 12, 24))
        expect(h.end).toEqual(EventModel.date(2026, 12, 26))
        expect(fake.invitations).toEqual([])

        // Google's edits and deletes arrive: the holiday renamed, the lunch deleted.
        fake.edit(PRIMARY, String(holiday.id), { summary: "Holiday (office closed)" })
        yield* deleteAsPerson(PRIMARY, String(lunch.id))
        yield* syncAndWait(primary.id)
        const edited = yield* Fixtures.waitFor(
          "the edit and the delete on Radicale",
          Fixtures.contents(target),
          (items) => items.length === 2
        )
        expect(summaries(edited)).toEqual(["Holiday (office closed)", "Weekly review"])
        // The series is untouched by its neighbours' changes.
        const weeklyEtag = edited.find((i) => Option.contains(i.summary, "Weekly review"))?.etag
        expect(weeklyEtag).toBe(arrived.find((i) => Option.contains(i.summary, "Weekly review"))?.etag)

        // ---- A rejected sync token: the next poll lists everything again and merges; nothing is
        // doubled and nothing is written on either side.
        yield* syncAndWait(primary.id)
        yield* syncAndWait(team.id)
        const targetEtags = (yield* Fixtures.contents(target)).map((i) => i.etag).sort()
        fake.expireSyncTokens()
        fake.resetLog()
        const merged = yield* syncAndWait(primary.id)
        expect(merged.lastError).toBeNull()
        const mergedTeam = yield* syncAndWait(team.id)
        expect(mergedTeam.lastError).toBeNull()
        // Each Google calendar was asked with its token, refused (410) and listed in full.
        for (const id of [PRIMARY, TEAM]) {
          const asked = fake.requests.filter(
            (r) => r.path === `/calendar/v3/calendars/${encodeURIComponent(id)}/events`
          )
          expect(asked.some((r) => r.query.syncToken !== undefined)).toBe(true)
          expect(asked.some((r) => r.query.syncToken === undefined)).toBe(true)
        }
        expect(fake.apiRequestCount(writes)).toBe(0)
        expect((yield* Fixtures.contents(target)).map((i) => i.etag).sort()).toEqual(targetEtags)
        expect(live(fake, TEAM)).toHaveLength(3)
        // Afterwards idle again: one request.
        fake.resetLog()
        yield* syncAndWait(team.id)
        expect(fake.apiRequestCount()).toBe(1)

        // ---- A person clears most of their Google calendar at once: the mass-delete safety stop
        // halts and deletes nothing on Radicale until they confirm, then the deletes go through.
        const daysOff = Array.from({ length: 5 }, (_, i) =>
          fake.insertAsPerson(PRIMARY, {
            summary: `Day off ${i + 1}`,
            start: { date: `2027-01-0${i + 4}` },
            end: { date: `2027-01-0${i + 5}` }
          })
        )
        yield* syncAndWait(primary.id)
        yield* Fixtures.waitFor(
          "the days off on Radicale",
          Fixtures.contents(target),
          (items) => items.length === 7
        )
        for (const d of daysOff) yield* deleteAsPerson(PRIMARY, String(d.id))
        const halted = yield* syncAndWait(primary.id)
        const awaiting = (yield* call("GET", `/api/calendars/${primary.id}/status`)).body as {
          deletesAwaitingConfirmation: string | null
        }
        expect(awaiting.deletesAwaitingConfirmation, JSON.stringify(halted)).not.toBeNull()
        expect(yield* Fixtures.contents(target)).toHaveLength(7)
        const confirmed = yield* call("POST", `/api/calendars/${primary.id}/confirm-deletes`)
        expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200)
        expect(summaries(yield* Fixtures.contents(target))).toEqual([
          "Holiday (office closed)",
          "Weekly review"
        ])
        expect(
          (
            (yield* call("GET", `/api/calendars/${primary.id}/status`)).body as {
              deletesAwaitingConfirmation: unknown
            }
          ).deletesAwaitingConfirmation
        ).toBeNull()

        // ---- Two-way, Radicale ⇄ Google: each side's event reaches the other, an edit of the
        // original on Google comes over, an edit of a copy on Google is put back from its original
        // (by design: copies follow their originals), and then neither side writes (no echo).
        const planning = Fixtures.event(randomUUID(), "Planning", 5)
        yield* Fixtures.put(twin, {
          ...planning,
          master: Option.map(planning.master, (m) => ({
            ...m,
            attendees: [
              { address: "mailto:bo@example.com", name: Option.some("Bo"), scheduleAgent: Option.none() }
            ]
          }))
        })
        yield* relate(twin.id, mirror.id, { direction: "two-way", markPrivate: false })
        yield* syncAndWait(twin.id)
        const mirrored = yield* Fixtures.waitFor(
          "Planning on Google",
          Effect.sync(() => live(fake, MIRROR)),
          (es) => es.length === 1
        )
        expect(mirrored[0]).toMatchObject({ summary: "Planning", location: "room of Planning" })
        expect(mirrored[0]).not.toHaveProperty("attendees")
        const offsite = fake.insertAsPerson(MIRROR, {
          summary: "Offsite",
          start: { dateTime: "2026-12-15T09:00:00+01:00", timeZone: BERLIN },
          end: { dateTime: "2026-12-15T17:00:00+01:00", timeZone: BERLIN }
        })
        yield* syncAndWait(mirror.id)
        yield* Fixtures.waitFor("Offsite on Radicale", Fixtures.contents(twin), (items) => items.length === 2)
        const offsiteCopy = (yield* Fixtures.contents(twin)).find((i) =>
          Option.contains(i.summary, "Offsite")
        )
        expect(Option.map(offsiteCopy?.resource.master ?? Option.none(), (m) => m.start)).toEqual(
          Option.some(EventModel.zoned(BERLIN, 2026, 12, 15, 9, 0, 0))
        )
        fake.edit(MIRROR, String(offsite.id), { summary: "Offsite (Berlin)" })
        fake.edit(MIRROR, String(mirrored[0]?.id), { summary: "Planning (edited on the copy)" })
        yield* syncAndWait(mirror.id)
        const both = yield* Fixtures.waitFor(
          "the edited Offsite on Radicale",
          Fixtures.contents(twin),
          (items) => items.some((i) => Option.contains(i.summary, "Offsite (Berlin)"))
        )
        expect(summaries(both)).toEqual(["Offsite (Berlin)", "Planning"])
        expect(
          live(fake, MIRROR)
            .map((e) => e.summary)
            .sort()
        ).toEqual(["Offsite (Berlin)", "Planning"])
        yield* syncAndWait(twin.id)
        yield* syncAndWait(mirror.id)
        fake.resetLog()
        const etags = (yield* Fixtures.contents(twin)).map((i) => i.etag).sort()
        const googleEtags = live(fake, MIRROR)
          .map((e) => String(e.etag))
          .sort()
        yield* idlePoll(twin.id, true)
        yield* idlePoll(mirror.id)
        yield* idlePoll(twin.id)
        expect(fake.apiRequestCount(writes), JSON.stringify(fake.requests)).toBe(0)
        expect((yield* Fixtures.contents(twin)).map((i) => i.etag).sort()).toEqual(etags)
        expect(
          live(fake, MIRROR)
            .map((e) => String(e.etag))
            .sort()
        ).toEqual(googleEtags)
        // A delete of the original on Google removes its copy on Radicale, and only it.
        yield* deleteAsPerson(MIRROR, String(offsite.id))
        yield* syncAndWait(mirror.id)
        expect(summaries(yield* Fixtures.contents(twin))).toEqual(["Planning"])
        expect(live(fake, MIRROR).map((e) => e.summary)).toEqual(["Planning"])

        // ---- Google stops taking the access token mid-way: the next write refreshes it and goes on.
        fake.expireAccessTokens()
        yield* Fixtures.put(twin, Fixtures.event(randomUUID(), "Lunch", 6))
        const refreshed = yield* syncAndWait(twin.id)
        expect(refreshed.lastError).toBeNull()
        expect(
          live(fake, MIRROR)
            .map((e) => e.summary)
            .sort()
        ).toEqual(["Lunch", "Planning"])
        expect(yield* googleStatus).toBe("ok")

        // ---- The person revoked Almanac's access at Google: parked, and said, until connected again.
        fake.revokeRefreshTokens()
        fake.expireAccessTokens()
        yield* Fixtures.put(twin, Fixtures.event(randomUUID(), "Dinner", 7))
        const refused = yield* syncAndWait(twin.id)
        expect(refused.lastError).toContain("Google refused the refresh token")
        yield* Fixtures.waitFor("the Google account parked", googleStatus, (st) => st === "needs-reauth", 20)
        expect((yield* accountList).filter((a) => a.kind === "caldav").map((a) => a.status)).toEqual([
          "ok",
          "ok",
          "ok"
        ])
        const parkedPoll = yield* syncAndWait(mirror.id)
        expect(parkedPoll.lastError).toContain("connect the account again")
        fake.resetLog()
        yield* syncAndWait(mirror.id)
        expect(fake.requests).toEqual([])
        yield* connectGoogle
        expect(yield* googleStatus).toBe("ok")
        yield* Fixtures.waitFor(
          "the waiting copy on Google",
          Effect.sync(() => live(fake, MIRROR).map((e) => e.summary)),
          (g) => g.includes("Dinner")
        )
        expect((yield* status(twin.id)).lastError).toBeNull()
        expect(
          live(fake, MIRROR)
            .map((e) => e.summary)
            .sort()
        ).toEqual(["Dinner", "Lunch", "Planning"])

        // Never an invitation, and every write said so to Google.
        expect(fake.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    300_000
  )
  it.scopedLive(
    "in a browser: a Google → CalDAV sync created on the Syncs page runs, and its copy arrives with its details",
    () =>
      Effect.gen(function* () {
        const { fake, url, token, call, asServer, connectGoogle } = yield* boot
        yield* connectGoogle
        const [inbox] = yield* Fixtures.account(asServer, token, "radicale", 1)
        if (inbox === undefined) return expect.fail("no Radicale calendar")
        const accounts = (yield* call("GET", "/api/accounts")).body as ReadonlyArray<{
          id: string
          kind: string
        }>
        const google = accounts.find((a) => a.kind === "google")
        if (google === undefined) return expect.fail("no Google account")
        const team = (
          (yield* call("GET", `/api/accounts/${google.id}/calendars`)).body as ReadonlyArray<{
            id: string
            url: string
          }>
        ).find((c) => c.url === TEAM)
        if (team === undefined) return expect.fail("no Team calendar")
        fake.insertAsPerson(TEAM, {
          summary: "Sprint review",
          location: "Room 2",
          start: { dateTime: "2026-12-17T15:00:00+01:00", timeZone: BERLIN },
          end: { dateTime: "2026-12-17T16:00:00+01:00", timeZone: BERLIN }
        })
        const browser = yield* Chromium.launch
        yield* Effect.promise(async () => {
          const page = await Chromium.newPage(browser)
          await page.goto(`${url}/`)
          await page.getByLabel("API token").fill(token)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.waitForURL(`${url}/`)
          await page.getByRole("link", { name: "Syncs" }).click()
          await expect(page.getByText("No syncs yet").isVisible()).resolves.toBe(true)
          // Google's calendars are offered by their names on Google, under the account.
          await page.getByLabel("Copy events from").selectOption({ label: "Team" })
          await page.getByLabel("Into").selectOption({ label: "calendar 0" })
          await page.getByLabel("One way").check()
          await page.getByLabel("Mark as private").uncheck()
          await page.getByRole("button", { name: "Create the sync" }).click()
          await page.waitForURL(/\/syncs\?notice=sync-created$/)
          const listed = page.getByRole("row").filter({ hasText: "Team (" })
          await expect(listed.textContent()).resolves.toContain("calendar 0")
          await expect(listed.textContent()).resolves.toContain("Full details")
          await expect(listed.textContent()).resolves.toContain("active")
          await Chromium.screenshot(page, "google-sync-created")
        })
        // The sync polls once when it is created: the Google event arrives on Radicale as it is.
        const [copy, ...others] = yield* Fixtures.waitFor(
          "the copy on Radicale",
          Fixtures.contents(inbox),
          (items) => items.length > 0
        )
        expect(others).toEqual([])
        expect(Option.getOrNull(copy?.summary ?? Option.none())).toBe("Sprint review")
        expect(Option.getOrNull(copy?.location ?? Option.none())).toBe("Room 2")
        expect(Option.map(copy?.resource.master ?? Option.none(), (m) => m.start)).toEqual(
          Option.some(EventModel.zoned(BERLIN, 2026, 12, 17, 15, 0, 0))
        )
        // The Syncs page counts it, and the status page says the Google calendar's poll went well.
        yield* Effect.promise(async () => {
          const page = await Chromium.newPage(browser)
          await page.goto(`${url}/`)
          await page.getByLabel("API token").fill(token)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.waitForURL(`${url}/`)
          await page.goto(`${url}/syncs`)
          await expect(page.getByRole("row").filter({ hasText: "Team (" }).textContent()).resolves.toContain(
            "1 copy"
          )
        })
        expect(fake.apiRequestCount(writes)).toBe(0)
        expect(fake.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )
})
