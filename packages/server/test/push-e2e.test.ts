/**
 * Push end to end: the whole server in the test process (real HTTP, database, vault), the
 * providers' FAKES of Google Calendar and Microsoft Graph (see their headers — no real Google or
 * Microsoft here; both post their notifications to the server as the real ones would to its public
 * address), and calendars on the real Radicale of the test servers. Polls run only when asked (the
 * interval is an hour), so a copy that arrives by itself came by push.
 *
 * Covered: a Google channel per watched calendar and one Graph subscription for the mailbox, made
 * when the relationships are; Graph's validation answered (the token URL-decoded, as text); a
 * person's new event on either side copied to Radicale without a poll being asked for; a forged
 * notification (wrong token, wrong clientState) wakes nothing; a subscription Graph removed is made
 * again; a relationship removed stops its channel.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GoogleFake from "../../providers/test/fakes/GoogleFake.js"
import * as GraphFake from "../../providers/test/fakes/GraphFake.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

const G_TEAM = "team@group.calendar.google.com"
const M_TEAM = "AAMk-team"

const Account = Schema.Struct({ id: Schema.String, kind: Schema.String })
const Calendar = Schema.Struct({ id: Schema.String, url: Schema.String })
const Status = Schema.Struct({ polls: Schema.Number, polling: Schema.NullOr(Schema.Unknown) })

describe("push through the server", () => {
  it.scopedLive(
    "Google channels and a Graph subscription wake the calendars they watch, only with their secrets, and go with their relationships",
    () =>
      Effect.gen(function* () {
        const google = yield* Effect.acquireRelease(
          Effect.promise(() =>
            GoogleFake.start({
              calendars: [
                {
                  id: "ann@example.com",
                  summary: "Ann",
                  timeZone: "Europe/Berlin",
                  accessRole: "owner",
                  primary: true
                },
                { id: G_TEAM, summary: "Team", timeZone: "Europe/Berlin", accessRole: "writer" }
              ]
            })
          ),
          (f) => Effect.promise(() => f.close())
        )
        const graph = yield* Effect.acquireRelease(
          Effect.promise(() =>
            GraphFake.start({
              clientSecret: "ms-secret",
              calendars: [
                { id: "AAMk-default", name: "Calendar", canEdit: true, isDefaultCalendar: true },
                { id: M_TEAM, name: "Team", canEdit: true }
              ]
            })
          ),
          (f) => Effect.promise(() => f.close())
        )
        const port = yield* Effect.promise(freePort)
        const server = yield* TestServer.start({
          ALMANAC_PORT: String(port),
          ALMANAC_PUBLIC_URL: `http://127.0.0.1:${port}`,
          // The public URL is http on loopback (no TLS here): push only because it is asked for.
          ALMANAC_PUSH: "on",
          ALMANAC_POLL_INTERVAL: "1h",
          ALMANAC_GOOGLE_AUTH_URL: google.authUrl,
          ALMANAC_GOOGLE_TOKEN_URL: google.tokenUrl,
          ALMANAC_GOOGLE_REVOKE_URL: google.revokeUrl,
          ALMANAC_GOOGLE_API_URL: google.apiUrl,
          ALMANAC_GOOGLE_CLIENT_ID: google.clientId,
          ALMANAC_GOOGLE_CLIENT_SECRET: google.clientSecret,
          ALMANAC_MICROSOFT_CLIENT_ID: graph.clientId,
          ALMANAC_MICROSOFT_CLIENT_SECRET: graph.clientSecret ?? "",
          ALMANAC_MICROSOFT_AUTHORITY: graph.authorityUrl,
          ALMANAC_GRAPH_URL: graph.apiUrl
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
        const decode =
          <A, I>(schema: Schema.Schema<A, I>) =>
          (res: { readonly status: number; readonly body: unknown }) =>
            Schema.decodeUnknown(schema)(res.body).pipe(
              Effect.orElse(() =>
                Effect.dieMessage(`unexpected answer ${res.status}: ${JSON.stringify(res.body)}`)
              )
            )

        // Connect both, through their redirects.
        const authorize = (kind: string) =>
          call("POST", `/api/accounts/${kind}`).pipe(
            Effect.flatMap(decode(Schema.Struct({ authorizeUrl: Schema.String }))),
            Effect.map((r) => r.authorizeUrl)
          )
        const googleAuthorize = yield* authorize("google")
        const googleCallback = yield* Effect.promise(() => fetch(googleAuthorize, { redirect: "manual" }))
        expect(
          (yield* Effect.promise(() =>
            fetch(googleCallback.headers.get("location") ?? "", { redirect: "manual" })
          )).status
        ).toBe(303)
        const graphCallback = graph.consent(yield* authorize("microsoft"))
        expect((yield* Effect.promise(() => fetch(graphCallback, { redirect: "manual" }))).status).toBe(303)
        const accounts = yield* call("GET", "/api/accounts").pipe(
          Effect.flatMap(decode(Schema.Array(Account)))
        )
        const calendarOf = (kind: string, ref: string) =>
          Effect.gen(function* () {
            const account = accounts.find((a) => a.kind === kind)
            if (account === undefined) return yield* Effect.dieMessage(`${kind} not connected`)
            const all = yield* call("GET", `/api/accounts/${account.id}/calendars`).pipe(
              Effect.flatMap(decode(Schema.Array(Calendar)))
            )
            const found = all.find((c) => c.url === ref)
            return found ?? (yield* Effect.dieMessage(`no ${ref}`))
          })
        const gTeam = yield* calendarOf("google", G_TEAM)
        const mTeam = yield* calendarOf("microsoft", M_TEAM)
        const [fromGoogle, fromGraph] = yield* Fixtures.account(server, ann.token, "radicale", 2)
        if (fromGoogle === undefined || fromGraph === undefined) return expect.fail("no Radicale calendars")
        const status = (calendarId: string) =>
          call("GET", `/api/calendars/${calendarId}/status`).pipe(Effect.flatMap(decode(Status)))

        const relate = (from: string, to: string) =>
          call("POST", "/api/relationships", {
            sourceCalendarId: from,
            targetCalendarId: to,
            direction: "one-way",
            markPrivate: false
          }).pipe(
            Effect.tap((r) => Effect.sync(() => expect(r.status, JSON.stringify(r.body)).toBe(201))),
            Effect.flatMap(decode(Schema.Struct({ id: Schema.String })))
          )
        const gRelationship = yield* relate(gTeam.id, fromGoogle.id)
        const mRelationship = yield* relate(mTeam.id, fromGraph.id)

        // Channels come with the relationships: one for the Google calendar, one for the mailbox.
        yield* Fixtures.waitFor(
          "a Google channel and a Graph subscription",
          Effect.sync(() => [google.channels(), graph.subscriptions()] as const),
          ([channels, subscriptions]) => channels.length === 1 && subscriptions.length === 1,
          30
        )
        expect(google.channels()[0]?.calendarId).toBe(G_TEAM)
        const subscriptionId = graph.subscriptions()[0]?.id ?? ""
        // Graph checked both URLs (notifications and lifecycle) and got its token back.
        expect(graph.notifications.filter((n) => n.kind === "validation").map((n) => n.status)).toEqual([
          200, 200
        ])
        // The first polls (the relationships' own) are over.
        for (const id of [gTeam.id, mTeam.id])
          yield* Fixtures.waitFor(
            `the first poll of ${id}`,
            status(id),
            (s) => s.polls >= 1 && s.polling === null,
            60
          )

        // A person's new event on Google arrives on Radicale with no poll asked for.
        const day = new Date(Date.now() + 3 * 86_400_000).toISOString().slice(0, 10)
        google.insertAsPerson(G_TEAM, {
          summary: "Planning",
          start: { dateTime: `${day}T10:00:00+01:00`, timeZone: "Europe/Berlin" },
          end: { dateTime: `${day}T11:00:00+01:00`, timeZone: "Europe/Berlin" }
        })
        const [gCopy] = yield* Fixtures.waitFor(
          "the Google event on Radicale, by push",
          Fixtures.contents(fromGoogle),
          (items) => items.length === 1,
          30
        )
        expect(Option.getOrNull(gCopy?.summary ?? Option.none())).toBe("Planning")
        yield* Effect.promise(() => google.pushesSettled())
        expect(google.notifications.map((n) => [n.state, n.status])).toEqual([
          ["sync", 200],
          ["exists", 200]
        ])

        // The same from Outlook.
        graph.insertAsPerson(M_TEAM, {
          subject: "Review",
          start: { dateTime: `${day}T14:00:00`, timeZone: "UTC" },
          end: { dateTime: `${day}T15:00:00`, timeZone: "UTC" }
        })
        const [mCopy] = yield* Fixtures.waitFor(
          "the Outlook event on Radicale, by push",
          Fixtures.contents(fromGraph),
          (items) => items.length === 1,
          30
        )
        expect(Option.getOrNull(mCopy?.summary ?? Option.none())).toBe("Review")
        yield* Effect.promise(() => graph.notificationsSettled())
        expect(graph.notifications.filter((n) => n.kind === "change").map((n) => n.status)).toEqual([202])

        // Forged notifications: the right channel, the wrong secret. Nothing polls.
        const quiet = (yield* status(gTeam.id)).polls
        const quietGraph = (yield* status(mTeam.id)).polls
        const channelId = google.channels()[0]?.id ?? ""
        const forgedGoogle = yield* Effect.promise(() =>
          fetch(`${server.url}/push/google`, {
            method: "POST",
            headers: {
              "x-goog-channel-id": channelId,
              "x-goog-channel-token": "forged",
              "x-goog-resource-state": "exists"
            }
          })
        )
        expect(forgedGoogle.status).toBe(401)
        const forgedGraph = yield* Effect.promise(() =>
          fetch(`${server.url}/push/microsoft`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({
              value: [{ subscriptionId, clientState: "forged", changeType: "updated" }]
            })
          })
        )
        expect(forgedGraph.status).toBe(202)
        yield* Effect.sleep("1500 millis")
        expect((yield* status(gTeam.id)).polls).toBe(quiet)
        expect((yield* status(mTeam.id)).polls).toBe(quietGraph)

        // The validation answer is the token, decoded, as plain text.
        const validation = yield* Effect.promise(() =>
          fetch(`${server.url}/push/microsoft?validationToken=${encodeURIComponent("a b:c/d")}`, {
            method: "POST"
          })
        )
        expect(validation.status).toBe(200)
        expect(validation.headers.get("content-type")).toMatch(/^text\/plain/)
        expect(yield* Effect.promise(() => validation.text())).toBe("a b:c/d")

        // Graph removed the subscription: it is made again (and a catch-up poll runs).
        graph.lifecycle(subscriptionId, "subscriptionRemoved")
        yield* Fixtures.waitFor(
          "a new Graph subscription",
          Effect.sync(() => graph.subscriptions()),
          (subs) => subs.length === 1 && subs[0]?.id !== subscriptionId,
          30
        )
        yield* Fixtures.waitFor("the catch-up poll", status(mTeam.id), (s) => s.polls > quietGraph, 30)

        // Relationships removed: their channels are stopped at the providers.
        expect((yield* call("DELETE", `/api/relationships/${gRelationship.id}`)).status).toBe(200)
        expect((yield* call("DELETE", `/api/relationships/${mRelationship.id}`)).status).toBe(200)
        yield* Fixtures.waitFor(
          "no channel left",
          Effect.sync(() => [google.channels().length, graph.subscriptions().length] as const),
          ([g, m]) => g === 0 && m === 0,
          30
        )
        expect(google.invitations).toEqual([])
        expect(graph.invitations).toEqual([])
      }).pipe(Effect.provide(Fixtures.httpClient)),
    180_000
  )
})
