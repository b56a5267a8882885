/**
 * The ICS feed provider against real HTTP servers on loopback (node:http; node:https with a
 * self-signed certificate made for the test by openssl): conditional polls (ETag, Last-Modified,
 * 304), a feed that changes, series grouped by UID, a malformed event quarantined alone, an event
 * without UID, bodies that are no calendar, a feed too large, redirects with the URL check on
 * every hop, webcal:// and credentials in the URL.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { createServer as createHttpsServer } from "node:https"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type CalendarProvider, EventModel, ProviderError } from "@almanac/core"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Option, Redacted, type Scope } from "effect"
import { IcsFeedProvider } from "../../src/index.js"
import * as FeedServer from "./FeedServer.js"

const event = (uid: string, summary: string, day = 10) =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid,
      start: EventModel.zoned("Europe/Berlin", 2026, 12, day, 9),
      end: EventModel.zoned("Europe/Berlin", 2026, 12, day, 10),
      summary: Option.some(summary)
    })
  )

const feedServer = (options?: FeedServer.Options) =>
  Effect.acquireRelease(
    Effect.promise(() => FeedServer.start(options)),
    (f) => Effect.promise(() => f.close())
  )

const open = (url: string, options: Omit<IcsFeedProvider.Options, "url"> = {}) =>
  IcsFeedProvider.make({ url: new URL(url), ...options })

const snapshotOf = (c: CalendarProvider.Changes) => {
  if (c._tag !== "Snapshot") throw new Error(`expected a Snapshot, got ${c._tag}`)
  return c
}

const http = NodeHttpClient.layerUndici
const live = <A, E>(name: string, body: () => Effect.Effect<A, E, Scope.Scope | HttpClient.HttpClient>) =>
  it.live(name, () => body().pipe(Effect.scoped, Effect.provide(http)), 30_000)

describe("IcsFeedProvider", () => {
  live("a poll sends the feed's ETag and Last-Modified back; a 304 is Unchanged and costs one request", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      feed.put(event("a@feed.test", "A"))
      const provider = yield* open(feed.feedUrl)
      expect(provider.capabilities).toEqual({ deltas: false, readOnly: true, scope: "whole", ids: "key" })
      const first = yield* provider.snapshot
      expect(first.items.map((i) => i.ref)).toEqual(["a@feed.test"])
      const before = feed.requests.length
      const again = yield* provider.changes(Option.some(first.cursor))
      expect(again._tag).toBe("Unchanged")
      expect(feed.requests.length - before).toBe(1)
      const poll = feed.requests[feed.requests.length - 1]
      expect(poll?.status).toBe(304)
      expect(poll?.headers["if-none-match"]).toMatch(/^".+"$/)
      expect(poll?.headers["if-modified-since"]).toMatch(/GMT$/)
    })
  )

  live("with Last-Modified alone, If-Modified-Since gives the 304", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer({ validators: "last-modified" })
      feed.put(event("a@feed.test", "A"))
      const provider = yield* open(feed.feedUrl)
      const first = yield* provider.snapshot
      expect((yield* provider.changes(Option.some(first.cursor)))._tag).toBe("Unchanged")
      const poll = feed.requests[feed.requests.length - 1]
      expect(poll?.headers["if-none-match"]).toBeUndefined()
      expect(poll?.status).toBe(304)
    })
  )

  live("a server without validators that stamps every answer anew is still Unchanged, by content", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer({ validators: "none", stampEachRequest: true })
      feed.put(event("a@feed.test", "A"))
      const provider = yield* open(feed.feedUrl)
      const first = yield* provider.snapshot
      yield* Effect.sleep("1100 millis") // another second, another DTSTAMP
      const again = yield* provider.changes(Option.some(first.cursor))
      expect(feed.requests[feed.requests.length - 1]?.status).toBe(200)
      expect(again._tag).toBe("Unchanged")
      expect((yield* provider.snapshot).items).toEqual(first.items)
    })
  )

  live("a changed feed is a snapshot: a new version for the edited UID, the same for the rest", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      feed.put(event("a@feed.test", "A"))
      feed.put(event("b@feed.test", "B"))
      feed.put(event("c@feed.test", "C"))
      const provider = yield* open(feed.feedUrl)
      const first = yield* provider.snapshot
      const v = new Map(first.items.map((i) => [i.ref, i.version]))
      feed.put(event("a@feed.test", "A, moved", 11))
      feed.remove("c@feed.test")
      feed.put(event("d@feed.test", "D"))
      const next = snapshotOf(yield* provider.changes(Option.some(first.cursor)))
      const w = new Map(next.items.map((i) => [i.ref, i.version]))
      expect([...w.keys()].sort()).toEqual(["a@feed.test", "b@feed.test", "d@feed.test"])
      expect(w.get("a@feed.test")).not.toBe(v.get("a@feed.test"))
      expect(w.get("b@feed.test")).toBe(v.get("b@feed.test"))
      expect(next.cursor).not.toBe(first.cursor)
      const [a] = yield* provider.fetch(["a@feed.test"])
      expect(
        a?._tag === "Found" && Option.getOrNull(Option.flatMap(a.resource.master, (m) => m.summary))
      ).toBe("A, moved")
      expect((yield* provider.changes(Option.some(next.cursor)))._tag).toBe("Unchanged")
    })
  )

  live("a series is one item: its master and overrides, wherever the feed puts them", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      feed.putRaw(
        "override",
        [
          "BEGIN:VEVENT",
          "UID:series@feed.test",
          "DTSTAMP:20260101T000000Z",
          "RECURRENCE-ID:20261208T090000Z",
          "DTSTART:20261208T140000Z",
          "DTEND:20261208T150000Z",
          "SUMMARY:weekly, moved",
          "END:VEVENT"
        ].join("\r\n")
      )
      feed.put(event("between@feed.test", "between"))
      feed.putRaw(
        "master",
        [
          "BEGIN:VEVENT",
          "UID:series@feed.test",
          "DTSTAMP:20260101T000000Z",
          "DTSTART:20261201T090000Z",
          "DTEND:20261201T100000Z",
          "RRULE:FREQ=WEEKLY;COUNT=4",
          "SUMMARY:weekly",
          "BEGIN:VALARM",
          "UID:an-alarm-has-its-own-uid",
          "ACTION:DISPLAY",
          "TRIGGER:-PT10M",
          "END:VALARM",
          "END:VEVENT"
        ].join("\r\n")
      )
      const provider = yield* open(feed.feedUrl)
      const snap = yield* provider.snapshot
      expect(snap.items.map((i) => i.ref).sort()).toEqual(["between@feed.test", "series@feed.test"])
      const [series] = yield* provider.fetch(["series@feed.test"])
      if (series?._tag !== "Found") throw new Error(`expected Found, got ${series?._tag}`)
      expect(Option.isSome(series.resource.master)).toBe(true)
      expect(series.resource.overrides).toHaveLength(1)
    })
  )

  live("one malformed event is Bad with a reason, and the feed's other events are read", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      feed.put(event("good@feed.test", "good"))
      feed.putRaw(
        "bad-date",
        ["BEGIN:VEVENT", "UID:bad-date@feed.test", "DTSTART:next tuesday", "SUMMARY:x", "END:VEVENT"].join(
          "\r\n"
        )
      )
      // No END:VEVENT: cut at the next event, which is read as usual.
      feed.putRaw(
        "unclosed",
        ["BEGIN:VEVENT", "UID:unclosed@feed.test", "DTSTART:20261201T090000Z", "SUMMARY:never ends"].join(
          "\r\n"
        )
      )
      feed.put(event("after@feed.test", "after"))
      const provider = yield* open(feed.feedUrl)
      const snap = yield* provider.snapshot
      expect(snap.items.map((i) => i.ref).sort()).toEqual([
        "after@feed.test",
        "bad-date@feed.test",
        "good@feed.test",
        "unclosed@feed.test"
      ])
      const got = yield* provider.fetch(snap.items.map((i) => i.ref))
      const tags = Object.fromEntries(got.map((g) => [g.ref, g._tag]))
      expect(tags).toEqual({
        "good@feed.test": "Found",
        "bad-date@feed.test": "Bad",
        "unclosed@feed.test": "Bad",
        "after@feed.test": "Found"
      })
      const reasons = got.flatMap((g) => (g._tag === "Bad" ? [g.reason] : []))
      expect(reasons).toContainEqual(expect.stringContaining("no END:VEVENT"))
      expect(reasons.every((r) => r.length > 0)).toBe(true)
    })
  )

  live("an event without UID gets a synthetic ref from its content, the same on every read", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer({ validators: "none", stampEachRequest: true })
      const noUid = [
        "BEGIN:VEVENT",
        "DTSTAMP:20260101T000000Z",
        "DTSTART:20261201T090000Z",
        "DTEND:20261201T100000Z",
        "SUMMARY:no uid",
        "END:VEVENT"
      ]
      feed.putRaw("no-uid", noUid.join("\r\n"))
      const provider = yield* open(feed.feedUrl)
      const first = yield* provider.snapshot
      const [item] = first.items
      expect(item?.ref.startsWith(IcsFeedProvider.syntheticPrefix)).toBe(true)
      yield* Effect.sleep("1100 millis")
      const again = yield* open(feed.feedUrl).pipe(Effect.flatMap((p) => p.snapshot))
      expect(again.items).toEqual(first.items)
      const [got] = yield* provider.fetch([item?.ref ?? ""])
      expect(got?._tag === "Found" ? got.resource.uid : got?._tag).toBe(item?.ref)
      // another summary is another event to a feed without UIDs
      feed.putRaw("no-uid", noUid.join("\r\n").replace("no uid", "no uid, edited"))
      const edited = yield* provider.snapshot
      expect(edited.items[0]?.ref).not.toBe(item?.ref)
    })
  )

  live("a body that is no calendar fails the poll in words, never as an empty snapshot", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      feed.route("/login", (_req, res) => {
        res.writeHead(200, { "content-type": "text/html" })
        res.end("<!DOCTYPE html><html><body><form>Sign in</form></body></html>")
      })
      feed.route("/empty", (_req, res) => {
        res.writeHead(200, { "content-type": "text/calendar" })
        res.end()
      })
      feed.route("/cut", (_req, res) => {
        res.writeHead(200, { "content-type": "text/calendar" })
        res.end(feed.body().replace("END:VCALENDAR\r\n", ""))
      })
      feed.route("/json", (_req, res) => {
        res.writeHead(200, { "content-type": "application/json" })
        res.end('{"events": []}')
      })
      feed.put(event("a@feed.test", "A"))
      const cases: ReadonlyArray<readonly [string, RegExp]> = [
        ["/login", /web page .*iCalendar address/],
        ["/empty", /empty answer/],
        ["/cut", /cut off/],
        ["/json", /does not give iCalendar/]
      ]
      for (const [path, words] of cases) {
        const provider = yield* open(`${feed.origin}${path}`)
        const failed = yield* Effect.flip(provider.read)
        expect(failed.reason).toBe("not-icalendar")
        expect(failed.message).toMatch(words)
        const poll = yield* Effect.flip(provider.snapshot)
        expect(poll._tag).toBe("Transient")
        expect(poll._tag === "Transient" ? poll.detail : "").toMatch(words)
        expect((yield* Effect.flip(provider.fetch(["a@feed.test"])))._tag).toBe("Transient")
      }
      // A calendar with no events is a calendar: an empty snapshot (the engine's mass-delete stop
      // guards what follows).
      feed.remove("a@feed.test")
      expect((yield* (yield* open(feed.feedUrl)).snapshot).items).toEqual([])
    })
  )

  live("a feed larger than the limit is refused while it streams; the rest is never read", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      let sent = 0
      let finished: () => void = () => {}
      const sending = new Promise<void>((done) => {
        finished = done
      })
      feed.route("/endless", (_req, res) => {
        res.writeHead(200, { "content-type": "text/calendar" })
        const line = `${"X-FILLER:".padEnd(1023, "x")}\r\n`
        const chunk = `BEGIN:VCALENDAR\r\n${line.repeat(63)}`
        const pump = () => {
          // 64 MiB at most, in case the reader never stops
          while (sent < 64 * 1024 * 1024 && !res.destroyed) {
            sent += chunk.length
            if (!res.write(chunk)) return void res.once("drain", pump)
          }
          res.end()
          finished()
        }
        res.on("close", () => finished())
        pump()
      })
      feed.route("/declared", (_req, res) => {
        res.writeHead(200, { "content-type": "text/calendar", "content-length": String(30 * 1024 * 1024) })
        res.write("BEGIN:VCALENDAR\r\n")
      })
      const limit = 256 * 1024
      const failed = yield* Effect.flip((yield* open(`${feed.origin}/endless`, { maxBytes: limit })).read)
      expect(failed.reason).toBe("too-large")
      yield* Effect.promise(() => sending)
      // what the sockets buffer on the way, not the 64 MiB
      expect(sent).toBeLessThan(16 * 1024 * 1024)
      const declared = yield* Effect.flip((yield* open(`${feed.origin}/declared`, { maxBytes: limit })).read)
      expect(declared.reason).toBe("too-large")
      expect(declared.message).toMatch(/larger than/)
      // the default limit is the documented one
      expect(IcsFeedProvider.defaultMaxBytes).toBe(20 * 1024 * 1024)
    })
  )

  live("redirects are followed a bounded number of times, with the URL check before every hop", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      feed.put(event("a@feed.test", "A"))
      feed.route("/moved", (_req, res) => {
        res.writeHead(301, { location: "/also-moved" })
        res.end()
      })
      feed.route("/also-moved", (_req, res) => {
        res.writeHead(302, { location: `${feed.origin}/feed.ics` })
        res.end()
      })
      feed.route("/loop", (_req, res) => {
        res.writeHead(302, { location: "/loop" })
        res.end()
      })
      feed.route("/to-private", (_req, res) => {
        res.writeHead(307, { location: "/private/feed.ics" })
        res.end()
      })
      const checked: Array<string> = []
      const checkUrl = (url: URL) =>
        Effect.suspend(() => {
          checked.push(url.pathname)
          return url.pathname.startsWith("/private")
            ? Effect.fail({ reason: "a private address" })
            : Effect.void
        })
      const moved = yield* open(`${feed.origin}/moved`, { checkUrl })
      expect((yield* moved.snapshot).items.map((i) => i.ref)).toEqual(["a@feed.test"])
      expect(checked).toEqual(["/moved", "/also-moved", "/feed.ics"])
      const loop = yield* Effect.flip((yield* open(`${feed.origin}/loop`, { maxRedirects: 3 })).read)
      expect(loop.reason).toBe("too-many-redirects")
      expect(feed.requests.filter((r) => r.path === "/loop")).toHaveLength(4)
      const before = feed.requests.length
      const refused = yield* Effect.flip((yield* open(`${feed.origin}/to-private`, { checkUrl })).read)
      expect(refused.reason).toBe("refused-url")
      expect(refused.message).toMatch(/a private address/)
      // the refused hop was never asked for
      expect(feed.requests.slice(before).map((r) => r.path)).toEqual(["/to-private"])
    })
  )

  live(
    "HTTP failures are the engine's poll errors: 401 Unauthorized, 429 RateLimited, 404 and 5xx Transient",
    () =>
      Effect.gen(function* () {
        const feed = yield* feedServer()
        const answer = (status: number, headers: Record<string, string> = {}) => {
          feed.route(`/${status}`, (_req, res) => {
            res.writeHead(status, headers)
            res.end()
          })
          return open(`${feed.origin}/${status}`).pipe(Effect.flatMap((p) => Effect.flip(p.snapshot)))
        }
        expect((yield* answer(401))._tag).toBe("Unauthorized")
        expect((yield* answer(403))._tag).toBe("Unauthorized")
        const limited = yield* answer(429, { "retry-after": "120" })
        expect(limited._tag === "RateLimited" ? limited.retryAfterMillis : undefined).toBe(120_000)
        const gone = yield* answer(404)
        expect(gone._tag === "Transient" ? gone.detail : "").toMatch(/no feed at this address/)
        expect((yield* answer(502))._tag).toBe("Transient")
        const cursor = yield* Effect.flip((yield* open(feed.feedUrl)).changes(Option.some("not ours")))
        expect(cursor._tag).toBe("TokenInvalid")
      })
  )

  live("writes are Rejected, naming the feed", () =>
    Effect.gen(function* () {
      const feed = yield* feedServer()
      const provider = yield* open(feed.feedUrl)
      const r = event("a@feed.test", "A")
      const writes: ReadonlyArray<Effect.Effect<unknown, { readonly _tag: string }>> = [
        provider.create("k", r),
        provider.update("a", "v", r),
        provider.remove("a", "v")
      ]
      for (const write of writes) {
        const e = yield* Effect.flip(write)
        expect(e._tag).toBe("Rejected")
        expect(e).toBeInstanceOf(ProviderError.Rejected)
        expect(e instanceof ProviderError.Rejected ? e.detail : "").toMatch(/read-only/)
      }
      expect(feed.requests).toEqual([])
    })
  )
})

describe("IcsFeedProvider.subscription", () => {
  it("webcal:// and webcals:// are https://; the fragment goes", () => {
    const a = Either.getOrThrow(IcsFeedProvider.subscription(" webcal://example.com/cal.ics#x "))
    expect(a.url.href).toBe("https://example.com/cal.ics")
    expect(Option.isNone(a.auth)).toBe(true)
    expect(Either.getOrThrow(IcsFeedProvider.subscription("WEBCALS://example.com/c")).url.protocol).toBe(
      "https:"
    )
    expect(Either.getOrThrow(IcsFeedProvider.subscription("http://example.com/c.ics")).url.protocol).toBe(
      "http:"
    )
  })

  it("user:password@ becomes Basic credentials, Redacted, and leaves the URL", () => {
    const s = Either.getOrThrow(IcsFeedProvider.subscription("https://ann:s%40cret@example.com/private.ics"))
    expect(s.url.href).toBe("https://example.com/private.ics")
    const auth = Option.getOrThrow(s.auth)
    expect(auth.user).toBe("ann")
    expect(Redacted.value(auth.password)).toBe("s@cret")
    expect(String(auth.password)).not.toContain("s@cret")
    expect(JSON.stringify(s)).not.toContain("s@cret")
  })

  it("credentials over http://, other schemes and non-URLs are refused without echoing a password", () => {
    const http = IcsFeedProvider.subscription("http://ann:hunter2@example.com/c.ics")
    expect(Either.isLeft(http)).toBe(true)
    if (Either.isLeft(http)) {
      expect(http.left.reason).toBe("refused-url")
      expect(http.left.message).toMatch(/unencrypted; use https/)
      expect(http.left.message).not.toContain("hunter2")
    }
    const ftp = IcsFeedProvider.subscription("ftp://example.com/c.ics")
    expect(Either.isLeft(ftp) && ftp.left.message).toMatch(/not ftp:/)
    const junk = IcsFeedProvider.subscription("hunter2 is not a url")
    expect(Either.isLeft(junk) && junk.left.message).not.toContain("hunter2")
  })
})

// --- https: credentials go only over TLS, only to the subscribed origin -------------------------

const certificate = () => {
  const dir = mkdtempSync(join(tmpdir(), "almanac-ics-tls-"))
  const made = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem")
    ],
    { stdio: "ignore" }
  )
  if (made.status !== 0) throw new Error("openssl could not make a test certificate")
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }
}

describe("IcsFeedProvider over https", () => {
  it.live(
    "Basic credentials from the URL reach the feed over https, and not the origin a redirect leads to",
    () =>
      Effect.gen(function* () {
        const tls = certificate()
        const plain = yield* feedServer()
        plain.put(event("a@feed.test", "A"))
        const seen: Array<{ readonly path: string; readonly authorization: string | undefined }> = []
        const server = createHttpsServer(tls, (req, res) => {
          seen.push({ path: req.url ?? "", authorization: req.headers.authorization })
          if (req.headers.authorization !== `Basic ${Buffer.from("ann:s@cret").toString("base64")}`) {
            res.writeHead(401, { "www-authenticate": 'Basic realm="feed"' })
            return res.end()
          }
          if (req.url === "/elsewhere") {
            res.writeHead(302, { location: plain.feedUrl })
            return res.end()
          }
          res.writeHead(200, { "content-type": "text/calendar" })
          res.end(plain.body())
        })
        yield* Effect.acquireRelease(
          Effect.promise(() => new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))),
          () => Effect.promise(() => new Promise<void>((r) => server.close(() => r())))
        )
        const port = (server.address() as AddressInfo).port
        const trusted = NodeHttpClient.layerWithoutAgent.pipe(
          Layer.provide(NodeHttpClient.makeAgentLayer({ ca: tls.cert }))
        )
        const withAuth = (path: string, password: string) =>
          Effect.gen(function* () {
            const s = Either.getOrThrow(
              IcsFeedProvider.subscription(
                `webcals://ann:${encodeURIComponent(password)}@127.0.0.1:${port}${path}`
              )
            )
            expect(s.url.protocol).toBe("https:")
            return yield* IcsFeedProvider.make({ url: s.url, auth: Option.getOrUndefined(s.auth) })
          }).pipe(Effect.provide(trusted))

        const ok = yield* withAuth("/feed.ics", "s@cret")
        expect((yield* ok.snapshot).items.map((i) => i.ref)).toEqual(["a@feed.test"])
        const wrong = yield* Effect.flip((yield* withAuth("/feed.ics", "wrong")).snapshot)
        expect(wrong._tag).toBe("Unauthorized")
        const away = yield* withAuth("/elsewhere", "s@cret")
        expect((yield* away.snapshot).items.map((i) => i.ref)).toEqual(["a@feed.test"])
        const hop = plain.requests[plain.requests.length - 1]
        expect(hop?.path).toBe("/feed.ics")
        expect(hop?.headers.authorization).toBeUndefined()
      }).pipe(Effect.scoped, Effect.provide(http)),
    30_000
  )
})
