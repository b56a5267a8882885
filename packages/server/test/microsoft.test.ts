/**
 * Connecting Microsoft 365 through the server's HTTP surface, against the providers' Graph fake
 * (a FAKE of Graph's calendar API and the identity platform's OAuth v2.0 endpoints, see its
 * header — no real Microsoft here): POST /api/accounts/microsoft, the browser at the fake's
 * consent page and back at /oauth/microsoft/callback, the account listed with kind microsoft,
 * named from /me, its calendars' writable flags from canEdit; a state is single-use and belongs
 * to one service; rotated refresh tokens are sealed and used; a refused grant parks the account;
 * removal erases the tokens (Microsoft has no revocation endpoint) and says where to withdraw.
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { CalendarProvider } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, Schema } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as GraphFake from "../../providers/test/fakes/GraphFake.js"
import { Accounts } from "../src/store/Accounts.js"
import * as Chromium from "./support/Browser.js"
import * as TestServer from "./support/TestServer.js"

const Account = Schema.Struct({
  id: Schema.String,
  kind: Schema.String,
  name: Schema.String,
  username: Schema.String,
  status: Schema.Literal("ok", "needs-reauth"),
  lastError: Schema.NullOr(Schema.String)
})
const Calendar = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  name: Schema.NullOr(Schema.String),
  writable: Schema.Boolean
})

const calendars: ReadonlyArray<GraphFake.FakeCalendar> = [
  { id: "AAMk-calendar", name: "Calendar", canEdit: true, isDefaultCalendar: true },
  { id: "AAMk-team", name: "Team", canEdit: true },
  { id: "AAMk-holidays", name: "Holidays in Germany", canEdit: false }
]

const mailbox: GraphFake.FakeMailbox = {
  id: "00000000-0000-0000-0000-00000000a11e",
  displayName: "Ann Example",
  mail: "ann@contoso.example",
  userPrincipalName: "ann_contoso.example#EXT#@contoso.onmicrosoft.example"
}

const setup = (
  options: {
    readonly configured?: boolean
    readonly logs?: Array<string>
    /** The sign-in page on another site than the server (localhost against 127.0.0.1), as Microsoft's is. */
    readonly crossSite?: boolean
  } = {}
) =>
  Effect.gen(function* () {
    const fake = yield* Effect.acquireRelease(
      Effect.promise(() =>
        GraphFake.start({ calendars, mailbox, clientSecret: "ms-secret", strictRotation: true })
      ),
      (f) => Effect.promise(() => f.close())
    )
    const port = yield* Effect.promise(freePort)
    const server = yield* TestServer.start(
      {
        ALMANAC_PORT: String(port),
        ALMANAC_PUBLIC_URL: `http://127.0.0.1:${port}`,
        ALMANAC_MICROSOFT_AUTHORITY:
          options.crossSite === true
            ? fake.authorityUrl.replace("127.0.0.1", "localhost")
            : fake.authorityUrl,
        ALMANAC_GRAPH_URL: fake.apiUrl,
        ...(options.configured === false
          ? {}
          : {
              ALMANAC_MICROSOFT_CLIENT_ID: fake.clientId,
              ALMANAC_MICROSOFT_CLIENT_SECRET: fake.clientSecret ?? ""
            })
      },
      options.logs === undefined ? {} : { logs: options.logs }
    )
    const ann = yield* Effect.promise(() => server.createUser("Ann"))
    const call = (method: string, path: string, body?: unknown) =>
      Effect.promise(() =>
        server.request(method, path, body === undefined ? { token: ann.token } : { token: ann.token, body })
      )
    const get = (url: string) =>
      Effect.promise(async () => {
        const res = await fetch(url, { redirect: "manual" })
        return { status: res.status, location: res.headers.get("location") ?? "", text: await res.text() }
      })
    const start = call("POST", "/api/accounts/microsoft").pipe(
      Effect.flatMap((res) =>
        res.status === 200
          ? Schema.decodeUnknown(Schema.Struct({ authorizeUrl: Schema.String }))(res.body).pipe(Effect.orDie)
          : Effect.dieMessage(`POST /api/accounts/microsoft: ${res.status} ${JSON.stringify(res.body)}`)
      ),
      Effect.map((b) => b.authorizeUrl)
    )
    const accounts = call("GET", "/api/accounts").pipe(
      Effect.flatMap((res) => Schema.decodeUnknown(Schema.Array(Account))(res.body)),
      Effect.orDie
    )
    const storedRefreshToken = (accountId: string) =>
      TestServer.within(
        server,
        Effect.flatMap(Accounts, (a) => a.credential(accountId))
      ).pipe(
        Effect.orDie,
        Effect.map((c) =>
          Option.isSome(c) && c.value._tag === "oauth" ? Redacted.value(c.value.refreshToken) : ""
        )
      )
    return {
      fake,
      server,
      ann,
      call,
      get,
      start,
      accounts,
      storedRefreshToken,
      publicUrl: `http://127.0.0.1:${port}`
    }
  })

