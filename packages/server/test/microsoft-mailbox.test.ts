/**
 * Outlook allows four requests in flight per app and mailbox, across all of its calendars. Six
 * calendars of one Microsoft account, polled at once through the server (in process), against
 * the Graph fake (a FAKE of Graph and the identity platform; it answers 429 MailboxConcurrency to
 * a fifth request in flight, as Outlook does) with slow answers, copied to the real Radicale of
 * the test servers: the requests overlap up to the limit and never beyond it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GraphFake from "../../providers/test/fakes/GraphFake.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

const CALENDARS = 6
const EVENTS = 3
const ids = Array.from({ length: CALENDARS }, (_, i) => `AAMk-cal-${i}`)

describe("one Microsoft mailbox, several calendars", () => {
  it.scopedLive("never has more than four requests in flight at Graph", () =>
    Effect.gen(function* () {
      const graph = yield* Effect.acquireRelease(
        Effect.promise(() =>
          GraphFake.start({
            clientSecret: "ms-secret",
            calendars: ids.map((id, i) => ({
              id,
              name: `Calendar ${i}`,
              canEdit: true,
              isDefaultCalendar: i === 0
            }))
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
      const targets = yield* Fixtures.account(server, ann.token, "radicale", CALENDARS)

      const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)
      for (const id of ids)
        for (let e = 0; e < EVENTS; e++)
          graph.insertAsPerson(id, {
            subject: `${id} meeting ${e}`,
            start: { dateTime: `${day}T0${e + 1}:00:00`, timeZone: "UTC" },
            end: { dateTime: `${day}T0${e + 1}:30:00`, timeZone: "UTC" }
          })

      // Slow answers, so that the six calendars' polls overlap at Graph.
      graph.setLatency(150)
      graph.resetLog()
      graph.resetMaxInFlight()
      yield* Effect.forEach(
        ids,
        (ref, i) =>
          Effect.gen(function* () {
            const source = calendars.find((c) => c.url === ref)
            const target = targets[i]
            if (source === undefined || target === undefined) return expect.fail(`no calendars for ${ref}`)
            const related = yield* call("POST", "/api/relationships", {
              sourceCalendarId: source.id,
              targetCalendarId: target.id
            })
            expect(related.status).toBe(201)
            expect((yield* call("POST", `/api/calendars/${source.id}/sync`)).status).toBe(202)
          }),
        { concurrency: "unbounded" }
      )
      yield* Effect.forEach(
        targets,
        (target) =>
          Fixtures.waitFor(
            "the copies on Radicale",
            Fixtures.contents(target),
            (items) => items.length === EVENTS
          ),
        { concurrency: "unbounded" }
      )

      // Every Graph answer was a real one: no request was refused for the mailbox's limit.
      expect(graph.requests.filter((r) => r.status === 429)).toEqual([])
      // And the polls did overlap, up to the limit (so the test can see a fifth if one is sent).
      expect(graph.maxInFlight()).toBe(4)
    }).pipe(Effect.provide(Fixtures.httpClient))
  )
})
