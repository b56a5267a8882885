/**
 * Connecting Google through the server's HTTP surface, against the providers' Google fake (a FAKE
 * of Google's OAuth endpoints and Calendar API v3, see its header): POST /api/accounts/google, the
 * browser sent to the fake's consent page and back to /oauth/google/callback, the account listed
 * with kind google and its calendars' writable flags; the state rules (a replay, an expired state,
 * another user's browser, a pages-started flow without its browser cookie, a refused consent, a
 * code Google does not accept); tokens only sealed in the database; removal revokes at Google.
 * In headless Chromium, with the consent page on another site (localhost against 127.0.0.1): the
 * accounts page's form leads there (CSP form-action), and after a click on Allow there the flow
 * cookie (SameSite=Lax) finishes the flow and a page of ours brings the session back.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GoogleFake from "../../providers/test/fakes/GoogleFake.js"
import { AccountClients } from "../src/app/AccountClients.js"
import { Accounts } from "../src/store/Accounts.js"
import * as Chromium from "./support/Browser.js"
import * as TestServer from "./support/TestServer.js"

const Account = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("icloud", "caldav", "google"),
  name: Schema.String,
  username: Schema.String,
  status: Schema.Literal("ok", "needs-reauth")
})
const Calendar = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  name: Schema.NullOr(Schema.String),
  writable: Schema.Boolean
})

const calendars: ReadonlyArray<GoogleFake.FakeCalendar> = [
  {
    id: "ann@example.org",
    summary: "ann@example.org",
    timeZone: "Europe/Berlin",
    accessRole: "owner",
    primary: true
  },
  { id: "team@group.calendar.google.com", summary: "Team", timeZone: "Europe/Berlin", accessRole: "writer" },
  { id: "holidays@group.v.calendar.google.com", summary: "Holidays", timeZone: "UTC", accessRole: "reader" },
  { id: "boss@example.org", summary: "Boss", timeZone: "UTC", accessRole: "freeBusyReader" }
]

/** The fake (closed with the scope) and a server configured for it, with Ann and Bob. */
const setup = (
  options: {
    readonly configured?: boolean
    readonly logs?: Array<string>
    /** The consent page on another site than the server (localhost against 127.0.0.1), as Google is. */
    readonly crossSite?: boolean
  } = {}
) =>
  Effect.gen(function* () {
    const fake = yield* Effect.acquireRelease(
      Effect.promise(() => GoogleFake.start({ calendars })),
      (f) => Effect.promise(() => f.close())
    )
    const port = yield* Effect.promise(freePort)
    const publicUrl = `http://127.0.0.1:${port}`
    const server = yield* TestServer.start(
      {
        ALMANAC_PORT: String(port),
        ALMANAC_PUBLIC_URL: publicUrl,
        ALMANAC_GOOGLE_AUTH_URL:
          options.crossSite === true ? fake.authUrl.replace("127.0.0.1", "localhost") : fake.authUrl,
        ALMANAC_GOOGLE_TOKEN_URL: fake.tokenUrl,
        ALMANAC_GOOGLE_REVOKE_URL: fake.revokeUrl,
        ALMANAC_GOOGLE_API_URL: fake.apiUrl,
        ...(options.configured === false
          ? {}
          : { ALMANAC_GOOGLE_CLIENT_ID: fake.clientId, ALMANAC_GOOGLE_CLIENT_SECRET: fake.clientSecret })
      },
      options.logs === undefined ? {} : { logs: options.logs }
    )
    const { ann, bob } = yield* Effect.promise(async () => ({
      ann: await server.createUser("Ann"),
      bob: await server.createUser("Bob")
    }))
    return { fake, server, ann, bob, publicUrl }
  })

type Setup = Effect.Effect.Success<ReturnType<typeof setup>>

const get = (url: string, headers: Record<string, string> = {}) =>
  Effect.promise(async () => {
    const res = await fetch(url, { redirect: "manual", headers })
    return {
      status: res.status,
      location: res.headers.get("location") ?? "",
      text: await res.text(),
      headers: res.headers
    }
  })

/** POST /api/accounts/google as `token`; the authorization URL. */
const start = (s: Setup, token: string, body?: unknown) =>
  Effect.promise(() =>
    s.server.request("POST", "/api/accounts/google", { token, ...(body === undefined ? {} : { body }) })
  ).pipe(
    Effect.flatMap((res) =>
      res.status === 200
        ? Schema.decodeUnknown(Schema.Struct({ authorizeUrl: Schema.String }))(res.body).pipe(Effect.orDie)
        : Effect.dieMessage(`POST /api/accounts/google: ${res.status} ${JSON.stringify(res.body)}`)
    ),
    Effect.map((b) => b.authorizeUrl)
  )

