/**
 * A subscribed iCalendar feed syncing through the server's engine, driven through the HTTP API: a
 * real feed server on loopback (node:http with ETag, Last-Modified and 304s; the providers' test
 * FeedServer) subscribed with POST /api/accounts/ics, copied one way onto a calendar on the real
 * Radicale of the test servers. A changed feed updates the copies, an unchanged one is a 304 and
 * writes nothing, an event removed from the feed is removed from Radicale, and the feed is refused
 * as a target and in a two-way sync with words that say why.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as FeedServer from "../../providers/test/ics/FeedServer.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

const Status = Schema.Struct({
  polls: Schema.Number,
  lastPollAt: Schema.NullOr(Schema.String),
  lastError: Schema.NullOr(Schema.String),
  copiesMade: Schema.Number,
  polling: Schema.NullOr(Schema.Unknown),
  deletesAwaitingConfirmation: Schema.NullOr(Schema.String),
  quarantined: Schema.Array(Schema.Struct({ href: Schema.String, reason: Schema.String }))
})
const Subscribed = Schema.Struct({
  account: Schema.Struct({ id: Schema.String, kind: Schema.String, name: Schema.String }),
  calendars: Schema.Array(Schema.Struct({ id: Schema.String, url: Schema.String, writable: Schema.Boolean }))
})

const setup = Effect.gen(function* () {
  const feed = yield* Effect.acquireRelease(
    Effect.promise(() => FeedServer.start({ name: "Public holidays" })),
    (f) => Effect.promise(() => f.close())
  )
  const server = yield* TestServer.start({ ALMANAC_POLL_INTERVAL: "1h" })
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
  const status = (calendarId: string) =>
    call("GET", `/api/calendars/${calendarId}/status`).pipe(Effect.flatMap(decode(Status)))
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
  const [radicale] = yield* Fixtures.account(server, ann.token, "radicale", 1)
  if (radicale === undefined) return yield* Effect.dieMessage("no Radicale calendar")
  return { feed, server, call, decode, status, syncAndWait, radicale }
})

const summaries = (items: ReadonlyArray<Fixtures.Stored>) =>
  items.map((i) => Option.getOrElse(i.summary, () => "")).sort()

describe("a subscribed ICS feed through the server", () => {
  it.scopedLive(
    "feed → Radicale one way: copies made, a changed feed updates them, a 304 poll writes nothing, a removed event goes",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        s.feed.put(Fixtures.event("new-year@feed.test", "New Year", 3))
        s.feed.put(Fixtures.event("labour@feed.test", "Labour Day", 4))
        s.feed.put(Fixtures.event("easter@feed.test", "Easter", 5))

        const subscribed = yield* s.call("POST", "/api/accounts/ics", { url: s.feed.feedUrl }).pipe(
          Effect.tap((r) => Effect.sync(() => expect(r.status).toBe(201))),
          Effect.flatMap(s.decode(Subscribed))
        )
        expect(subscribed.account.kind).toBe("ics")
        expect(subscribed.account.name).toBe("Public holidays")
        const [calendar, ...more] = subscribed.calendars
        expect(more).toEqual([])
        if (calendar === undefined) return yield* Effect.dieMessage("no feed calendar")
        expect(calendar.writable).toBe(false)
        expect(calendar.url).toBe(s.feed.feedUrl)
        // Subscribing again is refused: every event would be copied twice.
        expect((yield* s.call("POST", "/api/accounts/ics", { url: s.feed.feedUrl })).status).toBe(409)

        const made = yield* s.call("POST", "/api/relationships", {
          sourceCalendarId: calendar.id,
          targetCalendarId: s.radicale.id,
          markPrivate: false
        })
        expect(made.status).toBe(201)
        const first = yield* s.syncAndWait(calendar.id)
        expect(first.lastError).toBeNull()
        const copies = yield* Fixtures.waitFor(
          "the copies on Radicale",
          Fixtures.contents(s.radicale),
          (items) => items.length === 3,
          30
        )
        expect(summaries(copies)).toEqual(["Easter", "Labour Day", "New Year"])

        // Unchanged: the poll is one conditional request answered 304, and Radicale is not touched.
        const before = s.feed.requests.length
        const idle = yield* s.syncAndWait(calendar.id)
        expect(idle.lastError).toBeNull()
        expect(s.feed.requests.slice(before).map((r) => r.status)).toEqual([304])
        expect(s.feed.requests.at(-1)?.headers["if-none-match"]).toBeDefined()
        const still = yield* Fixtures.contents(s.radicale)
        expect(still.map((c) => [c.href, c.etag]).sort()).toEqual(copies.map((c) => [c.href, c.etag]).sort())

        // The publisher moves one event and drops another.
        s.feed.put(Fixtures.event("easter@feed.test", "Easter Monday", 6))
        s.feed.remove("labour@feed.test")
        const changed = yield* s.syncAndWait(calendar.id)
        expect(changed.lastError).toBeNull()
        const after = yield* Fixtures.waitFor(
          "the updated copies",
          Fixtures.contents(s.radicale),
          (items) => summaries(items).join() === "Easter Monday,New Year",
          30
        )
        const newYear = (items: ReadonlyArray<Fixtures.Stored>) =>
          items.find((i) => Option.contains(i.summary, "New Year"))
        // the untouched event kept its copy as it was
        expect(newYear(after)?.etag).toBe(newYear(copies)?.etag)

        // One broken event in the feed is quarantined; a new good one beside it is copied.
        s.feed.putRaw(
          "broken",
          ["BEGIN:VEVENT", "UID:broken@feed.test", "DTSTART:soon", "SUMMARY:broken", "END:VEVENT"].join(
            "\r\n"
          )
        )
        s.feed.put(Fixtures.event("whit@feed.test", "Whit Monday", 7))
        const quarantined = yield* s.syncAndWait(calendar.id)
        expect(quarantined.lastError).toBeNull()
        expect(quarantined.quarantined.map((q) => q.href)).toEqual(["broken@feed.test"])
        expect(summaries(yield* Fixtures.contents(s.radicale))).toEqual([
          "Easter Monday",
          "New Year",
          "Whit Monday"
        ])

        // A feed that suddenly lists no event at all deletes nothing until a person confirms.
        s.feed.remove("broken")
        for (const uid of ["new-year@feed.test", "easter@feed.test", "whit@feed.test"]) s.feed.remove(uid)
        const emptied = yield* s.syncAndWait(calendar.id)
        expect(emptied.deletesAwaitingConfirmation).toMatch(/lists none of the 3 events/)
        expect(yield* Fixtures.contents(s.radicale)).toHaveLength(3)
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "the feed is refused as a target and in a two-way sync, with words that say why; a page is no feed",
    () =>
      Effect.gen(function* () {
        const s = yield* setup
        s.feed.put(Fixtures.event("a@feed.test", "A"))
        const subscribed = yield* s
          .call("POST", "/api/accounts/ics", { url: s.feed.feedUrl, name: "Holidays" })
          .pipe(Effect.flatMap(s.decode(Subscribed)))
        const feedCalendar = subscribed.calendars[0]
        if (feedCalendar === undefined) return yield* Effect.dieMessage("no feed calendar")

        const into = yield* s.call("POST", "/api/relationships", {
          sourceCalendarId: s.radicale.id,
          targetCalendarId: feedCalendar.id
        })
        expect(into.status).toBe(400)
        expect(JSON.stringify(into.body)).toMatch(
          /read-only for its account, so no copy can be written there/
        )
        const both = yield* s.call("POST", "/api/relationships", {
          sourceCalendarId: feedCalendar.id,
          targetCalendarId: s.radicale.id,
          direction: "two-way"
        })
        expect(both.status).toBe(400)
        expect(JSON.stringify(both.body)).toMatch(/sync one way from it/)
        // nothing but the subscription's own read reached the feed
        expect(s.feed.requests.map((r) => r.status)).toEqual([200])

        s.feed.route("/login", (_req, res) => {
          res.writeHead(200, { "content-type": "text/html" })
          res.end("<!doctype html><html><body>Sign in</body></html>")
        })
        const page = yield* s.call("POST", "/api/accounts/ics", { url: `${s.feed.origin}/login` })
        expect(page.status).toBe(422)
        expect(JSON.stringify(page.body)).toMatch(/web page/)
        const missing = yield* s.call("POST", "/api/accounts/ics", { url: `${s.feed.origin}/nothing.ics` })
        expect(missing.status).toBe(422)
        const ftp = yield* s.call("POST", "/api/accounts/ics", { url: "ftp://example.com/x.ics" })
        expect(ftp.status).toBe(400)
        const clear = yield* s.call("POST", "/api/accounts/ics", {
          url: "http://ann:secret@example.com/x.ics"
        })
        expect(clear.status).toBe(400)
        expect(JSON.stringify(clear.body)).not.toContain("secret")
      }).pipe(Effect.provide(Fixtures.httpClient)),
    120_000
  )

  it.scopedLive(
    "without ALMANAC_ALLOW_PRIVATE_URLS a loopback feed is refused, and nothing is asked of it",
    () =>
      Effect.gen(function* () {
        const feed = yield* Effect.acquireRelease(
          Effect.promise(() => FeedServer.start()),
          (f) => Effect.promise(() => f.close())
        )
        const server = yield* TestServer.start({ ALMANAC_ALLOW_PRIVATE_URLS: "false" })
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const res = yield* Effect.promise(() =>
          server.request("POST", "/api/accounts/ics", {
            token: ann.token,
            body: { url: feed.feedUrl.replace("http://", "webcal://") }
          })
        )
        expect(res.status).toBe(400)
        expect(JSON.stringify(res.body)).toMatch(/loopback/)
        expect(feed.requests).toEqual([])
      })
  )
})
