/**
 * Microsoft 365 ⇄ Google with no CalDAV in between, through the server's HTTP API, against both
 * providers' fakes (FAKES of Graph with the identity platform, and of Google Calendar API v3 with
 * its OAuth endpoints; no real Microsoft or Google here): Microsoft → Google private (a Busy copy,
 * private), Google → Microsoft with its details, a second poll writes nothing, no invitations.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GoogleFake from "../../providers/test/fakes/GoogleFake.js"
import * as GraphFake from "../../providers/test/fakes/GraphFake.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

const ZONE = "W. Europe Standard Time"

describe("Microsoft 365 and Google together", () => {
  it.scopedLive(
    "Microsoft → Google private, Google → Microsoft, idle polls write nothing, nobody invited",
    () =>
      Effect.gen(function* () {
        const graph = yield* Effect.acquireRelease(
          Effect.promise(() =>
            GraphFake.start({
              clientSecret: "ms-secret",
              calendars: [
                { id: "AAMk-calendar", name: "Calendar", canEdit: true, isDefaultCalendar: true },
                { id: "AAMk-from-google", name: "From Google", canEdit: true }
              ]
            })
          ),
          (f) => Effect.promise(() => f.close())
        )
        const google = yield* Effect.acquireRelease(
          Effect.promise(() =>
            GoogleFake.start({
              calendars: [
                {
                  id: "ann@example.org",
                  summary: "ann@example.org",
                  timeZone: "Europe/Berlin",
                  accessRole: "owner",
                  primary: true
                },
                {
                  id: "work@group.calendar.google.com",
                  summary: "Work (busy)",
                  timeZone: "Europe/Berlin",
                  accessRole: "owner"
                }
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
          ALMANAC_GOOGLE_AUTH_URL: google.authUrl,
          ALMANAC_GOOGLE_TOKEN_URL: google.tokenUrl,
          ALMANAC_GOOGLE_REVOKE_URL: google.revokeUrl,
          ALMANAC_GOOGLE_API_URL: google.apiUrl,
          ALMANAC_GOOGLE_CLIENT_ID: google.clientId,
          ALMANAC_GOOGLE_CLIENT_SECRET: google.clientSecret,
          ALMANAC_MICROSOFT_AUTHORITY: graph.authorityUrl,
          ALMANAC_GRAPH_URL: graph.apiUrl,
          ALMANAC_MICROSOFT_CLIENT_ID: graph.clientId,
          ALMANAC_MICROSOFT_CLIENT_SECRET: graph.clientSecret ?? ""
        })
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const call = (method: string, path: string, body?: unknown) =>
          Effect.promise(() =>
            server.request(
              method,
              path,
              body === undefined ? { token: ann.token } : { token: ann.token, body }
            )
          )
        const follow = (url: string) =>
          Effect.promise(() => fetch(url, { redirect: "manual" })).pipe(
            Effect.map((r) => ({ status: r.status, location: r.headers.get("location") ?? "" }))
          )
        const authorizeUrl = (kind: string) =>
          call("POST", `/api/accounts/${kind}`).pipe(
            Effect.map((r) => (r.body as { authorizeUrl: string }).authorizeUrl)
          )

        // Connect both.
        const ms = yield* follow(graph.consent(yield* authorizeUrl("microsoft")))
        expect(ms.status).toBe(303)
        const atGoogle = yield* follow(yield* authorizeUrl("google"))
        expect((yield* follow(atGoogle.location)).status).toBe(303)
        const calendars = yield* Effect.forEach(
          (yield* call("GET", "/api/accounts")).body as ReadonlyArray<{ id: string }>,
          (a) =>
            call("GET", `/api/accounts/${a.id}/calendars`).pipe(
              Effect.map((r) => r.body as ReadonlyArray<{ id: string; url: string }>)
            )
        ).pipe(Effect.map((all) => all.flat()))
        const idOf = (url: string) => {
          const found = calendars.find((c) => c.url === url)
          if (found === undefined) throw new Error(`no calendar ${url}`)
          return found.id
        }
        const outlook = idOf("AAMk-calendar")
        const fromGoogle = idOf("AAMk-from-google")
        const primary = idOf("ann@example.org")
        const busy = idOf("work@group.calendar.google.com")

        const status = (id: string) =>
          call("GET", `/api/calendars/${id}/status`).pipe(
            Effect.map(
              (r) => r.body as { lastPollAt: string | null; lastError: string | null; polling: unknown }
            )
          )
        const syncAndWait = (id: string) =>
          Effect.gen(function* () {
            const asked = Date.now()
            expect((yield* call("POST", `/api/calendars/${id}/sync`)).status).toBe(202)
            const done = yield* Fixtures.waitFor(
              `a poll of ${id}`,
              status(id),
              (s) => s.polling === null && s.lastPollAt !== null && Date.parse(s.lastPollAt) >= asked
            )
            expect(done.lastError).toBeNull()
          })

        // Microsoft → Google, private.
        graph.insertAsPerson("AAMk-calendar", {
          subject: "Board meeting",
          body: { contentType: "html", content: "<p>Q4 <b>numbers</b></p>" },
          location: { displayName: "Room 1" },
          start: { dateTime: "2026-12-09T09:00:00", timeZone: ZONE },
          end: { dateTime: "2026-12-09T10:00:00", timeZone: ZONE }
        })
        const toGoogle = yield* call("POST", "/api/relationships", {
          sourceCalendarId: outlook,
          targetCalendarId: busy,
          markPrivate: true
        })
        expect(toGoogle.status).toBe(201)
        yield* syncAndWait(outlook)
        const [copy, ...more] = google
          .events("work@group.calendar.google.com")
          .filter((e) => e.status !== "cancelled")
        expect(more).toEqual([])
        expect(copy).toMatchObject({
          summary: "Busy",
          visibility: "private",
          start: { dateTime: "2026-12-09T09:00:00+01:00" }
        })
        for (const field of ["description", "location", "attendees"]) expect(copy).not.toHaveProperty(field)

        // Google → Microsoft, with its details (not private).
        google.insertAsPerson("ann@example.org", {
          summary: "Dinner with Sam",
          description: "Book a table",
          start: { dateTime: "2026-12-10T19:00:00+01:00", timeZone: "Europe/Berlin" },
          end: { dateTime: "2026-12-10T21:00:00+01:00", timeZone: "Europe/Berlin" },
          attendees: [{ email: "sam@example.com" }]
        })
        const toMicrosoft = yield* call("POST", "/api/relationships", {
          sourceCalendarId: primary,
          targetCalendarId: fromGoogle,
          markPrivate: false
        })
        expect(toMicrosoft.status).toBe(201)
        yield* syncAndWait(primary)
        const [dinner, ...others] = graph.events("AAMk-from-google")
        expect(others).toEqual([])
        expect(dinner).toMatchObject({ subject: "Dinner with Sam", sensitivity: "normal" })
        expect(JSON.stringify(dinner?.body)).toContain("Book a table")
        expect(dinner?.attendees ?? []).toEqual([])

        // Idle: every side polled again writes nothing anywhere.
        for (const id of [outlook, busy, primary, fromGoogle]) yield* syncAndWait(id)
        graph.resetLog()
        google.resetLog()
        for (const id of [outlook, busy, primary, fromGoogle]) yield* syncAndWait(id)
        expect(graph.apiRequestCount((r) => r.method !== "GET")).toBe(0)
        expect(google.apiRequestCount((r) => r.method !== "GET")).toBe(0)
        expect(graph.invitations).toEqual([])
        expect(google.invitations).toEqual([])
      })
  )
})