/** The browser at Google's consent page (the fake allows at once): where Google sends it back. */
const consent = (authorizeUrl: string) =>
  Effect.map(get(authorizeUrl), (res) => {
    expect(res.status).toBe(302)
    return res.location
  })

const accountsOf = (s: Setup, token: string) =>
  Effect.promise(() => s.server.request("GET", "/api/accounts", { token })).pipe(
    Effect.flatMap((res) => Schema.decodeUnknown(Schema.Array(Account))(res.body)),
    Effect.orDie
  )

const calendarsOf = (s: Setup, token: string, accountId: string) =>
  Effect.promise(() => s.server.request("GET", `/api/accounts/${accountId}/calendars`, { token })).pipe(
    Effect.flatMap((res) => Schema.decodeUnknown(Schema.Array(Calendar))(res.body)),
    Effect.orDie
  )

const databaseText = (s: Setup) => {
  const file = join(s.server.dataDir, "almanac.db")
  return Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f))).toString(
    "latin1"
  )
}

const storedTokens = (s: Setup, accountId: string) =>
  TestServer.within(
    s.server,
    Effect.flatMap(Accounts, (a) => a.credential(accountId))
  ).pipe(
    Effect.orDie,
    Effect.map((c) => {
      if (Option.isNone(c) || c.value._tag !== "oauth") throw new Error("no OAuth tokens stored")
      return { access: Redacted.value(c.value.accessToken), refresh: Redacted.value(c.value.refreshToken) }
    })
  )

