/**
 * Free/busy through the real API against real Xandikos and Radicale: what counts as busy (timed,
 * all-day in the caller's zone, recurrences minus EXDATE), what does not (transparent), what is
 * skipped and reported (an event we cannot read), and how failures of a calendar server answer.
 */
import { randomUUID } from "node:crypto"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import { Accounts } from "../src/store/Accounts.js"
import * as Calendars from "./support/Calendars.js"
import * as PasswordRadicale from "./support/PasswordRadicale.js"
import * as TestServer from "./support/TestServer.js"

interface Answer {
  readonly start: string
  readonly end: string
  readonly zone: string
  readonly busy: ReadonlyArray<{ readonly start: string; readonly end: string }>
  readonly calendars: ReadonlyArray<{
    readonly id: string
    readonly accountId: string
    readonly displayName: string
  }>
  readonly skipped: {
    readonly count: number
    readonly items: ReadonlyArray<{
      readonly calendarId: string
      readonly href: string
      readonly reason: string
    }>
  }
}

const call = (
  server: TestServer.TestServer,
  method: string,
  path: string,
  options: { readonly token?: string; readonly body?: unknown } = {}
) => Effect.promise(() => server.request(method, path, options))

const answerOf = (res: { readonly status: number; readonly body: unknown }): Answer => {
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body as Answer
}

const interval = (start: string, end: string) => ({ start, end })

/** Both calendars of one account: the events every free/busy question here is asked about. */
const seed = (direct: Calendars.Connected["direct"], work: string, home: string) =>
  Effect.gen(function* () {
    const { calendar, vevent, put } = Calendars
    // 09:00–10:00 in Berlin (UTC+1 in November): 08:00–09:00Z.
    yield* put(
      direct,
      work,
      "timed",
      calendar(
        vevent("timed", [
          "DTSTART;TZID=Europe/Berlin:20261124T090000",
          "DTEND;TZID=Europe/Berlin:20261124T100000",
          "SUMMARY:Dentist"
        ])
      )
    )
    // A whole day: where it falls depends on the zone asked for.
    yield* put(
      direct,
      home,
      "allday",
      calendar(vevent("allday", ["DTSTART;VALUE=DATE:20261125", "DTEND;VALUE=DATE:20261126", "SUMMARY:Away"]))
    )
    // Weekly on Mondays at 14:00Z, four times, the second one taken out.
    yield* put(
      direct,
      home,
      "weekly",
      calendar(
        vevent("weekly", [
          "DTSTART:20261123T140000Z",
          "DTEND:20261123T150000Z",
          "RRULE:FREQ=WEEKLY;COUNT=4",
          "EXDATE:20261130T140000Z",
          "SUMMARY:Standup"
        ])
      )
    )
    // Shown in the calendar, but free time.
    yield* put(
      direct,
      work,
      "transparent",
      calendar(
        vevent("transparent", [
          "DTSTART:20261126T120000Z",
          "DTEND:20261126T130000Z",
          "TRANSP:TRANSPARENT",
          "SUMMARY:Reminder only"
        ])
      )
    )
    // Accepted by both servers, unreadable for us: a zone that exists nowhere, with no VTIMEZONE.
    return yield* put(
      direct,
      work,
      "malformed",
      calendar(
        vevent("malformed", [
          "DTSTART;TZID=Mars/Olympus:20261127T100000",
          "DTEND;TZID=Mars/Olympus:20261127T110000",
          "SUMMARY:Elsewhere"
        ])
      )
    )
  })

