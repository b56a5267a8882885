/**
 * Google calendars syncing through the server's engine, driven through the HTTP API: a Google
 * account connected through POST /api/accounts/google against the providers' Google fake (a FAKE
 * of Google's OAuth endpoints and Calendar API v3, see its header — no real Google here), and
 * calendars on the real Radicale of the test servers. Private one-way copies onto Google, a
 * person's Google event copied onto Radicale, a two-way mirror without echoes, an access token
 * refused mid-way (refreshed, not parked), a revoked grant (parked, and said), and never an
 * invitation.
 */
import { randomUUID } from "node:crypto"
import { CalendarProvider, EventModel } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GoogleFake from "../../providers/test/fakes/GoogleFake.js"
import { Accounts } from "../src/store/Accounts.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

const TEAM = "team@group.calendar.google.com"
const HOLIDAYS = "holidays@group.v.calendar.google.com"

const calendars: ReadonlyArray<GoogleFake.FakeCalendar> = [
  {
    id: "ann@example.org",
    summary: "ann@example.org",
    timeZone: "Europe/Berlin",
    accessRole: "owner",
    primary: true
  },
  { id: TEAM, summary: "Team", timeZone: "Europe/Berlin", accessRole: "writer" },
  { id: HOLIDAYS, summary: "Holidays", timeZone: "UTC", accessRole: "reader" }
]

const Status = Schema.Struct({
  polls: Schema.Number,
  lastPollAt: Schema.NullOr(Schema.String),
  lastError: Schema.NullOr(Schema.String),
  copiesMade: Schema.Number,
  copiesHeld: Schema.Number,
  polling: Schema.NullOr(Schema.Unknown)
})
const Account = Schema.Struct({ id: Schema.String, kind: Schema.String, status: Schema.String })
const Calendar = Schema.Struct({ id: Schema.String, url: Schema.String, writable: Schema.Boolean })

/**
 * The fake, a server configured for it (polls only when asked: the interval is an hour), Ann with
 * her Google account connected through the redirect, its Team calendar, and a Radicale calendar.
 */
const setup = Effect.gen(function* () {
  const fake = yield* Effect.acquireRelease(
    Effect.promise(() => GoogleFake.start({ calendars })),
    (f) => Effect.promise(() => f.close())
  )
  const port = yield* Effect.promise(freePort)
  const logs: Array<string> = []
  const server = yield* TestServer.start(
    {
      ALMANAC_PORT: String(port),
      ALMANAC_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ALMANAC_POLL_INTERVAL: "1h",
      ALMANAC_GOOGLE_AUTH_URL: fake.authUrl,
      ALMANAC_GOOGLE_TOKEN_URL: fake.tokenUrl,
      ALMANAC_GOOGLE_REVOKE_URL: fake.revokeUrl,
      ALMANAC_GOOGLE_API_URL: fake.apiUrl,
      ALMANAC_GOOGLE_CLIENT_ID: fake.clientId,
      ALMANAC_GOOGLE_CLIENT_SECRET: fake.clientSecret
    },
    { logs }
  )
  const ann = yield* Effect.promise(() => server.createUser("Ann"))
  const call = (method: string, path: string, body?: unknown) =>
    Effect.promise(() =>
      server.request(method, path, body === undefined ? { token: ann.token } : { token: ann.token, body })
    )
  const decode =
    <A, I>(schema: Schema.Schema<A, I>) =>
    (res: { readonly status: number; readonly body: unknown }) =>
      Schema.decodeUnknown(schema)(res.body).pipe(
        Effect.orElse(() => Effect.dieMessage(`unexpected answer ${res.status}: ${JSON.stringify(res.body)}`))
      )

  /** Connects Google (again): the authorization URL, the fake's consent (it allows at once), the callback. */
  const connectGoogle = Effect.gen(function* () {
    const { authorizeUrl } = yield* call("POST", "/api/accounts/google").pipe(
      Effect.flatMap(decode(Schema.Struct({ authorizeUrl: Schema.String })))
    )
    const callback = yield* Effect.promise(() => fetch(authorizeUrl, { redirect: "manual" })).pipe(
      Effect.map((res) => res.headers.get("location") ?? "")
    )
    const done = yield* Effect.promise(() => fetch(callback, { redirect: "manual" }))
    expect(done.status).toBe(303)
  })
  yield* connectGoogle
  const accounts = yield* call("GET", "/api/accounts").pipe(Effect.flatMap(decode(Schema.Array(Account))))
  const google = accounts.find((a) => a.kind === "google")
  if (google === undefined) return yield* Effect.dieMessage("Google not connected")
  const googleCalendars = yield* call("GET", `/api/accounts/${google.id}/calendars`).pipe(
    Effect.flatMap(decode(Schema.Array(Calendar)))
  )
  const team = googleCalendars.find((c) => c.url === TEAM)
  const holidays = googleCalendars.find((c) => c.url === HOLIDAYS)
  if (holidays === undefined || holidays.writable)
    return yield* Effect.dieMessage("no read-only Holidays calendar")
  if (team === undefined || !team.writable) return yield* Effect.dieMessage("no writable Team calendar")
  const [radicale] = yield* Fixtures.account(server, ann.token, "radicale", 1)
  if (radicale === undefined) return yield* Effect.dieMessage("no Radicale calendar")

  const status = (calendarId: string) =>
    call("GET", `/api/calendars/${calendarId}/status`).pipe(Effect.flatMap(decode(Status)))
  /** Asks for a poll and waits until a poll that started after the request is recorded and over. */
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
  const relate = (source: string, target: string, body: Record<string, unknown>) =>
    call("POST", "/api/relationships", { sourceCalendarId: source, targetCalendarId: target, ...body }).pipe(
      Effect.flatMap(decode(Schema.Struct({ id: Schema.String })))
    )
  const accountStatus = (kind: string) =>
    call("GET", "/api/accounts").pipe(
      Effect.flatMap(decode(Schema.Array(Account))),
      Effect.map((all) => all.find((a) => a.kind === kind)?.status)
    )
  const googleStatus = accountStatus("google")
  /** The access token stored (sealed) for the Google account, opened. */
  const storedAccessToken = TestServer.within(
    server,
    Effect.flatMap(Accounts, (a) => a.credential(google.id))
  ).pipe(
    Effect.orDie,
    Effect.map((c) =>
      Option.isSome(c) && c.value._tag === "oauth" ? Redacted.value(c.value.accessToken) : ""
    )
  )
  /** Team's live events on the fake, as Google stores them. */
  const live = () => fake.events(TEAM).filter((e) => e.status !== "cancelled")
  return {
    fake,
    server,
    googleAccountId: google.id,
    ann,
    call,
    status,
    syncAndWait,
    relate,
    accountStatus,
    googleStatus,
    storedAccessToken,
    logs,
    connectGoogle,
    team,
    holidays,
    radicale,
    live
  }
})

