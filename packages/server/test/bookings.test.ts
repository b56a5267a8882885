/**
 * Bookings through the real API against real Xandikos and Radicale, checked on the calendar
 * server itself: one event per booking whatever the retries, reschedule and cancel with
 * preconditions, a crash between recording and writing completed by the retry, and one user's
 * bookings invisible to another.
 */
import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import { EventModel } from "@almanac/core"
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import * as AccountsStore from "../src/store/Accounts.js"
import * as Bookings from "../src/store/Bookings.js"
import * as Calendars from "./support/Calendars.js"
import * as TestServer from "./support/TestServer.js"

interface BookingView {
  readonly id: string
  readonly calendarId: string
  readonly uid: string
  readonly href: string
  readonly status: "pending" | "booked" | "cancelled"
  readonly summary: string
  readonly start: string
  readonly end: string
}

const call = (
  server: TestServer.TestServer,
  method: string,
  path: string,
  options: { readonly token?: string; readonly body?: unknown; readonly key?: string } = {}
) =>
  Effect.promise(() =>
    server.request(method, path, {
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.body === undefined ? {} : { body: options.body }),
      headers: options.key === undefined ? {} : { "idempotency-key": options.key }
    })
  )

const booking = (res: { readonly status: number; readonly body: unknown }, status: number): BookingView => {
  expect(res.status, JSON.stringify(res.body)).toBe(status)
  return res.body as BookingView
}

/** A user with one calendar on the server, and what a booking tool would send for it. */
const setUp = (name: "xandikos" | "radicale") =>
  Effect.gen(function* () {
    const server = yield* TestServer.start()
    const ann = yield* Effect.promise(() => server.createUser("Ann"))
    const account = yield* Calendars.connect(server, ann.id, caldavServer(name), ["Bookings"])
    const calendar = account.calendars[0]
    if (calendar === undefined) return yield* Effect.die("no calendar")
    const request = {
      calendarId: calendar.id,
      start: "2026-12-03T10:00:00+01:00",
      end: "2026-12-03T10:30:00+01:00",
      summary: "Intro call",
      description: "Booked through a scheduling page",
      location: "Video",
      attendees: ["guest@example.com"],
      timeZone: "Europe/Berlin"
    }
    const onServer = Calendars.contents(account.direct, calendar.url)
    return { server, ann, account, calendar, request, onServer }
  })

const busyOn = (server: TestServer.TestServer, token: string, accountId: string, day: string) =>
  Effect.map(
    call(server, "POST", `/api/accounts/${accountId}/freebusy`, {
      token,
      body: { start: `${day}T00:00:00Z`, end: `${day}T23:59:59Z` }
    }),
    (res) => {
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      return (res.body as { busy: ReadonlyArray<{ start: string; end: string }> }).busy
    }
  )