describe("connecting Google", () => {
  it.scopedLive(
    "through the redirect: the account with kind google, named by its primary calendar, calendars with writable",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        const authorizeUrl = yield* start(s, s.ann.token, { name: "Work Google" })
        const asked = new URL(authorizeUrl)
        expect(`${asked.origin}${asked.pathname}`).toBe(s.fake.authUrl)
        expect(Object.fromEntries(asked.searchParams)).toMatchObject({
          client_id: s.fake.clientId,
          response_type: "code",
          response_mode: "query",
          access_type: "offline",
          prompt: "consent",
          code_challenge_method: "S256",
          redirect_uri: `${s.publicUrl}/oauth/google/callback`
        })
        expect(asked.searchParams.get("scope")?.split(" ")).toContain(
          "https://www.googleapis.com/auth/calendar.events"
        )
        expect(asked.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/)
        const callback = yield* consent(authorizeUrl)
        expect(callback.startsWith(`${s.publicUrl}/oauth/google/callback?`)).toBe(true)
        // A plain browser GET with no cookie at all: the flow was started through the API.
        const done = yield* get(callback)
        expect(done.status).toBe(303)
        const [account, ...others] = yield* accountsOf(s, s.ann.token)
        expect(others).toEqual([])
        expect(account).toMatchObject({
          kind: "google",
          name: "Work Google",
          username: "ann@example.org",
          status: "ok"
        })
        if (account === undefined) return
        expect(done.location).toBe(`/accounts/${account.id}?notice=account-connected`)
        const listed = yield* calendarsOf(s, s.ann.token, account.id)
        expect(listed.map((c) => [c.url, c.name, c.writable]).sort()).toEqual([
          ["ann@example.org", "ann@example.org", true],
          ["holidays@group.v.calendar.google.com", "Holidays", false],
          ["team@group.calendar.google.com", "Team", true]
        ])
        // Bob sees none of it.
        expect(yield* accountsOf(s, s.bob.token)).toEqual([])

        // The tokens are in the database only sealed.
        const tokens = yield* storedTokens(s, account.id)
        expect(tokens.access).toMatch(/^ya29\./)
        const text = databaseText(s)
        expect(text).not.toContain(tokens.access)
        expect(text).not.toContain(tokens.refresh)

        // The same callback again (a replay) is refused in words, and connects nothing more.
        const replay = yield* get(callback)
        expect(replay.status).toBe(400)
        expect(replay.text).toContain("works only once")
        expect(yield* accountsOf(s, s.ann.token)).toHaveLength(1)

        // Connecting the same Google account again renews it: still one account.
        const again = yield* get(yield* consent(yield* start(s, s.ann.token)))
        expect(again.location).toBe(`/accounts/${account.id}?notice=google-renewed`)
        expect(yield* accountsOf(s, s.ann.token)).toHaveLength(1)
        const renewed = yield* storedTokens(s, account.id)
        expect(renewed.refresh).not.toBe(tokens.refresh)

        // Removal revokes at Google (the refresh token ends the grant) and erases the tokens here.
        const removed = yield* Effect.promise(() =>
          s.server.request("DELETE", `/api/accounts/${account.id}`, { token: s.ann.token })
        )
        expect(removed.status).toBe(204)
        expect(s.fake.revoked).toEqual([renewed.refresh])
        expect(yield* accountsOf(s, s.ann.token)).toEqual([])
        const after = databaseText(s)
        expect(after).not.toContain(renewed.access)
        expect(after).not.toContain(renewed.refresh)
      })
  )

  it.scopedLive("an empty body is fine, a bad one is a 400, and no token means 401", () =>
    Effect.gen(function* () {
      const s = yield* setup()
      const bare = yield* Effect.promise(() =>
        fetch(`${s.server.url}/api/accounts/google`, {
          method: "POST",
          headers: { authorization: `Bearer ${s.ann.token}` }
        })
      )
      expect(bare.status).toBe(200)
      const bad = yield* Effect.promise(() =>
        s.server.request("POST", "/api/accounts/google", { token: s.ann.token, body: { name: "" } })
      )
      expect(bad.status).toBe(400)
      expect(JSON.stringify(bad.body)).toContain("name: must not be empty")
      const anonymous = yield* Effect.promise(() => s.server.request("POST", "/api/accounts/google"))
      expect(anonymous.status).toBe(401)
      // The endpoint is in the OpenAPI document, with its answer.
      const openapi = yield* Effect.promise(() => s.server.request("GET", "/openapi.json"))
      expect(JSON.stringify(openapi.body)).toContain('"/api/accounts/google"')
      expect(JSON.stringify(openapi.body)).toContain("GoogleAuthorization")
    })
  )

  it.scopedLive("an expired state is refused, and so is a state from another provider's flow or none", () =>
    Effect.gen(function* () {
      const s = yield* setup()
      const callback = yield* consent(yield* start(s, s.ann.token))
      // Eleven minutes later, as far as the stored state knows.
      yield* TestServer.within(
        s.server,
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql`UPDATE oauth_states SET expires_at = expires_at - ${11 * 60_000}, created_at = created_at - ${11 * 60_000}`
        )
      ).pipe(Effect.orDie)
      const expired = yield* get(callback)
      expect(expired.status).toBe(400)
      expect(expired.text).toContain("longer than 10 minutes")
      const none = yield* get(`${s.publicUrl}/oauth/google/callback?code=4%2Fabc`)
      expect(none.status).toBe(400)
      expect(none.text).toContain("did not come from a Google sign-in that Almanac started")
      const madeUp = yield* get(`${s.publicUrl}/oauth/google/callback?code=4%2Fabc&state=made-up`)
      expect(madeUp.status).toBe(400)
      expect(yield* accountsOf(s, s.ann.token)).toEqual([])
    })
  )

  it.scopedLive(
    "Ann's flow cannot be finished in a browser signed in as Bob, and the state is then spent",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        const callback = yield* consent(yield* start(s, s.ann.token))
        const asBob = yield* get(callback, {
          cookie: yield* Effect.promise(() => s.server.sessionCookie(s.bob.token))
        })
        expect(asBob.status).toBe(403)
        expect(asBob.text).toContain("started by another Almanac user")
        expect(yield* accountsOf(s, s.bob.token)).toEqual([])
        expect(yield* accountsOf(s, s.ann.token)).toEqual([])
        const later = yield* get(callback)
        expect(later.status).toBe(400)
        expect(yield* accountsOf(s, s.ann.token)).toEqual([])
        // Signed in as Ann herself, her own flow finishes.
        const own = yield* get(yield* consent(yield* start(s, s.ann.token)), {
          cookie: yield* Effect.promise(() => s.server.sessionCookie(s.ann.token))
        })
        expect(own.status).toBe(303)
        expect(yield* accountsOf(s, s.ann.token)).toHaveLength(1)
      })
  )

  it.scopedLive("a flow started in the settings pages needs that browser's flow cookie", () =>
    Effect.gen(function* () {
      const s = yield* setup()
      const annCookie = yield* Effect.promise(() => s.server.sessionCookie(s.ann.token))
      const startInPages = Effect.promise(async () => {
        const res = await fetch(`${s.server.url}/accounts/google`, {
          method: "POST",
          redirect: "manual",
          headers: {
            "content-type": "application/x-www-form-urlencoded",
            origin: s.server.url,
            cookie: annCookie
          },
          body: "name=Home"
        })
        const setCookie = res.headers.get("set-cookie") ?? ""
        return { status: res.status, location: res.headers.get("location") ?? "", setCookie }
      })
      const first = yield* startInPages
      expect(first.status).toBe(303)
      expect(first.location.startsWith(s.fake.authUrl)).toBe(true)
      expect(first.setCookie).toMatch(/^almanac_google_flow=[A-Za-z0-9_-]{43};/)
      expect(first.setCookie).toContain("Path=/oauth/google/callback")
      expect(first.setCookie).toContain("HttpOnly")
      expect(first.setCookie).toContain("SameSite=Lax")
      expect(first.setCookie).toContain("Max-Age=600")
      // Back without the cookie (another browser, or someone who got hold of the link): refused.
      const elsewhere = yield* get(yield* consent(first.location), {
        cookie: yield* Effect.promise(() => s.server.sessionCookie(s.ann.token))
      })
      expect(elsewhere.status).toBe(403)
      expect(elsewhere.text).toContain("started in another browser")
      expect(yield* accountsOf(s, s.ann.token)).toEqual([])
      // With another flow's cookie: refused too.
      const second = yield* startInPages
      const third = yield* startInPages
      const cookieOf = (setCookie: string) => setCookie.split(";")[0] ?? ""
      const swapped = yield* get(yield* consent(second.location), { cookie: cookieOf(third.setCookie) })
      expect(swapped.status).toBe(403)
      // The same browser, with its cookie: connected, named as asked, and the cookie cleared.
      const back = yield* get(yield* consent(third.location), { cookie: cookieOf(third.setCookie) })
      // Back from Google without the (Strict) session cookie: a page of ours takes the browser on,
      // so that the account's page gets the session again.
      expect(back.status).toBe(200)
      expect(back.headers.get("set-cookie")).toMatch(/^almanac_google_flow=;/)
      const accounts = yield* accountsOf(s, s.ann.token)
      expect(accounts.map((a) => [a.kind, a.name])).toEqual([["google", "Home"]])
      expect(back.text).toContain(
        `<meta http-equiv="refresh" content="0; url=/accounts/${accounts[0]?.id}?notice=account-connected">`
      )
    })
  )

  it.scopedLive("a refused consent and a code Google does not accept end on a page that says so", () =>
    Effect.gen(function* () {
      const s = yield* setup()
      const stateOf = (url: string) => new URL(url).searchParams.get("state") ?? ""
      const denied = yield* get(
        `${s.publicUrl}/oauth/google/callback?error=access_denied&state=${encodeURIComponent(stateOf(yield* start(s, s.ann.token)))}`
      )
      expect(denied.status).toBe(400)
      expect(denied.text).toContain("Google says access was not allowed")
      const callback = new URL(yield* consent(yield* start(s, s.ann.token)))
      callback.searchParams.set("code", "4/not-a-code-google-gave")
      const refused = yield* get(callback.href)
      expect(refused.status).toBe(400)
      expect(refused.text).toContain("did not accept the sign-in code")
      expect(yield* accountsOf(s, s.ann.token)).toEqual([])
    })
  )

  it.scopedLive(
    "the accounts page offers Google with what it asks for, and allows its form to lead there",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        const page = yield* get(`${s.server.url}/accounts`, {
          cookie: yield* Effect.promise(() => s.server.sessionCookie(s.ann.token))
        })
        expect(page.status).toBe(200)
        expect(page.text).toContain('<form method="post" action="/accounts/google">')
        expect(page.text).toContain("see your calendars and create, change and delete their events")
        expect(page.headers.get("content-security-policy")).toContain(
          `form-action 'self' ${new URL(s.fake.authUrl).origin};`
        )
      })
  )

  it.scopedLive("without a client id, the API and the page say how to create one", () =>
    Effect.gen(function* () {
      const s = yield* setup({ configured: false })
      const res = yield* Effect.promise(() =>
        s.server.request("POST", "/api/accounts/google", { token: s.ann.token })
      )
      expect(res.status).toBe(503)
      const message = JSON.stringify(res.body)
      for (const words of [
        "Google Cloud console",
        "APIs & Services → Credentials",
        "OAuth client ID",
        "Web application",
        `${s.publicUrl}/oauth/google/callback`,
        "Google Calendar API"
      ])
        expect(message).toContain(words)
      const page = yield* get(`${s.server.url}/accounts`, {
        cookie: yield* Effect.promise(() => s.server.sessionCookie(s.ann.token))
      })
      expect(page.text).toContain("APIs &amp; Services → Credentials")
      expect(page.text).not.toContain('action="/accounts/google"')
      expect(page.headers.get("content-security-policy")).toContain("form-action 'self';")
    })
  )

  it.scopedLive(
    "looking again refreshes an expired access token (stored sealed at once); a revoked grant parks the account until it is connected again",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        yield* get(yield* consent(yield* start(s, s.ann.token)))
        const [account] = yield* accountsOf(s, s.ann.token)
        if (account === undefined) return yield* Effect.dieMessage("not connected")
        const before = yield* storedTokens(s, account.id)
        const call = (method: string, path: string, body?: unknown) =>
          Effect.promise(() =>
            s.server.request(method, path, { token: s.ann.token, ...(body === undefined ? {} : { body }) })
          )
        // Google no longer takes the access token (it expired early): refreshed, stored, and listed.
        s.fake.expireAccessTokens()
        s.fake.addCalendar({
          id: "new@group.calendar.google.com",
          summary: "New",
          timeZone: "UTC",
          accessRole: "owner"
        })
        const refreshed = yield* call("POST", `/api/accounts/${account.id}/refresh`)
        expect(refreshed.status).toBe(200)
        expect(JSON.stringify(refreshed.body)).toContain("new@group.calendar.google.com")
        const after = yield* storedTokens(s, account.id)
        expect(after.access).not.toBe(before.access)
        expect(after.refresh).toBe(before.refresh)
        expect(databaseText(s)).not.toContain(after.access)
        // A Google account has no password to change.
        const password = yield* call("PUT", `/api/accounts/${account.id}/password`, { password: "x" })
        expect(password.status).toBe(400)
        expect(JSON.stringify(password.body)).toContain("connect Google again")
        // The person revoked Almanac's access at Google: the refresh is refused, the account parked.
        s.fake.revokeRefreshTokens()
        s.fake.expireAccessTokens()
        const refused = yield* call("POST", `/api/accounts/${account.id}/refresh`)
        expect(refused.status).toBe(422)
        expect(JSON.stringify(refused.body)).toContain("Google refused the stored access")
        expect((yield* accountsOf(s, s.ann.token))[0]?.status).toBe("needs-reauth")
        // Connecting it again renews it: healthy, same account.
        const again = yield* get(yield* consent(yield* start(s, s.ann.token)))
        expect(again.location).toBe(`/accounts/${account.id}?notice=google-renewed`)
        expect(yield* accountsOf(s, s.ann.token)).toMatchObject([{ id: account.id, status: "ok" }])
      })
  )

  it.scopedLive(
    "the engine's way in: a Calendar API client over the stored tokens, refreshing and storing them",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        yield* get(yield* consent(yield* start(s, s.ann.token)))
        const [account] = yield* accountsOf(s, s.ann.token)
        if (account === undefined) return yield* Effect.dieMessage("not connected")
        const before = yield* storedTokens(s, account.id)
        s.fake.expireAccessTokens()
        const listed = yield* TestServer.within(
          s.server,
          Effect.flatMap(AccountClients, (c) => c.googleClientFor(account.id)).pipe(
            Effect.flatMap((client) => client.calendarList)
          )
        ).pipe(Effect.orDie)
        expect(listed.map((c) => c.id)).toContain("team@group.calendar.google.com")
        const after = yield* storedTokens(s, account.id)
        expect(after.access).not.toBe(before.access)
      })
  )

  it.scopedLive("no log line holds a token, a code, a state or the client secret", () =>
    Effect.gen(function* () {
      const logs: Array<string> = []
      const s = yield* setup({ logs })
      const authorizeUrl = yield* start(s, s.ann.token)
      const callback = new URL(yield* consent(authorizeUrl))
      expect((yield* get(callback.href)).status).toBe(303)
      const [account] = yield* accountsOf(s, s.ann.token)
      if (account === undefined) return yield* Effect.dieMessage("not connected")
      const tokens = yield* storedTokens(s, account.id)
      yield* Effect.promise(() =>
        s.server.request("DELETE", `/api/accounts/${account.id}`, { token: s.ann.token })
      )
      const text = logs.join("\n")
      // The callback's request was logged, without its query.
      const line = logs.find((l) => l.includes("http.url=/oauth/google/callback"))
      expect(line).toContain("http.status=303")
      expect(line).not.toMatch(/callback\?/)
      for (const secret of [
        tokens.access,
        tokens.refresh,
        callback.searchParams.get("code") ?? "missing",
        callback.searchParams.get("state") ?? "missing",
        new URL(authorizeUrl).searchParams.get("code_challenge") ?? "missing",
        s.fake.clientSecret
      ])
        expect(text).not.toContain(secret)
    })
  )

  it.scopedLive(
    "in a browser: Connect Google on the accounts page, consent on another site, back on the account's page",
    () =>
      Effect.gen(function* () {
        const s = yield* setup({ crossSite: true })
        const browser = yield* Chromium.launch
        yield* Effect.promise(async () => {
          const page = await Chromium.newPage(browser)
          await page.goto(`${s.server.url}/`)
          await page.getByLabel("API token").fill(s.ann.token)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.waitForURL(`${s.server.url}/`)
          await page.goto(`${s.server.url}/accounts`)
          await page
            .getByRole("region", { name: "Connect Google" })
            .getByLabel("Name on these pages (optional)")
            .fill("Ann's Google")
          await page.getByRole("button", { name: "Connect Google" }).click()
          await page.waitForURL(/\/accounts\/[0-9a-f-]{36}\?notice=account-connected$/)
          await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Ann's Google")
          await expect(page.getByRole("status").textContent()).resolves.toContain("Account connected")
          await expect(page.getByRole("cell", { name: "Team", exact: true }).count()).resolves.toBe(1)
          await Chromium.screenshot(page, "google-connected")
          // The flow cookie was used and cleared.
          expect((await page.context().cookies()).map((c) => c.name)).not.toContain("almanac_google_flow")
        })
        expect(s.fake.authorizations).toHaveLength(1)
      }),
    60_000
  )

  it.scopedLive(
    "in a browser: the person clicks Allow on the consent page (another site), and the flow cookie brings the browser home",
    () =>
      Effect.gen(function* () {
        const s = yield* setup({ crossSite: true })
        const browser = yield* Chromium.launch
        yield* Effect.promise(async () => {
          const page = await Chromium.newPage(browser)
          await page.goto(`${s.server.url}/`)
          await page.getByLabel("API token").fill(s.ann.token)
          await page.getByRole("button", { name: "Sign in" }).click()
          await page.waitForURL(`${s.server.url}/`)
          // Google's consent page waits for a click on Allow (the fake would redirect at once), so the
          // way back is a navigation that Google's site starts: the session cookie (Strict) stays home.
          await page.route(`${s.server.url}/accounts/google`, async (route) => {
            const answer = await route.fetch({ maxRedirects: 0 })
            const headers = answer.headers()
            await route.fulfill({
              status: 200,
              headers: { "content-type": "text/html", "set-cookie": headers["set-cookie"] ?? "" },
              body: `<!doctype html><a href="${(headers.location ?? "").replace(/&/g, "&amp;")}">To Google</a>`
            })
          })
          const consentOrigin = new URL(s.fake.authUrl.replace("127.0.0.1", "localhost")).origin
          await page.route(`${consentOrigin}/**`, async (route) => {
            const answer = await fetch(route.request().url().replace("localhost", "127.0.0.1"), {
              redirect: "manual"
            })
            const back = (answer.headers.get("location") ?? "").replace(/&/g, "&amp;")
            await route.fulfill({
              contentType: "text/html",
              body: `<!doctype html><a href="${back}">Allow</a>`
            })
          })
          await page.goto(`${s.server.url}/accounts`)
          await page.getByRole("button", { name: "Connect Google" }).click()
          await page.getByRole("link", { name: "To Google" }).click()
          await page.getByRole("link", { name: "Allow" }).click()
          await page.waitForURL(/\/accounts\/[0-9a-f-]{36}\?notice=account-connected$/)
          await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toMatch(/^Google \(/)
          await expect(page.getByRole("status").textContent()).resolves.toContain("Account connected")
        })
        const accounts = yield* accountsOf(s, s.ann.token)
        expect(accounts.map((a) => a.kind)).toEqual(["google"])
      }),
    60_000
  )
})
