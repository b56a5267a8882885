/**
 * Sync status through the real HTTP API, with the real engine on real Xandikos and Radicale
 * calendars: what a person sees after a sync, an unreadable item quarantined while the rest
 * syncs, the mass-delete stop and its confirmation, and the 409s of actions that do not apply.
 */
import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import * as FaultyServer from "./support/FaultyServer.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

interface CalendarStatus {
  readonly calendarId: string
  readonly name: string | null
  readonly polls: number
  readonly lastPollAt: string | null
  readonly lastSuccessAt: string | null
  readonly nextPollAt: string | null
  readonly polling: {
    readonly startedAt: string
    readonly phase: string
    readonly done: number
    readonly total: number
  } | null
  readonly lastError: string | null
  readonly lastErrorAt: string | null
  readonly failuresInARow: number
  readonly deletesAwaitingConfirmation: string | null
  readonly copiesHeld: number
  readonly copiesMade: number
  readonly quarantined: ReadonlyArray<{ readonly href: string; readonly reason: string }>
  readonly relationships: ReadonlyArray<{
    readonly relationshipId: string
    readonly role: string
    readonly otherCalendarId: string
    readonly copies: number
    readonly paused: boolean
  }>
  readonly runs: ReadonlyArray<{
    readonly outcome: string
    readonly finishedAt: string
    readonly summary: unknown
  }>
}

const client = (server: TestServer.TestServer, token: string) => {
  const call = (method: string, path: string, body?: unknown) =>
    Effect.promise(() => server.request(method, path, body === undefined ? { token } : { token, body }))
  const status = (calendarId: string) =>
    call("GET", `/api/calendars/${calendarId}/status`).pipe(
      Effect.map((r) => {
        if (r.status !== 200) throw new Error(`status ${r.status}: ${JSON.stringify(r.body)}`)
        return r.body as CalendarStatus
      })
    )
  const relate = (sourceCalendarId: string, targetCalendarId: string) =>
    call("POST", "/api/relationships", { sourceCalendarId, targetCalendarId, markPrivate: true }).pipe(
      Effect.map((r) => {
        if (r.status !== 201) throw new Error(`create ${r.status}: ${JSON.stringify(r.body)}`)
        return (r.body as { id: string }).id
      })
    )
  return { call, status, relate }
}

/** An event whose time zone no one defines: servers store it, Almanac cannot place it in time. */
const unreadable = (uid: string) =>
  [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Almanac tests//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20260101T000000Z",
    "DTSTART;TZID=Mars/Olympus_Mons:20261124T090000",
    "DTEND;TZID=Mars/Olympus_Mons:20261124T100000",
    "SUMMARY:on Mars",
    "END:VEVENT",
    "END:VCALENDAR",
    ""
  ].join("\r\n")