describe.each(["xandikos", "radicale"] as const)("free/busy on %s", (name) => {
  it.live(
    "busy: timed, all-day in the zone asked for, weekly minus its EXDATE; not transparent; an unreadable event skipped and reported",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const account = yield* Calendars.connect(server, ann.id, caldavServer(name), ["Work", "Home"])
        const [work, home] = account.calendars
        if (work === undefined || home === undefined) return expect.fail("two calendars")
        const malformed = yield* seed(account.direct, work.url, home.url)

        const range = "start=2026-11-23T00:00:00Z&end=2026-12-21T00:00:00Z"
        const inNewYork = answerOf(
          yield* call(
            server,
            "GET",
            `/api/accounts/${account.accountId}/freebusy?${range}&zone=America/New_York`,
            {
              token: ann.token
            }
          )
        )
        expect(inNewYork.busy).toEqual([
          interval("2026-11-23T14:00:00.000Z", "2026-11-23T15:00:00.000Z"),
          interval("2026-11-24T08:00:00.000Z", "2026-11-24T09:00:00.000Z"),
          // 25 November in New York (UTC−5).
          interval("2026-11-25T05:00:00.000Z", "2026-11-26T05:00:00.000Z"),
          interval("2026-12-07T14:00:00.000Z", "2026-12-07T15:00:00.000Z"),
          interval("2026-12-14T14:00:00.000Z", "2026-12-14T15:00:00.000Z")
        ])
        expect(inNewYork).toMatchObject({
          start: "2026-11-23T00:00:00.000Z",
          end: "2026-12-21T00:00:00.000Z",
          zone: "America/New_York"
        })
        expect(inNewYork.calendars.map((c) => c.id).sort()).toEqual([work.id, home.id].sort())
        expect(inNewYork.skipped.count).toBe(1)
        expect(inNewYork.skipped.items[0]).toMatchObject({ calendarId: work.id })
        expect(inNewYork.skipped.items[0]?.href).toMatch(/malformed\.ics$/)
        expect(malformed).toMatch(/malformed\.ics$/)
        expect(inNewYork.skipped.items[0]?.reason).toContain("Mars/Olympus")

        // The same question by POST, with UTC (the default zone): the all-day event moves.
        const inUtc = answerOf(
          yield* call(server, "POST", `/api/accounts/${account.accountId}/freebusy`, {
            token: ann.token,
            body: { start: "2026-11-23T00:00:00Z", end: "2026-12-21T00:00:00Z" }
          })
        )
        expect(inUtc.zone).toBe("UTC")
        expect(inUtc.busy).toContainEqual(interval("2026-11-25T00:00:00.000Z", "2026-11-26T00:00:00.000Z"))
        expect(inUtc.busy).toHaveLength(5)

        // 25 November begins at 11:00Z the day before in Auckland (UTC+13): outside the range as
        // the servers read an all-day event (in UTC), inside it for someone in Auckland.
        const inAuckland = answerOf(
          yield* call(server, "POST", `/api/accounts/${account.accountId}/freebusy`, {
            token: ann.token,
            body: { start: "2026-11-24T10:00:00Z", end: "2026-11-24T13:00:00Z", zone: "Pacific/Auckland" }
          })
        )
        expect(inAuckland.busy).toEqual([interval("2026-11-24T11:00:00.000Z", "2026-11-24T13:00:00.000Z")])

        // One calendar only, as repeated query parameters or in the body.
        const workOnly = answerOf(
          yield* call(
            server,
            "GET",
            `/api/accounts/${account.accountId}/freebusy?${range}&calendarIds=${work.id}`,
            {
              token: ann.token
            }
          )
        )
        expect(workOnly.busy).toEqual([interval("2026-11-24T08:00:00.000Z", "2026-11-24T09:00:00.000Z")])
        expect(workOnly.calendars.map((c) => c.id)).toEqual([work.id])

        // A window that cuts an event keeps only the part inside it; offsets are understood.
        const cut = answerOf(
          yield* call(server, "POST", `/api/accounts/${account.accountId}/freebusy`, {
            token: ann.token,
            body: {
              start: "2026-11-24T09:30:00+01:00",
              end: "2026-11-24T12:00:00+01:00",
              calendarIds: [work.id, home.id]
            }
          })
        )
        expect(cut.busy).toEqual([interval("2026-11-24T08:30:00.000Z", "2026-11-24T09:00:00.000Z")])
      }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )
})