const writes = (r: GoogleFake.LoggedRequest) => r.method !== "GET"

describe("Google calendars syncing through the server", () => {
  it.scopedLive(
    "CalDAV → Google, private: a Busy copy with nothing else; a second poll writes nothing; an idle Google poll is one request",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        const uid = randomUUID()
        yield* Fixtures.put(s.radicale, Fixtures.event(uid, "Dentist"))
        const relationship = yield* s.relate(s.radicale.id, s.team.id, { markPrivate: true })
        yield* s.syncAndWait(s.radicale.id)
        const synced = yield* Fixtures.waitFor(
          "the copy on Google",
          s.status(s.radicale.id),
          (st) => st.copiesMade === 1,
          30
        )
        expect(synced.lastError).toBeNull()

        const [copy, ...others] = s.live()
        expect(others).toEqual([])
        expect(copy).toMatchObject({
          summary: "Busy",
          visibility: "private",
          extendedProperties: {
            private: { almanacRelationship: relationship.id, almanacSourceUid: uid }
          }
        })
        for (const field of ["description", "location", "attendees"]) expect(copy).not.toHaveProperty(field)
        // Google names the calendar itself as the organizer of an event made there; no one else.
        expect(copy?.organizer).toEqual({ email: TEAM, self: true })
        // Ann's own Google calendar got nothing.
        expect(s.fake.events("ann@example.org")).toEqual([])

        // Nothing changed: the source's poll writes nothing on Google.
        s.fake.resetLog()
        yield* s.syncAndWait(s.radicale.id)
        expect(s.fake.apiRequestCount(writes)).toBe(0)
        // The Google side's own poll (after its first, full listing): one incremental list.
        yield* s.syncAndWait(s.team.id)
        s.fake.resetLog()
        const idle = yield* s.syncAndWait(s.team.id)
        expect(idle.lastError).toBeNull()
        expect(s.fake.apiRequestCount()).toBe(1)
        expect(s.fake.requests.map((r) => [r.method, r.path])).toEqual([
          ["GET", `/calendar/v3/calendars/${encodeURIComponent(TEAM)}/events`]
        ])
        // The poll's log line counts it (written just after the status, so waited for).
        const pollLines = Effect.sync(() =>
          s.logs.filter((l) => l.includes("message=poll") && l.includes(`calendar=${s.team.id}`))
        )
        const counted = yield* Fixtures.waitFor(
          "the idle poll's log line",
          pollLines,
          (ls) => ls.length >= 3,
          10
        )
        expect(counted.at(-1)).toMatch(/ requests=1 /)
        expect(s.live()).toHaveLength(1)

        // A floating time (no zone on Radicale) is placed in Team's own zone, as stored when connected.
        const day = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10).replaceAll("-", "")
        const floating = randomUUID()
        yield* Fixtures.putRaw(
          s.radicale,
          [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Almanac tests//EN",
            "BEGIN:VEVENT",
            `UID:${floating}`,
            "DTSTAMP:20260101T000000Z",
            `DTSTART:${day}T090000`,
            `DTEND:${day}T100000`,
            "SUMMARY:Yoga",
            "END:VEVENT",
            "END:VCALENDAR",
            ""
          ].join("\r\n")
        )
        yield* s.syncAndWait(s.radicale.id)
        const placed = s.live().find((e) => JSON.stringify(e.extendedProperties).includes(floating))
        // Google answers with the zone's offset on that day (+01:00 or +02:00 in Berlin).
        expect(placed?.start).toEqual({
          dateTime: expect.stringMatching(
            new RegExp(`^${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}T09:00:00\\+0[12]:00$`)
          ),
          timeZone: "Europe/Berlin"
        })
        expect(s.fake.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "every calendar of one Google account shares one adaptive write limit, keyed by the account",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        const writeHosts = yield* TestServer.within(
          s.server,
          Effect.flatMap(CalendarProvider.ProviderRegistry, (registry) =>
            Effect.forEach([TEAM, HOLIDAYS], (ref) =>
              registry
                .open({ ref, accountId: s.googleAccountId, kind: "google" })
                .pipe(Effect.map((p) => p.writeHost))
            )
          )
        ).pipe(Effect.orDie)
        expect(writeHosts).toEqual([
          `google account ${s.googleAccountId}`,
          `google account ${s.googleAccountId}`
        ])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "a calendar the account may only read is refused as a target and in a two-way sync, not as a source",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        const into = yield* s.call("POST", "/api/relationships", {
          sourceCalendarId: s.radicale.id,
          targetCalendarId: s.holidays.id
        })
        expect(into.status).toBe(400)
        expect(JSON.stringify(into.body)).toContain('\\"Holidays\\" is read-only for its account')
        const both = yield* s.call("POST", "/api/relationships", {
          sourceCalendarId: s.holidays.id,
          targetCalendarId: s.radicale.id,
          direction: "two-way"
        })
        expect(both.status).toBe(400)
        expect(JSON.stringify(both.body)).toContain("sync one way from it")
        const from = yield* s.call("POST", "/api/relationships", {
          sourceCalendarId: s.holidays.id,
          targetCalendarId: s.radicale.id
        })
        expect(from.status).toBe(201)
        expect(s.fake.apiRequestCount(writes)).toBe(0)
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "Google → CalDAV: an event a person made on Google arrives on Radicale",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)
        s.fake.insertAsPerson(TEAM, {
          summary: "Planning",
          location: "Room 4",
          start: { dateTime: `${day}T10:00:00+01:00`, timeZone: "Europe/Berlin" },
          end: { dateTime: `${day}T11:00:00+01:00`, timeZone: "Europe/Berlin" }
        })
        yield* s.relate(s.team.id, s.radicale.id, { markPrivate: false })
        yield* s.syncAndWait(s.team.id)
        const [copy, ...others] = yield* Fixtures.waitFor(
          "the copy on Radicale",
          Fixtures.contents(s.radicale),
          (items) => items.length > 0,
          30
        )
        expect(others).toEqual([])
        expect(Option.getOrNull(copy?.summary ?? Option.none())).toBe("Planning")
        expect(Option.getOrNull(copy?.location ?? Option.none())).toBe("Room 4")
        // At the time it has on Google, in the zone it was made in.
        const [year, month, date] = day.split("-").map(Number)
        expect(Option.getOrNull(Option.map(copy?.resource.master ?? Option.none(), (m) => m.start))).toEqual({
          _tag: "ZonedDateTime",
          tzid: "Europe/Berlin",
          year,
          month,
          day: date,
          hour: 10,
          minute: 0,
          second: 0
        })
        expect((yield* s.status(s.team.id)).copiesMade).toBe(1)
        expect(s.fake.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "two-way without echoes; an expired access token is refreshed mid-way; a revoked grant parks the account and says so",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        yield* Fixtures.put(s.radicale, Fixtures.event(randomUUID(), "Dentist"))
        s.fake.insertAsPerson(TEAM, {
          summary: "Planning",
          start: { date: new Date(Date.now() + 4 * 86_400_000).toISOString().slice(0, 10) },
          end: { date: new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10) }
        })
        yield* s.relate(s.radicale.id, s.team.id, { direction: "two-way", markPrivate: false })
        const summaries = Effect.all([
          Fixtures.contents(s.radicale).pipe(
            Effect.map((items) => items.map((i) => Option.getOrNull(i.summary)).sort())
          ),
          Effect.sync(() =>
            s
              .live()
              .map((e) => e.summary)
              .sort()
          )
        ])
        yield* s.syncAndWait(s.radicale.id)
        yield* s.syncAndWait(s.team.id)
        yield* Fixtures.waitFor(
          "both sides mirrored",
          summaries,
          ([r, g]) => r.length === 2 && g.length === 2,
          30
        )
        // More polls of both sides change nothing: copies are never copied back.
        yield* s.syncAndWait(s.radicale.id)
        yield* s.syncAndWait(s.team.id)
        yield* s.syncAndWait(s.radicale.id)
        expect(yield* summaries).toEqual([
          ["Dentist", "Planning"],
          ["Dentist", "Planning"]
        ])

        // Google stops taking the access token: the next write refreshes it and goes on.
        const before = yield* s.storedAccessToken
        s.fake.expireAccessTokens()
        yield* Fixtures.put(s.radicale, Fixtures.event(randomUUID(), "Lunch"))
        const after = yield* s.syncAndWait(s.radicale.id)
        expect(after.lastError).toBeNull()
        const refreshed = yield* s.storedAccessToken
        expect(refreshed).toMatch(/^ya29\./)
        expect(refreshed).not.toBe(before)
        expect(
          s
            .live()
            .map((e) => e.summary)
            .sort()
        ).toEqual(["Dentist", "Lunch", "Planning"])
        expect(yield* s.googleStatus).toBe("ok")

        // The person revoked Almanac's access at Google: a write there fails, and parks the Google
        // account, not Radicale's.
        s.fake.revokeRefreshTokens()
        s.fake.expireAccessTokens()
        yield* Fixtures.put(s.radicale, Fixtures.event(randomUUID(), "Dinner"))
        const writing = yield* s.syncAndWait(s.radicale.id)
        expect(writing.lastError).toContain("Google refused the refresh token")
        // (parked just after the poll's failure is recorded)
        yield* Fixtures.waitFor(
          "the Google account parked",
          s.googleStatus,
          (st) => st === "needs-reauth",
          10
        )
        expect(yield* s.accountStatus("caldav")).toBe("ok")
        // Team's own poll says the same, in words for a person.
        const refused = yield* s.syncAndWait(s.team.id)
        expect(refused.lastError).toContain("Google refused")
        expect(refused.lastError).toContain("connect the account again")
        const parkedAccount = yield* s.call("GET", "/api/accounts")
        expect(JSON.stringify(parkedAccount.body)).toContain("Google refused Almanac's access")
        // Parked: later polls do not ask Google again.
        s.fake.resetLog()
        const parked = yield* s.syncAndWait(s.team.id)
        expect(parked.lastError).not.toBeNull()
        expect(s.fake.requests).toEqual([])
        // The account's words stay as they were, not wrapped again by every parked poll.
        const still = JSON.stringify((yield* s.call("GET", "/api/accounts")).body)
        expect(still.split("Google refused Almanac's access")).toHaveLength(2)

        // Connected again: both sides poll again by themselves (Radicale's poll had parked on its
        // write to Google), and what waited is copied.
        yield* s.connectGoogle
        expect(yield* s.googleStatus).toBe("ok")
        yield* Fixtures.waitFor(
          "the waiting copy on Google",
          Effect.sync(() =>
            s
              .live()
              .map((e) => e.summary)
              .sort()
          ),
          (g) => g.includes("Dinner"),
          30
        )
        expect((yield* s.status(s.radicale.id)).lastError).toBeNull()
        expect(s.fake.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    180_000
  )

  it.scopedLive(
    "free/busy across a Google and a CalDAV calendar: Google's own answer merged with ours; a calendar Google will not answer for fails the answer",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        const day = new Date(Date.now() + 3 * 86_400_000)
        const at = (h: number, m = 0) =>
          new Date(Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), h, m))
        // Radicale: 09:00–10:00 UTC (the fixture's hour, two days on: moved to day three here).
        yield* Fixtures.put(
          s.radicale,
          EventModel.makeResource(
            EventModel.makeEvent({
              uid: randomUUID(),
              start: EventModel.utc(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 9),
              end: EventModel.utc(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 10),
              summary: Option.some("Standup")
            })
          )
        )
        // Google: 09:30–11:00 (overlaps, so merged) and 14:00–15:00; a transparent one at 16:00 is free.
        const put = (summary: string, from: Date, to: Date, transparency?: string) =>
          s.fake.insertAsPerson(s.team.url, {
            summary,
            start: { dateTime: from.toISOString() },
            end: { dateTime: to.toISOString() },
            ...(transparency === undefined ? {} : { transparency })
          })
        put("Review", at(9, 30), at(11))
        put("Lunch talk", at(14), at(15))
        put("Reminder", at(16), at(17), "transparent")

        const asked = {
          start: at(0).toISOString(),
          end: at(23).toISOString(),
          calendarIds: [s.radicale.id, s.team.id]
        }
        const answer = yield* s.call("POST", "/api/freebusy", asked)
        expect(answer.status).toBe(200)
        expect((answer.body as { busy: unknown }).busy).toEqual([
          { start: at(9).toISOString(), end: at(11).toISOString() },
          { start: at(14).toISOString(), end: at(15).toISOString() }
        ])
        expect(s.fake.apiRequestCount((r) => r.path.endsWith("/freeBusy"))).toBe(1)

        // Google says it cannot answer for the calendar (as for one no longer shared): no "free" then.
        s.fake.removeCalendar(s.team.url)
        const failed = yield* s.call("POST", "/api/freebusy", asked)
        expect(failed.status).toBe(502)
        expect(JSON.stringify(failed.body)).toContain("Google gave no free/busy for it (notFound)")
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "bookings on a Google calendar: one event per key (a retry adopts it), rescheduled and cancelled with If-Match, attendees never written, no invitation",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        const book = (key: string, body: unknown) =>
          Effect.promise(() =>
            s.server.request("POST", "/api/bookings", {
              token: s.ann.token,
              body,
              headers: { "idempotency-key": key }
            })
          )
        const request = {
          calendarId: s.team.id,
          start: "2026-12-10T10:00:00+01:00",
          end: "2026-12-10T10:30:00+01:00",
          summary: "Intro call",
          location: "Video",
          attendees: ["guest@example.com"],
          timeZone: "Europe/Berlin"
        }
        const first = yield* book("g-1", request)
        expect(first.status, JSON.stringify(first.body)).toBe(201)
        const created = first.body as { id: string; href: string; status: string }
        expect(created.status).toBe("booked")
        const [event, ...others] = s.live()
        expect(others).toEqual([])
        expect(event).toMatchObject({
          id: created.href,
          summary: "Intro call",
          location: "Video",
          start: { dateTime: "2026-12-10T10:00:00+01:00", timeZone: "Europe/Berlin" }
        })
        expect(event).not.toHaveProperty("attendees")
        // The same key again: the same booking, no second event.
        const again = yield* book("g-1", request)
        expect(again.status).toBe(200)
        expect((again.body as { id: string }).id).toBe(created.id)
        expect(s.live()).toHaveLength(1)

        // A person renames it on Google; the reschedule is conditional, reads again, keeps the name.
        s.fake.edit(s.team.url, created.href, { summary: "Intro call (Ann)" })
        s.fake.resetLog()
        const moved = yield* s.call("PATCH", `/api/bookings/${created.id}`, {
          start: "2026-12-10T11:00:00+01:00",
          end: "2026-12-10T11:30:00+01:00"
        })
        expect(moved.status, JSON.stringify(moved.body)).toBe(200)
        expect(s.live()[0]).toMatchObject({
          summary: "Intro call (Ann)",
          start: { dateTime: "2026-12-10T11:00:00+01:00" }
        })
        // Written on the version it booked, refused (412: edited since), read again, written once more.
        const puts = s.fake.requests.filter((r) => r.method === "PUT")
        expect(puts).toHaveLength(2)
        expect(new Set(puts.map((r) => r.ifMatch)).size).toBe(2)

        const cancelled = yield* s.call("DELETE", `/api/bookings/${created.id}`)
        expect(cancelled.status).toBe(200)
        expect(s.live()).toEqual([])
        expect(s.fake.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )
})