describe.each(["xandikos", "radicale"] as const)("bookings on %s", (name) => {
  it.live(
    "one event per booking: a retry, even concurrent, writes none; the same key with another body is a 409",
    () =>
      Effect.gen(function* () {
        const { server, ann, account, calendar, request, onServer } = yield* setUp(name)
        const created = booking(
          yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "k-1", body: request }),
          201
        )
        expect(created).toMatchObject({
          calendarId: calendar.id,
          status: "booked",
          summary: "Intro call",
          start: "2026-12-03T09:00:00.000Z",
          end: "2026-12-03T09:30:00.000Z"
        })

        const events = yield* onServer
        expect(events).toHaveLength(1)
        const [written] = events
        const master = Option.getOrUndefined(written?.resource.master ?? Option.none())
        expect(written?.resource.uid).toBe(created.uid)
        expect(written?.href).toBe(created.href)
        expect(master?.start).toEqual(EventModel.zoned("Europe/Berlin", 2026, 12, 3, 10, 0, 0))
        expect(master?.end).toEqual(EventModel.zoned("Europe/Berlin", 2026, 12, 3, 10, 30, 0))
        expect(master?.summary).toEqual(Option.some("Intro call"))
        expect(master?.location).toEqual(Option.some("Video"))
        expect(master?.attendees).toEqual([
          { address: "mailto:guest@example.com", name: Option.none(), scheduleAgent: Option.some("CLIENT") }
        ])
        expect(written?.data).toMatch(/ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:guest@example\.com/)

        // The retry of a request that got through: the same booking, no second event. The same
        // instant spelled in UTC is the same request.
        const again = booking(
          yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "k-1", body: request }),
          200
        )
        expect(again).toEqual(created)
        const respelled = { ...request, start: "2026-12-03T09:00:00Z", end: "2026-12-03T09:30:00Z" }
        expect(
          booking(
            yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "k-1", body: respelled }),
            200
          ).id
        ).toBe(created.id)
        expect(yield* onServer).toHaveLength(1)
        expect(
          booking(yield* call(server, "GET", `/api/bookings/${created.id}`, { token: ann.token }), 200)
        ).toEqual(created)
        // A replay says so in a header, too.
        const raw = yield* Effect.promise(() =>
          fetch(`${server.url}/api/bookings`, {
            method: "POST",
            headers: {
              authorization: `Bearer ${ann.token}`,
              "content-type": "application/json",
              "idempotency-key": "k-1"
            },
            body: JSON.stringify(request)
          })
        )
        expect(raw.status).toBe(200)
        expect(raw.headers.get("idempotent-replayed")).toBe("true")

        // Four identical requests at once: one booking, one event, one 201.
        const second = { ...request, start: "2026-12-03T11:00:00+01:00", end: "2026-12-03T11:30:00+01:00" }
        const racing = yield* Effect.all(
          Array.from({ length: 4 }, () =>
            call(server, "POST", "/api/bookings", { token: ann.token, key: "k-2", body: second })
          ),
          { concurrency: "unbounded" }
        )
        expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 200, 201])
        expect(new Set(racing.map((r) => (r.body as BookingView).id)).size).toBe(1)
        expect(racing.every((r) => (r.body as BookingView).status === "booked")).toBe(true)
        expect(yield* onServer).toHaveLength(2)

        // The same key for something else: refused, and said why.
        const clash = yield* call(server, "POST", "/api/bookings", {
          token: ann.token,
          key: "k-1",
          body: { ...request, summary: "Another call" }
        })
        expect(clash.status).toBe(409)
        expect(JSON.stringify(clash.body)).toContain(
          "Idempotency-Key was already used for a different booking request"
        )
        expect(yield* onServer).toHaveLength(2)

        // Free/busy sees what was booked.
        expect(yield* busyOn(server, ann.token, account.accountId, "2026-12-03")).toEqual([
          { start: "2026-12-03T09:00:00.000Z", end: "2026-12-03T09:30:00.000Z" },
          { start: "2026-12-03T10:00:00.000Z", end: "2026-12-03T10:30:00.000Z" }
        ])
      }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live("reschedule moves the event in its own zone; an edit made on the calendar meanwhile is kept", () =>
    Effect.gen(function* () {
      const { server, ann, account, request, onServer } = yield* setUp(name)
      const created = booking(
        yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "move", body: request }),
        201
      )

      // Someone edits the event in their calendar app: its etag changes under the booking.
      const item = yield* account.direct.get(created.href)
      const edited = item.data.replace("LOCATION:Video", "LOCATION:Room 4")
      expect(edited).not.toBe(item.data)
      yield* account.direct.put(created.href, edited, CalDavClient.Update(item.etag))

      const moved = booking(
        yield* call(server, "PATCH", `/api/bookings/${created.id}`, {
          token: ann.token,
          body: { start: "2026-12-04T15:00:00Z", end: "2026-12-04T16:00:00Z" }
        }),
        200
      )
      expect(moved).toMatchObject({
        id: created.id,
        status: "booked",
        summary: "Intro call",
        start: "2026-12-04T15:00:00.000Z",
        end: "2026-12-04T16:00:00.000Z"
      })
      const [after] = yield* onServer
      const master = Option.getOrUndefined(after?.resource.master ?? Option.none())
      expect(master?.start).toEqual(EventModel.zoned("Europe/Berlin", 2026, 12, 4, 16, 0, 0))
      expect(master?.end).toEqual(EventModel.zoned("Europe/Berlin", 2026, 12, 4, 17, 0, 0))
      expect(master?.location).toEqual(Option.some("Room 4"))
      expect(master?.sequence).toBe(1)
      expect(yield* onServer).toHaveLength(1)

      // Again, with a new summary: the booking's own etag is current now.
      const renamed = booking(
        yield* call(server, "PATCH", `/api/bookings/${created.id}`, {
          token: ann.token,
          body: { start: "2026-12-04T15:30:00Z", end: "2026-12-04T16:30:00Z", summary: "Intro call (moved)" }
        }),
        200
      )
      expect(renamed.summary).toBe("Intro call (moved)")
      const [last] = yield* onServer
      expect(Option.flatMap(last?.resource.master ?? Option.none(), (m) => m.summary)).toEqual(
        Option.some("Intro call (moved)")
      )
      expect(Option.map(last?.resource.master ?? Option.none(), (m) => m.sequence)).toEqual(Option.some(2))
      expect(yield* busyOn(server, ann.token, account.accountId, "2026-12-03")).toEqual([])
      expect(yield* busyOn(server, ann.token, account.accountId, "2026-12-04")).toEqual([
        { start: "2026-12-04T15:30:00.000Z", end: "2026-12-04T16:30:00.000Z" }
      ])

      // An event deleted on the calendar cannot be moved: a 409 that says so.
      yield* account.direct.remove(created.href, (yield* account.direct.get(created.href)).etag)
      const lost = yield* call(server, "PATCH", `/api/bookings/${created.id}`, {
        token: ann.token,
        body: { start: "2026-12-05T15:00:00Z", end: "2026-12-05T16:00:00Z" }
      })
      expect(lost.status).toBe(409)
      expect(JSON.stringify(lost.body)).toContain("deleted from the calendar")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live(
    "cancel deletes the event; a cancelled booking cannot be moved or cancelled again; its key replays it",
    () =>
      Effect.gen(function* () {
        const { server, ann, request, account, onServer } = yield* setUp(name)
        const created = booking(
          yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "c-1", body: request }),
          201
        )
        expect(yield* onServer).toHaveLength(1)
        const cancelled = booking(
          yield* call(server, "DELETE", `/api/bookings/${created.id}`, { token: ann.token }),
          200
        )
        expect(cancelled).toMatchObject({ id: created.id, status: "cancelled" })
        expect(yield* onServer).toHaveLength(0)

        const twice = yield* call(server, "DELETE", `/api/bookings/${created.id}`, { token: ann.token })
        expect(twice.status).toBe(409)
        expect(JSON.stringify(twice.body)).toContain("cancelled")
        const move = yield* call(server, "PATCH", `/api/bookings/${created.id}`, {
          token: ann.token,
          body: { start: "2026-12-05T15:00:00Z", end: "2026-12-05T16:00:00Z" }
        })
        expect(move.status).toBe(409)
        const replay = booking(
          yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "c-1", body: request }),
          200
        )
        expect(replay.status).toBe("cancelled")
        expect(yield* onServer).toHaveLength(0)

        // Deleted on the calendar already: cancelling is still fine.
        const other = booking(
          yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "c-2", body: request }),
          201
        )
        yield* account.direct.remove(other.href, (yield* account.direct.get(other.href)).etag)
        expect(
          booking(yield* call(server, "DELETE", `/api/bookings/${other.id}`, { token: ann.token }), 200)
            .status
        ).toBe("cancelled")

        // Edited on the calendar since it was booked: read again, deleted all the same.
        const third = booking(
          yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "c-3", body: request }),
          201
        )
        const item = yield* account.direct.get(third.href)
        yield* account.direct.put(
          third.href,
          item.data.replace("LOCATION:Video", "LOCATION:Elsewhere"),
          CalDavClient.Update(item.etag)
        )
        expect(
          booking(yield* call(server, "DELETE", `/api/bookings/${third.id}`, { token: ann.token }), 200)
            .status
        ).toBe("cancelled")
        expect(yield* onServer).toHaveLength(0)
      }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )
})