describe("free/busy across accounts and users", () => {
  it.live("POST /api/freebusy spans every account of the user, and only the user's", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const bob = yield* Effect.promise(() => server.createUser("Bob"))
      const onX = yield* Calendars.connect(server, ann.id, caldavServer("xandikos"), ["Ann X"])
      const onR = yield* Calendars.connect(server, ann.id, caldavServer("radicale"), ["Ann R"])
      const bobs = yield* Calendars.connect(server, bob.id, caldavServer("radicale"), ["Bob R"])
      const event = (uid: string, start: string, end: string) =>
        Calendars.calendar(Calendars.vevent(uid, [`DTSTART:${start}`, `DTEND:${end}`, "SUMMARY:x"]))
      const [x, r, b] = [onX.calendars[0], onR.calendars[0], bobs.calendars[0]]
      if (x === undefined || r === undefined || b === undefined) return expect.fail("calendars")
      yield* Calendars.put(onX.direct, x.url, "a", event("a", "20261201T090000Z", "20261201T100000Z"))
      yield* Calendars.put(onR.direct, r.url, "b", event("b", "20261201T093000Z", "20261201T110000Z"))
      yield* Calendars.put(bobs.direct, b.url, "c", event("c", "20261201T150000Z", "20261201T160000Z"))
      const window = { start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z" }

      const all = answerOf(yield* call(server, "POST", "/api/freebusy", { token: ann.token, body: window }))
      // Overlapping time from two servers is one interval; Bob's afternoon is not Ann's business.
      expect(all.busy).toEqual([interval("2026-12-01T09:00:00.000Z", "2026-12-01T11:00:00.000Z")])
      expect(all.calendars.map((c) => c.id).sort()).toEqual([x.id, r.id].sort())

      const chosen = answerOf(
        yield* call(server, "POST", "/api/freebusy", {
          token: ann.token,
          body: { ...window, calendarIds: [r.id] }
        })
      )
      expect(chosen.busy).toEqual([interval("2026-12-01T09:30:00.000Z", "2026-12-01T11:00:00.000Z")])

      // Someone else's account or calendar is answered exactly like one that does not exist.
      const theirs = yield* call(server, "POST", `/api/accounts/${onX.accountId}/freebusy`, {
        token: bob.token,
        body: window
      })
      const none = yield* call(server, "POST", `/api/accounts/${randomUUID()}/freebusy`, {
        token: bob.token,
        body: window
      })
      expect(theirs.status).toBe(404)
      expect(none.status).toBe(404)
      expect(JSON.stringify(theirs.body)).not.toContain("Ann")
      const foreignCalendar = yield* call(server, "POST", "/api/freebusy", {
        token: bob.token,
        body: { ...window, calendarIds: [x.id] }
      })
      expect(foreignCalendar.status).toBe(404)
      expect(JSON.stringify(foreignCalendar.body)).toContain(x.id)
      const otherAccountsCalendar = yield* call(server, "POST", `/api/accounts/${onX.accountId}/freebusy`, {
        token: ann.token,
        body: { ...window, calendarIds: [r.id] }
      })
      expect(otherAccountsCalendar.status).toBe(404)
      expect((yield* call(server, "POST", "/api/freebusy", { body: window })).status).toBe(401)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live("a bad range or zone is a 400 that says what to fix", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const account = yield* Calendars.connect(server, ann.id, caldavServer("xandikos"), ["Work"])
      const ask = (body: unknown) =>
        call(server, "POST", `/api/accounts/${account.accountId}/freebusy`, { token: ann.token, body })
      const problems = (res: { readonly status: number; readonly body: unknown }) => {
        expect(res.status, JSON.stringify(res.body)).toBe(400)
        return JSON.stringify(res.body)
      }
      expect(problems(yield* ask({ start: "2026-12-02T00:00:00Z", end: "2026-12-01T00:00:00Z" }))).toContain(
        "end: must be after start"
      )
      expect(problems(yield* ask({ start: "2026-01-01T00:00:00Z", end: "2027-01-03T00:00:00Z" }))).toContain(
        "at most 366 days"
      )
      // No offset: which zone was meant is a guess we do not make.
      expect(problems(yield* ask({ start: "2026-12-01T00:00:00", end: "2026-12-02T00:00:00Z" }))).toContain(
        'start: \\"2026-12-01T00:00:00\\" is not an ISO 8601 date-time with Z or an offset'
      )
      expect(problems(yield* ask({ start: "2026-02-30T00:00:00Z", end: "2026-03-02T00:00:00Z" }))).toContain(
        "not a real date"
      )
      expect(
        problems(
          yield* ask({ start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z", zone: "Mars/Olympus" })
        )
      ).toContain("zone")
      expect(problems(yield* ask({ end: "2026-12-02T00:00:00Z" }))).toContain("start")
      const missingParam = yield* call(server, "GET", `/api/accounts/${account.accountId}/freebusy?start=x`, {
        token: ann.token
      })
      expect(missingParam.status).toBe(400)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )
})

describe("free/busy when a calendar server fails", () => {
  it.live("a calendar that cannot be asked is a 502 naming it, never an answer of free time", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const account = yield* Calendars.connect(server, ann.id, caldavServer("radicale"), [
        "Healthy",
        "Doomed"
      ])
      const doomed = account.calendars[1]
      if (doomed === undefined) return expect.fail("two calendars")
      // Removed on the server behind our back.
      yield* Effect.promise(() =>
        fetch(doomed.url, {
          method: "DELETE",
          headers: { authorization: `Basic ${Buffer.from("almanac:x").toString("base64")}` }
        })
      )
      const res = yield* call(server, "POST", `/api/accounts/${account.accountId}/freebusy`, {
        token: ann.token,
        body: { start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z" }
      })
      expect(res.status, JSON.stringify(res.body)).toBe(502)
      expect(JSON.stringify(res.body)).toContain("Doomed")
      expect(JSON.stringify(res.body)).toContain(doomed.id)

      // A server that is not there at all.
      const port = yield* Calendars.closedPort
      const gone = yield* Calendars.connect(server, ann.id, caldavServer("radicale"), ["Moved away"])
      yield* TestServer.within(
        server,
        Effect.flatMap(Accounts, (accounts) =>
          accounts.saveCalendars(gone.accountId, [
            {
              url: `http://127.0.0.1:${port}/nobody/`,
              displayName: Option.some("Unreachable"),
              color: Option.none()
            }
          ])
        )
      )
      const unreachable = yield* call(server, "POST", `/api/accounts/${gone.accountId}/freebusy`, {
        token: ann.token,
        body: { start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z" }
      })
      expect(unreachable.status, JSON.stringify(unreachable.body)).toBe(502)
      expect(JSON.stringify(unreachable.body)).toContain("Unreachable")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live("a refused password is a 422 asking for re-authentication, and the account is marked", () =>
    Effect.gen(function* () {
      const radicale = yield* PasswordRadicale.start
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const account = yield* Calendars.connect(server, ann.id, radicale, ["Guarded"], {
        directPassword: radicale.password,
        accountPassword: radicale.password
      })
      const ask = call(server, "POST", `/api/accounts/${account.accountId}/freebusy`, {
        token: ann.token,
        body: { start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z" }
      })
      expect((yield* ask).status).toBe(200)
      // The app-specific password is revoked at the server.
      yield* Effect.promise(() => radicale.setPassword("a-new-app-password"))
      const first = yield* ask
      expect(first.status, JSON.stringify(first.body)).toBe(422)
      expect(JSON.stringify(first.body)).toContain("re-authenticat")
      // the API's words say where to send the new password (http/ApiWords.ts)
      expect(JSON.stringify(first.body)).toContain(`PUT /api/accounts/${account.accountId}/password`)
      expect(JSON.stringify(first.body)).not.toContain(radicale.password)
      const stored = yield* call(server, "GET", `/api/accounts/${account.accountId}`, { token: ann.token })
      expect(stored.body).toMatchObject({ status: "needs-reauth" })
      // Marked: the next question gets the same answer without sending the refused password again.
      const second = yield* ask
      expect(second.status).toBe(422)
      const all = yield* call(server, "POST", "/api/freebusy", {
        token: ann.token,
        body: { start: "2026-12-01T00:00:00Z", end: "2026-12-02T00:00:00Z" }
      })
      expect(all.status).toBe(422)

      // Re-authenticated through the accounts API: the same calendar answers again.
      const reauth = yield* call(server, "PUT", `/api/accounts/${account.accountId}/password`, {
        token: ann.token,
        body: { password: "a-new-app-password" }
      })
      expect(reauth.status, JSON.stringify(reauth.body)).toBe(200)
      expect((yield* ask).status).toBe(200)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )
})