describe("connecting Microsoft 365", () => {
  it.scopedLive(
    "every calendar of one Microsoft account shares one adaptive write limit, keyed by the account",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        expect((yield* s.get(s.fake.consent(yield* s.start))).status).toBe(303)
        const [account] = yield* s.accounts
        if (account === undefined) return expect.fail("no account")
        const writeHosts = yield* TestServer.within(
          s.server,
          Effect.flatMap(CalendarProvider.ProviderRegistry, (registry) =>
            Effect.forEach(["AAMk-calendar", "AAMk-team"], (ref) =>
              registry
                .open({ ref, accountId: account.id, kind: "microsoft" })
                .pipe(Effect.map((p) => p.writeHost))
            )
          )
        ).pipe(Effect.orDie)
        expect(writeHosts).toEqual([`microsoft account ${account.id}`, `microsoft account ${account.id}`])
      })
  )

  it.scopedLive("without an app: a 503 that says how to register one and which redirect URI to add", () =>
    Effect.gen(function* () {
      const s = yield* setup({ configured: false })
      const res = yield* s.call("POST", "/api/accounts/microsoft")
      expect(res.status).toBe(503)
      const text = JSON.stringify(res.body)
      expect(text).toContain("App registrations")
      expect(text).toContain(`${s.publicUrl}/oauth/microsoft/callback`)
      expect(text).toContain("ALMANAC_MICROSOFT_CLIENT_ID")
    })
  )

  it.scopedLive(
    "through the redirect: the account named from /me with its calendars; a replay and a Google callback with its state fail; tokens only sealed",
    () =>
      Effect.gen(function* () {
        const s = yield* setup()
        const authorizeUrl = yield* s.start
        const asked = new URL(authorizeUrl)
        expect(asked.pathname).toBe("/common/oauth2/v2.0/authorize")
        expect(Object.fromEntries(asked.searchParams)).toMatchObject({
          client_id: s.fake.clientId,
          response_type: "code",
          response_mode: "query",
          redirect_uri: `${s.publicUrl}/oauth/microsoft/callback`,
          code_challenge_method: "S256"
        })
        expect(asked.searchParams.get("scope")?.split(" ").sort()).toEqual([
          "Calendars.ReadWrite",
          "User.Read",
          "offline_access"
        ])
        const callback = s.fake.consent(authorizeUrl)
        // The state belongs to the Microsoft flow: Google's callback does not take it.
        const elsewhere = yield* s.get(callback.replace("/oauth/microsoft/", "/oauth/google/"))
        expect(elsewhere.status).toBe(400)
        const done = yield* s.get(callback)
        expect(done.status, done.text).toBe(303)
        const [account, ...others] = yield* s.accounts
        expect(others).toEqual([])
        expect(account).toMatchObject({
          kind: "microsoft",
          username: "ann@contoso.example",
          name: "Microsoft (ann@contoso.example)",
          status: "ok"
        })
        if (account === undefined) return
        expect(done.location).toBe(`/accounts/${account.id}?notice=account-connected`)
        const listed = yield* s.call("GET", `/api/accounts/${account.id}/calendars`).pipe(
          Effect.flatMap((res) => Schema.decodeUnknown(Schema.Array(Calendar))(res.body)),
          Effect.orDie
        )
        expect(listed.map((c) => [c.url, c.name, c.writable]).sort()).toEqual([
          ["AAMk-calendar", "Calendar", true],
          ["AAMk-holidays", "Holidays in Germany", false],
          ["AAMk-team", "Team", true]
        ])
        // A replayed callback: the state was used.
        const replay = yield* s.get(callback)
        expect(replay.status).toBe(400)
        expect(replay.text).toContain("each one works only once")
        // Tokens are in the database only sealed.
        const file = join(s.server.dataDir, "almanac.db")
        const bytes = Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)))
        const refresh = yield* s.storedRefreshToken(account.id)
        expect(refresh).not.toBe("")
        expect(bytes.includes(Buffer.from(refresh))).toBe(false)
      })
  )

  it.scopedLive(
    "a rotated refresh token is sealed and used; a refused grant parks the account; removal erases the tokens and says where to withdraw",
    () =>
      Effect.gen(function* () {
        const logs: Array<string> = []
        const s = yield* setup({ logs })
        const done = yield* s.get(s.fake.consent(yield* s.start))
        expect(done.status).toBe(303)
        const [account] = yield* s.accounts
        if (account === undefined) return expect.fail("no account")
        const first = yield* s.storedRefreshToken(account.id)
        // The access token expires: looking again refreshes it; the identity platform rotates the
        // refresh token (and, strict here, refuses the old one), so the new one must be stored.
        s.fake.expireAccessTokens()
        expect((yield* s.call("POST", `/api/accounts/${account.id}/refresh`)).status).toBe(200)
        const second = yield* s.storedRefreshToken(account.id)
        expect(second).not.toBe(first)
        s.fake.expireAccessTokens()
        expect((yield* s.call("POST", `/api/accounts/${account.id}/refresh`)).status).toBe(200)
        expect(yield* s.storedRefreshToken(account.id)).not.toBe(second)

        // The person withdrew consent: the grant is refused and the account parked.
        s.fake.revokeGrants()
        s.fake.expireAccessTokens()
        const refused = yield* s.call("POST", `/api/accounts/${account.id}/refresh`)
        expect(refused.status).toBe(422)
        expect(JSON.stringify(refused.body)).toContain("Microsoft refused the stored access")
        const [parked] = yield* s.accounts
        expect(parked?.status).toBe("needs-reauth")
        // No password to set on it.
        const password = yield* s.call("PUT", `/api/accounts/${account.id}/password`, { password: "x" })
        expect(password.status).toBe(400)
        expect(JSON.stringify(password.body)).toContain(
          "connect Microsoft again (POST /api/accounts/microsoft)"
        )

        // Connected again: renewed, not doubled.
        const again = yield* s.get(s.fake.consent(yield* s.start))
        expect(again.location).toBe(`/accounts/${account.id}?notice=microsoft-renewed`)
        expect((yield* s.accounts).map((a) => a.status)).toEqual(["ok"])

        expect((yield* s.call("DELETE", `/api/accounts/${account.id}`)).status).toBe(204)
        expect(yield* s.accounts).toEqual([])
        expect(logs.join("\n")).toContain("myapps.microsoft.com")
      })
  )

  it.scopedLive(
    "in a browser: Connect Microsoft 365 on the accounts page, sign-in on another site, back on the account's page",
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
          const section = page.getByRole("region", { name: "Connect Microsoft 365" })
          await expect(section.textContent()).resolves.toContain("Calendars.ReadWrite")
          await section.getByLabel("Name on these pages (optional)").fill("Ann at work")
          await section.getByRole("button", { name: "Connect Microsoft 365" }).click()
          // The fake's sign-in page consents at once (a person clicking Accept), on another site.
          await page.waitForURL(/\/accounts\/[0-9a-f-]{36}\?notice=account-connected$/)
          await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Ann at work")
          await expect(page.getByRole("cell", { name: "Team", exact: true }).count()).resolves.toBe(1)
          await Chromium.screenshot(page, "microsoft-connected")
          expect((await page.context().cookies()).map((c) => c.name)).not.toContain("almanac_microsoft_flow")
        })
        expect(s.fake.authorizations).toHaveLength(1)
      }),
    60_000
  )
})