describe("sync status", () => {
  it.live("after a sync, status shows the polls, the copies, the runs and no errors", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call, status, relate } = client(server, ann.token)
      const [source, unused] = yield* Fixtures.account(server, ann.token, "xandikos", 2)
      const [target] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      if (source === undefined || unused === undefined || target === undefined)
        throw new Error("no calendars")
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "Dentist"))
      const id = yield* relate(source.id, target.id)
      expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)

      const synced = yield* Fixtures.waitFor(
        "the source's status to show the copy",
        status(source.id),
        (s) => s.lastSuccessAt !== null && s.copiesMade === 1 && s.runs.length > 0
      )
      expect(synced).toMatchObject({
        calendarId: source.id,
        name: "calendar 0",
        lastError: null,
        deletesAwaitingConfirmation: null,
        copiesHeld: 0,
        copiesMade: 1,
        quarantined: [],
        relationships: [
          { relationshipId: id, role: "source", otherCalendarId: target.id, copies: 1, paused: false }
        ]
      })
      expect(synced.polls).toBeGreaterThanOrEqual(1)
      expect(Date.parse(synced.lastSuccessAt ?? "")).toBeLessThanOrEqual(Date.now())
      expect(synced.nextPollAt === null || !Number.isNaN(Date.parse(synced.nextPollAt))).toBe(true)
      expect(synced.runs.map((r) => r.outcome)).toContain("synced")
      expect(synced.runs.map((r) => r.summary)).toContainEqual(expect.objectContaining({ created: 1 }))

      const everything = yield* call("GET", "/api/status")
      expect(everything.status).toBe(200)
      const all = everything.body as ReadonlyArray<CalendarStatus>
      // Only calendars that take part in a relationship.
      expect(all.map((s) => s.calendarId).sort()).toEqual([source.id, target.id].sort())
      const targetStatus = all.find((s) => s.calendarId === target.id)
      expect(targetStatus).toMatchObject({
        copiesHeld: 1,
        copiesMade: 0,
        relationships: [{ relationshipId: id, role: "target", otherCalendarId: source.id, copies: 1 }]
      })

      // Actions that do not apply say why.
      const idle = yield* call("POST", `/api/calendars/${unused.id}/sync`)
      expect(idle.status).toBe(409)
      expect(JSON.stringify(idle.body)).toContain("no sync relationship")
      const nothing = yield* call("POST", `/api/calendars/${source.id}/confirm-deletes`)
      expect(nothing.status).toBe(409)
      expect(JSON.stringify(nothing.body)).toContain("no mass deletion waiting")
      // A calendar outside relationships still has a status, with nothing in it.
      expect(yield* status(unused.id)).toMatchObject({ polls: 0, lastPollAt: null, relationships: [] })
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live(
    "a failed poll is shown in words until a poll works again: a 500, a server that is down, a refused password",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start({ ALMANAC_POLL_INTERVAL: "1h" })
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const { call, status, relate } = client(server, ann.token)
        // the source sits on Radicale behind a proxy that can be made to fail
        const radicale = caldavServer("radicale")
        const faulty = yield* Effect.acquireRelease(
          Effect.promise(() => FaultyServer.start(radicale.url)),
          (f) => Effect.promise(f.close)
        )
        const direct = yield* CalDavClient.make({
          auth: { user: radicale.user, password: Redacted.make("unchecked") }
        })
        const path = new URL(`${radicale.home}api-${randomUUID()}/`).pathname
        yield* direct.mkcalendar(new URL(path, radicale.url).href, { displayName: "flaky" })
        const connected = yield* call("POST", "/api/accounts/caldav", {
          url: new URL(path, faulty.url).href,
          username: radicale.user,
          password: "unchecked"
        })
        expect(connected.status).toBe(201)
        const account = connected.body as {
          account: { id: string }
          calendars: ReadonlyArray<{ id: string }>
        }
        const source = account.calendars[0]?.id ?? ""
        const [target] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
        if (target === undefined) throw new Error("no target calendar")
        yield* relate(source, target.id)

        const pollAgain = (what: string, done: (s: CalendarStatus) => boolean) =>
          Effect.gen(function* () {
            const before = (yield* status(source)).polls
            expect((yield* call("POST", `/api/calendars/${source}/sync`)).status).toBe(202)
            return yield* Fixtures.waitFor(what, status(source), (s) => s.polls > before && done(s))
          })

        const healthy = yield* pollAgain("a first poll that works", (s) => s.lastSuccessAt !== null)
        expect(healthy).toMatchObject({ lastError: null, failuresInARow: 0 })

        faulty.setMode("error-500")
        const failing = yield* pollAgain("the 500 to show", (s) => s.lastError !== null)
        expect(failing.lastError).toContain("500")
        expect(failing.failuresInARow).toBe(1)
        expect(Date.parse(failing.lastErrorAt ?? "")).toBeGreaterThan(Date.parse(healthy.lastSuccessAt ?? ""))

        faulty.setMode("forward")
        yield* Effect.promise(faulty.down)
        const down = yield* pollAgain("the server being down to show", (s) => s.failuresInARow === 2)
        expect(down.lastError).toContain("could not be reached")
        expect(down.lastSuccessAt).toBe(healthy.lastSuccessAt)

        yield* Effect.promise(faulty.up)
        const recovered = yield* pollAgain("a recovery to clear the error", (s) => s.lastError === null)
        expect(recovered.failuresInARow).toBe(0)
        expect(recovered.lastErrorAt).toBe(down.lastErrorAt)
        expect(Date.parse(recovered.lastSuccessAt ?? "")).toBeGreaterThan(Date.parse(down.lastErrorAt ?? ""))

        faulty.setMode("unauthorized")
        const refused = yield* pollAgain("the refused password to show", (s) => s.lastError !== null)
        expect(refused.lastError).toContain("refused the credentials")
        expect(refused.nextPollAt).toBeNull()
        const all = (yield* call("GET", "/api/status")).body as ReadonlyArray<CalendarStatus>
        expect(all.find((s) => s.calendarId === source)).toMatchObject({
          lastError: refused.lastError,
          failuresInARow: 1
        })
        // the account's own view of its calendars says the same
        const calendars = yield* call("GET", `/api/accounts/${account.account.id}/calendars`)
        expect(calendars.body).toEqual(
          expect.arrayContaining([expect.objectContaining({ id: source, lastError: refused.lastError })])
        )
      }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live(
    "a long poll shows in the status while it runs, with its phase and counts; none once it is done",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const { status, relate } = client(server, ann.token)
        const [source] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
        const [target] = yield* Fixtures.account(server, ann.token, "radicale", 1)
        if (source === undefined || target === undefined) throw new Error("no calendars")
        const n = 120
        for (let i = 0; i < n; i++) yield* Fixtures.put(source, Fixtures.event(randomUUID(), `event ${i}`))
        yield* relate(source.id, target.id)
        const seen: Array<NonNullable<CalendarStatus["polling"]>> = []
        const deadline = Date.now() + 150_000
        let last = yield* status(source.id)
        while (!(last.copiesMade === n && last.polling === null) && Date.now() < deadline) {
          if (last.polling !== null) seen.push(last.polling)
          yield* Effect.sleep("50 millis")
          last = yield* status(source.id)
        }
        expect(last.copiesMade).toBe(n)
        expect(last.polling).toBeNull()
        const writes = seen.filter((p) => p.phase === "write")
        expect(writes.length).toBeGreaterThan(0)
        for (const p of writes) {
          expect(p.total).toBe(n)
          expect(p.done).toBeGreaterThan(0)
          expect(p.done).toBeLessThanOrEqual(n)
          expect(Date.parse(p.startedAt)).toBeLessThanOrEqual(Date.now())
        }
        // Counts only go up within the poll.
        expect(writes.map((p) => p.done)).toEqual([...writes.map((p) => p.done)].sort((a, b) => a - b))
      }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient)),
    180_000
  )

  it.live("an unreadable item is quarantined and listed while the other events sync", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { status, relate } = client(server, ann.token)
      const [source] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      const [target] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      if (source === undefined || target === undefined) throw new Error("no calendars")
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "fine one"))
      const broken = yield* Fixtures.putRaw(source, unreadable(randomUUID()))
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "fine two"))
      yield* relate(source.id, target.id)

      const seen = yield* Fixtures.waitFor(
        "the quarantined item and both copies",
        status(source.id),
        (s) => s.quarantined.length === 1 && s.copiesMade === 2
      )
      expect(new URL(seen.quarantined[0]?.href ?? "", source.url).pathname).toBe(new URL(broken).pathname)
      expect(seen.quarantined[0]?.reason).toContain("Mars/Olympus_Mons")
      expect(seen.lastError).toBeNull()
      expect(seen.lastSuccessAt).not.toBeNull()
      expect((yield* Fixtures.contents(target)).length).toBe(2)
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("a source that loses every event halts until a person confirms the deletions", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const { call, status, relate } = client(server, ann.token)
      const [source] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      const [target] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      if (source === undefined || target === undefined) throw new Error("no calendars")
      for (const title of ["a", "b", "c"]) yield* Fixtures.put(source, Fixtures.event(randomUUID(), title))
      yield* relate(source.id, target.id)
      yield* Fixtures.waitFor("three copies", status(source.id), (s) => s.copiesMade === 3)

      for (const item of yield* source.client.listEtags(source.url).pipe(Effect.orDie))
        yield* source.client.remove(item.href, item.etag).pipe(Effect.orDie)
      expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)
      const halted = yield* Fixtures.waitFor(
        "the mass-delete stop",
        status(source.id),
        (s) => s.deletesAwaitingConfirmation !== null
      )
      expect(halted.deletesAwaitingConfirmation).toContain("none of the 3 events")
      expect(halted.copiesMade).toBe(3)
      expect((yield* Fixtures.contents(target)).length).toBe(3)

      const confirmed = yield* call("POST", `/api/calendars/${source.id}/confirm-deletes`)
      expect(confirmed.status).toBe(200)
      expect(confirmed.body).toMatchObject({ deleted: 3, halted: [] })
      const after = yield* status(source.id)
      expect(after).toMatchObject({ deletesAwaitingConfirmation: null, copiesMade: 0 })
      expect(yield* Fixtures.contents(target)).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )
})
