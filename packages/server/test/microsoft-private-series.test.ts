/**
 * A private copy on Microsoft is private in every instance: a weekly CalDAV series with a moved
 * and renamed instance, copied onto Microsoft with "mark as private", is a Busy, private master
 * and a Busy, private exception there, with no title, place or description of the original.
 * Through the server's API, against the Graph fake (a FAKE of Graph and the identity platform)
 * and the real Radicale of the test servers.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GraphFake from "../../providers/test/fakes/GraphFake.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

const TEAM = "AAMk-team"

const series = [
  "BEGIN:VCALENDAR",
  "VERSION:2.0",
  "PRODID:-//test//EN",
  "BEGIN:VEVENT",
  "UID:private-series@test",
  "DTSTAMP:20261201T000000Z",
  "DTSTART;TZID=Europe/Berlin:20261207T100000",
  "DTEND;TZID=Europe/Berlin:20261207T110000",
  "RRULE:FREQ=WEEKLY;COUNT=4",
  "SUMMARY:Salary review",
  "LOCATION:HR office",
  "DESCRIPTION:the numbers",
  "END:VEVENT",
  "BEGIN:VEVENT",
  "UID:private-series@test",
  "DTSTAMP:20261201T000000Z",
  "RECURRENCE-ID;TZID=Europe/Berlin:20261214T100000",
  "DTSTART;TZID=Europe/Berlin:20261215T140000",
  "DTEND;TZID=Europe/Berlin:20261215T150000",
  "SUMMARY:Salary review (moved)",
  "LOCATION:Board room",
  "END:VEVENT",
  "END:VCALENDAR",
  ""
].join("\r\n")

describe("private copies on Microsoft", () => {
  it.scopedLive("are private in every instance, exceptions included", () =>
    Effect.gen(function* () {
      const graph = yield* Effect.acquireRelease(
        Effect.promise(() =>
          GraphFake.start({
            clientSecret: "ms-secret",
            calendars: [
              { id: "AAMk-calendar", name: "Calendar", canEdit: true, isDefaultCalendar: true },
              { id: TEAM, name: "Team", canEdit: true }
            ]
          })
        ),
        (f) => Effect.promise(() => f.close())
      )
      const port = yield* Effect.promise(freePort)
      const server = yield* TestServer.start({
        ALMANAC_PORT: String(port),
        ALMANAC_PUBLIC_URL: `http://127.0.0.1:${port}`,
        ALMANAC_POLL_INTERVAL: "1h",
        ALMANAC_MICROSOFT_AUTHORITY: graph.authorityUrl,
        ALMANAC_GRAPH_URL: graph.apiUrl,
        ALMANAC_MICROSOFT_CLIENT_ID: graph.clientId,
        ALMANAC_MICROSOFT_CLIENT_SECRET: graph.clientSecret ?? ""
      })
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const call = (method: string, path: string, body?: unknown) =>
        Effect.promise(() =>
          server.request(method, path, body === undefined ? { token: ann.token } : { token: ann.token, body })
        )
      const started = yield* call("POST", "/api/accounts/microsoft")
      const callback = graph.consent((started.body as { authorizeUrl: string }).authorizeUrl)
      expect((yield* Effect.promise(() => fetch(callback, { redirect: "manual" }))).status).toBe(303)
      const [account] = (yield* call("GET", "/api/accounts")).body as ReadonlyArray<{ id: string }>
      const calendars = (yield* call("GET", `/api/accounts/${account?.id}/calendars`)).body as ReadonlyArray<{
        id: string
        url: string
      }>
      const team = calendars.find((c) => c.url === TEAM)
      if (team === undefined) return expect.fail("no Team calendar")
      const [source] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      if (source === undefined) return expect.fail("no Radicale calendar")
      yield* Fixtures.putRaw(source, series)
      const related = yield* call("POST", "/api/relationships", {
        sourceCalendarId: source.id,
        targetCalendarId: team.id,
        markPrivate: true
      })
      expect(related.status).toBe(201)
      expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)
      const copies = yield* Fixtures.waitFor(
        "the series and its exception on Microsoft",
        Effect.sync(() => graph.events(TEAM)),
        (es) => es.some((e) => e.type === "exception")
      )
      expect(copies.map((e) => e.type).sort()).toEqual(["exception", "seriesMaster"])
      for (const copy of copies) {
        expect(copy).toMatchObject({ subject: "Busy", sensitivity: "private" })
        const text = JSON.stringify(copy)
        for (const secret of ["Salary", "HR office", "Board room", "the numbers"])
          expect(text).not.toContain(secret)
      }
      expect(graph.invitations).toEqual([])
    }).pipe(Effect.provide(Fixtures.httpClient))
  )
})