describe("bookings", () => {
  it.live("a crash between recording and writing is completed by the retry, never doubled", () =>
    Effect.gen(function* () {
      const { server, ann, request, account, onServer } = yield* setUp("radicale")
      const backToPending = (id: string) =>
        TestServer.within(
          server,
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql`UPDATE bookings SET status = 'pending', etag = NULL WHERE id = ${id}`.pipe(Effect.orDie)
          )
        )

      // Crashed after the PUT, before the booking was marked: the retry finds the event.
      const first = booking(
        yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "p-1", body: request }),
        201
      )
      yield* backToPending(first.id)
      expect(
        booking(yield* call(server, "GET", `/api/bookings/${first.id}`, { token: ann.token }), 200).status
      ).toBe("pending")
      const completed = booking(
        yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "p-1", body: request }),
        200
      )
      expect(completed).toMatchObject({ id: first.id, status: "booked", uid: first.uid })
      expect(yield* onServer).toHaveLength(1)

      // Crashed before the PUT: nothing on the calendar. Cancel and reschedule cannot act on it
      // (only the create carries the content); the retry writes it, once.
      const second = booking(
        yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "p-2", body: request }),
        201
      )
      yield* account.direct.remove(second.href, (yield* account.direct.get(second.href)).etag)
      yield* backToPending(second.id)
      const early = yield* call(server, "DELETE", `/api/bookings/${second.id}`, { token: ann.token })
      expect(early.status).toBe(409)
      expect(JSON.stringify(early.body)).toContain("retry the create request with the same Idempotency-Key")
      const retried = booking(
        yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "p-2", body: request }),
        200
      )
      expect(retried).toMatchObject({ id: second.id, status: "booked", uid: second.uid, href: second.href })
      const events = yield* onServer
      expect(events).toHaveLength(2)
      expect(events.map((e) => e.resource.uid).sort()).toEqual([first.uid, second.uid].sort())
      // And now it can be cancelled.
      expect(
        booking(yield* call(server, "DELETE", `/api/bookings/${second.id}`, { token: ann.token }), 200).status
      ).toBe("cancelled")
      expect(yield* onServer).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live("of two claims on one key, the unique index lets one through and hands the other its booking", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const bob = yield* Effect.promise(() => server.createUser("Bob"))
      const draft = (userId: string, id: string) => ({
        id,
        userId,
        calendarId: "c",
        uid: `uid-${id}`,
        href: `http://calendar.test/${id}.ics`,
        summary: "s",
        startAt: 0,
        endAt: 1000,
        requestHash: "h"
      })
      const claims = yield* TestServer.within(
        server,
        Effect.flatMap(Bookings.Bookings, (store) =>
          Effect.all(
            [
              store.claim("same-key", draft(ann.id, "first")),
              store.claim("same-key", draft(ann.id, "second")),
              store.claim("same-key", draft(bob.id, "bobs"))
            ],
            { concurrency: "unbounded" }
          )
        )
      )
      expect(claims.map((c) => [c._tag, c.booking.id])).toEqual([
        ["Claimed", "first"],
        ["Existing", "first"],
        ["Claimed", "bobs"]
      ])
      expect(claims[1]?.booking.status).toBe("pending")
    }).pipe(Effect.scoped)
  )

  it.live("a calendar server that cannot be reached: a 502 that says the booking waits for the retry", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const account = yield* Calendars.connect(server, ann.id, caldavServer("radicale"), ["Unlucky"])
      const port = yield* Calendars.closedPort
      const [away] = yield* TestServer.within(
        server,
        Effect.flatMap(AccountsStore.Accounts, (accounts) =>
          accounts.saveCalendars(account.accountId, [
            {
              url: `http://127.0.0.1:${port}/almanac/away/`,
              displayName: Option.some("Away"),
              color: Option.none()
            }
          ])
        ).pipe(Effect.map((all) => all.filter((c) => Option.contains(c.displayName, "Away"))))
      )
      if (away === undefined) return expect.fail("the unreachable calendar")
      const body = {
        calendarId: away.id,
        start: "2026-12-03T09:00:00Z",
        end: "2026-12-03T09:30:00Z",
        summary: "Call"
      }
      const first = yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "away", body })
      expect(first.status, JSON.stringify(first.body)).toBe(502)
      expect(JSON.stringify(first.body)).toContain("Away")
      expect(JSON.stringify(first.body)).toContain(
        "send the same request with the same Idempotency-Key again"
      )
      const id = /booking ([0-9a-f-]{36}) is recorded as pending/.exec(JSON.stringify(first.body))?.[1]
      if (id === undefined) return expect.fail("the booking id in the message")
      expect(
        booking(yield* call(server, "GET", `/api/bookings/${id}`, { token: ann.token }), 200).status
      ).toBe("pending")
      // The retry tries the same booking again (still unreachable), not a new one.
      const second = yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "away", body })
      expect(second.status).toBe(502)
      const rows = yield* TestServer.within(
        server,
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT id FROM bookings`.pipe(Effect.orDie))
      )
      expect(rows).toEqual([{ id }])
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live("bad requests are 400s that say what to fix, and write nothing", () =>
    Effect.gen(function* () {
      const { server, ann, request, onServer } = yield* setUp("xandikos")
      const problems = (res: { readonly status: number; readonly body: unknown }) => {
        expect(res.status, JSON.stringify(res.body)).toBe(400)
        return JSON.stringify(res.body)
      }
      expect(
        problems(yield* call(server, "POST", "/api/bookings", { token: ann.token, body: request }))
      ).toContain("Idempotency-Key header: required")
      const post = (key: string, body: unknown) =>
        call(server, "POST", "/api/bookings", { token: ann.token, key, body })
      expect(problems(yield* post("b-1", { ...request, end: "2026-12-03T09:00:00+01:00" }))).toContain(
        "end: must be after start"
      )
      expect(problems(yield* post("b-2", { ...request, summary: "  " }))).toContain(
        "summary: must not be empty"
      )
      expect(problems(yield* post("b-3", { ...request, attendees: ["not an address"] }))).toContain(
        "attendees"
      )
      expect(problems(yield* post("b-4", { ...request, timeZone: "Berlin" }))).toContain("timeZone")
      expect(problems(yield* post("b-5", { ...request, start: "tomorrow" }))).toContain("start")
      const { calendarId: _, ...noCalendar } = request
      expect((yield* post("b-6", noCalendar)).status).toBe(400)
      const unknown = yield* post("b-7", { ...request, calendarId: randomUUID() })
      expect(unknown.status).toBe(404)
      expect(yield* onServer).toHaveLength(0)

      // A key refused once is not spent: the corrected request books with it.
      expect(booking(yield* post("b-1", request), 201).status).toBe("booked")
      const created = (yield* onServer)[0]
      expect(created).toBeDefined()
      const id = booking(yield* post("b-1", request), 200).id
      expect(
        problems(
          yield* call(server, "PATCH", `/api/bookings/${id}`, {
            token: ann.token,
            body: { start: "2026-12-05T16:00:00Z", end: "2026-12-05T15:00:00Z" }
          })
        )
      ).toContain("end: must be after start")
      expect(yield* onServer).toHaveLength(1)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )

  it.live("a booking, its calendar and its key belong to one user: anyone else gets 404", () =>
    Effect.gen(function* () {
      const { server, ann, request, calendar, onServer } = yield* setUp("radicale")
      const bob = yield* Effect.promise(() => server.createUser("Bob"))
      const bobs = yield* Calendars.connect(server, bob.id, caldavServer("xandikos"), ["Bob's"])
      const anns = booking(
        yield* call(server, "POST", "/api/bookings", { token: ann.token, key: "shared", body: request }),
        201
      )

      const asBob = { token: bob.token }
      const get = yield* call(server, "GET", `/api/bookings/${anns.id}`, asBob)
      const missing = yield* call(server, "GET", `/api/bookings/${randomUUID()}`, asBob)
      expect(get.status).toBe(404)
      expect(missing.status).toBe(404)
      expect(JSON.stringify(get.body)).not.toContain("Intro call")
      const move = { start: "2026-12-05T15:00:00Z", end: "2026-12-05T16:00:00Z" }
      expect(
        (yield* call(server, "PATCH", `/api/bookings/${anns.id}`, { ...asBob, body: move })).status
      ).toBe(404)
      expect((yield* call(server, "DELETE", `/api/bookings/${anns.id}`, asBob)).status).toBe(404)
      // Into Ann's calendar: as if it did not exist, and nothing is written there.
      const intrude = yield* call(server, "POST", "/api/bookings", {
        ...asBob,
        key: "intrude",
        body: request
      })
      expect(intrude.status).toBe(404)
      expect(JSON.stringify(intrude.body)).toContain(calendar.id)
      // Ann's key means nothing for Bob: his own booking, in his own calendar.
      const bobCalendar = bobs.calendars[0]
      if (bobCalendar === undefined) return expect.fail("Bob's calendar")
      const his = booking(
        yield* call(server, "POST", "/api/bookings", {
          ...asBob,
          key: "shared",
          body: { ...request, calendarId: bobCalendar.id }
        }),
        201
      )
      expect(his.id).not.toBe(anns.id)
      expect(yield* Calendars.contents(bobs.direct, bobCalendar.url)).toHaveLength(1)

      const still = booking(yield* call(server, "GET", `/api/bookings/${anns.id}`, { token: ann.token }), 200)
      expect(still).toEqual(anns)
      expect(yield* onServer).toHaveLength(1)
      expect((yield* call(server, "GET", `/api/bookings/${anns.id}`)).status).toBe(401)
    }).pipe(Effect.provide(NodeHttpClient.layerUndici), Effect.scoped)
  )
})
