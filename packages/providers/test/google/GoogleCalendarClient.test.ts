/**
 * The Google client and the OAuth pieces against the Google fake (test/fakes/GoogleFake.ts):
 * paging, sync tokens, 410, 412, 409, rate limits with Retry-After, 401 → refresh → retry,
 * invalid_grant → Unauthorized, and never an invitation.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { GoogleCalendarClient, GoogleOAuth, OAuthTokenSource } from "../../src/index.js"
import { REDIRECT, wired } from "./support.js"

const CAL = "me@example.org"

const event = (id: string, day: number, extra: Record<string, unknown> = {}) => ({
  id,
  summary: `event ${id}`,
  start: { dateTime: `2026-12-${String(day).padStart(2, "0")}T10:00:00`, timeZone: "Europe/Berlin" },
  end: { dateTime: `2026-12-${String(day).padStart(2, "0")}T11:00:00`, timeZone: "Europe/Berlin" },
  ...extra
})

describe("GoogleCalendarClient against the Google fake", () => {
  it.scoped("lists calendars over several pages; the access role decides writable", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired({ pageSize: 2 })
      fake.addCalendar({ id: "team@example.org", summary: "Team", timeZone: "UTC", accessRole: "writer" })
      fake.addCalendar({ id: "holidays", summary: "Holidays", timeZone: "UTC", accessRole: "reader" })
      fake.addCalendar({
        id: "boss@example.org",
        summary: "Boss",
        timeZone: "UTC",
        accessRole: "freeBusyReader"
      })
      const list = yield* client.calendarList
      expect(list.map((c) => [c.id, c.writable, c.primary])).toEqual([
        [CAL, true, true],
        ["team@example.org", true, false],
        ["holidays", false, false],
        ["boss@example.org", false, false]
      ])
      expect(fake.apiRequestCount((r) => r.path.endsWith("/calendarList"))).toBe(2)
    })
  )

  it.scoped(
    "follows every page of a full listing, keeps the last page's sync token, and polls with it alone",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired({ pageSize: 3 })
        for (let i = 1; i <= 8; i++) yield* client.insert(CAL, event(`evt${i}0000`, i))
        fake.resetLog()
        const full = yield* client.listAll(CAL)
        expect(full.items).toHaveLength(8)
        expect(Option.isSome(full.nextSyncToken)).toBe(true)
        expect(fake.apiRequestCount()).toBe(3)
        expect(fake.requests.every((r) => r.query.singleEvents === "false")).toBe(true)
        fake.resetLog()
        const idle = yield* client.listChanges(CAL, Option.getOrThrow(full.nextSyncToken))
        expect(idle.items).toEqual([])
        expect(fake.apiRequestCount()).toBe(1)
        const sent = fake.requests[0]?.query ?? {}
        expect(Object.keys(sent).sort()).toEqual(["maxResults", "singleEvents", "syncToken"])
        fake.edit(CAL, "evt30000", { summary: "changed" })
        const delta = yield* client.listChanges(CAL, Option.getOrThrow(full.nextSyncToken))
        expect(delta.items.map((i) => i.id)).toEqual(["evt30000"])
        fake.expireSyncTokens()
        const expired = yield* Effect.flip(client.listChanges(CAL, Option.getOrThrow(delta.nextSyncToken)))
        expect(expired._tag).toBe("TokenInvalid")
      })
  )

  it.scoped(
    "inserts under a client id (409 duplicate is AlreadyExists), updates and deletes with If-Match",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        const created = yield* client.insert(CAL, event("abc00000", 1))
        const again = yield* Effect.flip(client.insert(CAL, event("abc00000", 1)))
        expect(again).toMatchObject({ _tag: "AlreadyExists", ref: "abc00000" })
        const updated = yield* client.update(CAL, "abc00000", event("abc00000", 2), Option.some(created.etag))
        expect(updated.etag).not.toBe(created.etag)
        const stale = yield* Effect.flip(
          client.update(CAL, "abc00000", event("abc00000", 3), Option.some(created.etag))
        )
        expect(stale._tag).toBe("EtagMismatch")
        const staleDelete = yield* Effect.flip(client.remove(CAL, "abc00000", Option.some(created.etag)))
        expect(staleDelete._tag).toBe("EtagMismatch")
        yield* client.remove(CAL, "abc00000", Option.some(updated.etag))
        // Deleted already: Google answers 410, which is what we wanted.
        yield* client.remove(CAL, "abc00000", Option.some(updated.etag))
        expect(fake.requests.filter((r) => r.method === "DELETE").map((r) => r.ifMatch)).toEqual([
          created.etag,
          updated.etag,
          updated.etag
        ])
        const missing = yield* Effect.flip(client.get(CAL, "nothere00"))
        expect(missing._tag).toBe("NotFound")
        const badId = yield* Effect.flip(client.insert(CAL, event("NOT-BASE32", 1)))
        expect(badId._tag).toBe("Rejected")
      })
  )

  it.scoped("never has Google send an invitation: every write carries sendUpdates=none", () =>
    Effect.gen(function* () {
      const { fake, client } = yield* wired()
      const guests = { attendees: [{ email: "ana@example.org" }] }
      const a = yield* client.insert(CAL, event("guest0000", 1, guests))
      const b = yield* client.update(CAL, "guest0000", event("guest0000", 2, guests), Option.some(a.etag))
      const c = yield* client.patch(CAL, "guest0000", { summary: "x" }, Option.some(b.etag))
      yield* client.remove(CAL, "guest0000", Option.some(c.etag))
      const writes = fake.requests.filter((r) => r.method !== "GET")
      expect(writes).toHaveLength(4)
      expect(writes.every((r) => r.query.sendUpdates === "none")).toBe(true)
      expect(fake.invitations).toEqual([])
    })
  )

  it.scoped(
    "turns 429 and rate-limit 403s into RateLimited (Retry-After honoured) and 5xx into Transient",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        fake.failNext(1, { status: 429, reason: "rateLimitExceeded", retryAfter: "7" })
        fake.failNext(1, { status: 403, reason: "userRateLimitExceeded" })
        fake.failNext(1, { status: 403, reason: "rateLimitExceeded", retryAfter: "2" })
        fake.failNext(1, { status: 500, reason: "backendError" })
        const errors = []
        for (let i = 0; i < 4; i++) errors.push(yield* Effect.flip(client.listAll(CAL)))
        expect(errors.map((e) => [e._tag, "retryAfterMillis" in e ? e.retryAfterMillis : undefined])).toEqual(
          [
            ["RateLimited", 7000],
            ["RateLimited", undefined],
            ["RateLimited", 2000],
            ["Transient", undefined]
          ]
        )
        expect((yield* client.listAll(CAL)).items).toEqual([])
      })
  )

  it.scoped("refreshes once on a 401 and retries; the refreshed tokens are reported for sealing", () =>
    Effect.gen(function* () {
      const { fake, client, sealed } = yield* wired()
      fake.expireAccessTokens()
      fake.resetLog()
      const list = yield* client.listAll(CAL)
      expect(list.items).toEqual([])
      expect(fake.requests.map((r) => r.path)).toEqual([
        "/calendar/v3/calendars/me%40example.org/events",
        "/token",
        "/calendar/v3/calendars/me%40example.org/events"
      ])
      expect(sealed).toHaveLength(1)
      // The refresh token is kept (Google does not rotate it), the access token is new.
      expect(Redacted.value(sealed[0]?.refreshToken ?? Redacted.make(""))).toMatch(/^1\/\//)
    })
  )

  it.scoped("requests that meet a 401 together share one refresh", () =>
    Effect.gen(function* () {
      const { fake, client, sealed } = yield* wired()
      fake.expireAccessTokens()
      fake.resetLog()
      const lists = yield* Effect.all(
        Array.from({ length: 5 }, () => client.listAll(CAL)),
        { concurrency: "unbounded" }
      )
      expect(lists).toHaveLength(5)
      expect(fake.requests.filter((r) => r.path === "/token")).toHaveLength(1)
      expect(sealed).toHaveLength(1)
    })
  )

  it.scoped("refreshes before expiry, without a 401 first", () =>
    Effect.gen(function* () {
      const { fake, client, sealed } = yield* wired({ expiresInMillis: 60_000 })
      yield* client.listAll(CAL)
      expect(fake.requests.map((r) => r.path)).toEqual([
        "/token",
        "/calendar/v3/calendars/me%40example.org/events"
      ])
      expect(sealed).toHaveLength(1)
      yield* client.listAll(CAL)
      expect(sealed).toHaveLength(1)
    })
  )

  it.scoped(
    "a refused refresh token (invalid_grant) is Unauthorized; an expiring access token alone never is",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        fake.expireAccessTokens()
        yield* client.listAll(CAL)
        fake.revokeRefreshTokens()
        fake.expireAccessTokens()
        const refused = yield* Effect.flip(client.listAll(CAL))
        expect(refused).toMatchObject({
          _tag: "Unauthorized",
          detail: "Google refused the refresh token (invalid_grant)"
        })
      })
  )

  it.scoped("asks freeBusy.query for busy blocks", () =>
    Effect.gen(function* () {
      const { client } = yield* wired()
      yield* client.insert(CAL, event("bbb000000", 3))
      yield* client.insert(CAL, event("fff000000", 4, { transparency: "transparent" }))
      const answer = yield* client.freeBusy({
        timeMin: new Date("2026-12-01T00:00:00Z"),
        timeMax: new Date("2026-12-10T00:00:00Z"),
        calendars: [CAL, "unknown@example.org"]
      })
      expect(answer.get(CAL)?.busy).toEqual([
        { start: new Date("2026-12-03T09:00:00Z"), end: new Date("2026-12-03T10:00:00Z") }
      ])
      expect(answer.get("unknown@example.org")?.errors).toEqual(["notFound"])
    })
  )
})

describe("Google push channels against the Google fake", () => {
  it.scoped(
    "watch opens a channel (sync first, then a message per change, token echoed); stop closes it",
    () =>
      Effect.gen(function* () {
        const { fake, client } = yield* wired()
        const received: Array<Record<string, string | undefined>> = []
        const receiver = yield* Effect.acquireRelease(
          Effect.promise(
            () =>
              new Promise<Http.Server>((resolve) => {
                const server = Http.createServer((req, res) => {
                  const h = req.headers
                  const one = (k: string) => (typeof h[k] === "string" ? h[k] : undefined)
                  received.push({
                    id: one("x-goog-channel-id"),
                    token: one("x-goog-channel-token"),
                    state: one("x-goog-resource-state"),
                    number: one("x-goog-message-number")
                  })
                  res.writeHead(200)
                  res.end()
                })
                server.listen(0, "127.0.0.1", () => resolve(server))
              })
          ),
          (s) => Effect.promise(() => new Promise<void>((done) => s.close(() => done())))
        )
        const address = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/push/google`
        const refused = yield* Effect.flip(
          client.watch(CAL, { id: "ch-0", address: "http://push.example.org/x", token: Redacted.make("t") })
        )
        expect(refused._tag).toBe("Rejected")
        const channel = yield* client.watch(CAL, { id: "ch-1", address, token: Redacted.make("secret-1") })
        expect(channel.expiration).toBeGreaterThan(Date.now())
        yield* Effect.promise(() => fake.pushesSettled())
        yield* client.insert(CAL, event("push00000", 1))
        yield* Effect.promise(() => fake.pushesSettled())
        expect(received).toEqual([
          { id: "ch-1", token: "secret-1", state: "sync", number: "1" },
          { id: "ch-1", token: "secret-1", state: "exists", number: "2" }
        ])
        yield* client.stopChannel(channel)
        yield* client.insert(CAL, event("push00001", 2))
        yield* Effect.promise(() => fake.pushesSettled())
        expect(received).toHaveLength(2)
        expect(fake.channels()).toEqual([])
      })
  )
})

describe("GoogleOAuth against the Google fake", () => {
  it.scoped("authorizes with PKCE, offline access, consent and query response mode; exchanges; revokes", () =>
    Effect.gen(function* () {
      const { fake, oauth } = yield* wired()
      const pending = yield* oauth.authorize
      const url = new URL(pending.url)
      expect(Object.fromEntries(url.searchParams)).toMatchObject({
        client_id: fake.clientId,
        redirect_uri: REDIRECT,
        response_type: "code",
        response_mode: "query",
        scope: GoogleOAuth.SCOPE_CALENDAR,
        access_type: "offline",
        prompt: "consent",
        code_challenge_method: "S256",
        state: pending.state
      })
      const redirect = yield* Effect.promise(() => fetch(url, { redirect: "manual" }))
      const callback = new URL(redirect.headers.get("location") ?? "")
      const wrongState = yield* Effect.flip(oauth.exchange(callback, { ...pending, state: "other" }))
      expect(wrongState).toMatchObject({ _tag: "OAuthError", service: "Google", operation: "callback" })
      const tokens = yield* oauth.exchange(callback, pending)
      expect(Redacted.value(tokens.accessToken)).toMatch(/^ya29\./)
      expect(tokens.scope).toBe(GoogleOAuth.SCOPE_CALENDAR)
      // A code is good once.
      const reused = yield* Effect.flip(oauth.exchange(callback, pending))
      expect(reused).toMatchObject({ operation: "exchange", error: "invalid_grant" })
      const denied = yield* Effect.flip(
        oauth.exchange(new URL(`${REDIRECT}?error=access_denied&state=${pending.state}`), pending)
      )
      expect(denied).toMatchObject({ operation: "callback", error: "access_denied" })
      yield* Option.getOrThrow(oauth.revoke)(tokens.refreshToken)
      expect(fake.revoked).toEqual([Redacted.value(tokens.refreshToken)])
      const after = yield* Effect.flip(oauth.refresh(tokens.refreshToken))
      expect(after).toMatchObject({ operation: "refresh", error: "invalid_grant" })
    })
  )

  it("allows plain http:// only on loopback", () => {
    const ok = (u: string) => Either.isRight(GoogleOAuth.checkEndpoint("X", u))
    expect(ok("https://oauth2.googleapis.com/token")).toBe(true)
    expect(ok("http://127.0.0.1:8080/token")).toBe(true)
    expect(ok("http://[::1]:8080/token")).toBe(true)
    expect(ok("http://localhost/token")).toBe(true)
    expect(ok("http://oauth2.googleapis.com/token")).toBe(false)
    expect(ok("http://10.0.0.1/token")).toBe(false)
    expect(ok("http://127.example.org/token")).toBe(false)
    expect(ok("ftp://127.0.0.1/token")).toBe(false)
    const refused = GoogleOAuth.checkEndpoint("ALMANAC_GOOGLE_TOKEN_URL", "http://proxy.example.org/token")
    expect(Either.isLeft(refused) ? refused.left.message : "").toBe(
      "ALMANAC_GOOGLE_TOKEN_URL http://proxy.example.org/token: must be https:// (plain http:// is allowed on a loopback address only)"
    )
    expect(
      Either.isLeft(
        GoogleOAuth.make({
          clientId: "c",
          clientSecret: Redacted.make("s"),
          redirectUri: REDIRECT,
          tokenUrl: "http://example.org/t"
        })
      )
    ).toBe(true)
  })

  it.effect("the calendar client refuses a plain http:// API URL off loopback", () =>
    Effect.gen(function* () {
      const tokens = yield* OAuthTokenSource.make({
        oauth: { refresh: () => Effect.die("unused") },
        account: "a",
        initial: {
          accessToken: Redacted.make("t"),
          refreshToken: Redacted.make("r"),
          expiresAt: Date.now() + 3_600_000
        },
        onRefresh: () => Effect.void
      })
      const refused = yield* Effect.flip(
        GoogleCalendarClient.make({ tokens, apiUrl: "http://www.googleapis.com/calendar/v3", account: "a" })
      )
      expect(refused._tag).toBe("EndpointRefused")
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
  )
})
