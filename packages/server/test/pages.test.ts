/**
 * The settings pages in headless Chromium against the whole server: signing in with a token,
 * connecting a CalDAV account on a real server, creating a sync and watching its status change.
 * Also what the pages must refuse: forms from other sites, pages without a session, and markup
 * in anything a person or a server supplied.
 */
import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import { EventModel } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import type { Browser, Locator, Page } from "playwright-core"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import * as Chromium from "./support/Browser.js"
import * as TestServer from "./support/TestServer.js"

/** Signs in through the form, as a person pasting their token would. */
const signIn = async (page: Page, server: TestServer.TestServer, token: string) => {
  await page.goto(`${server.url}/`)
  await page.getByLabel("API token").fill(token)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.waitForURL(`${server.url}/`)
}

/** The screenshot is saved for a person to look at, and is not a blank or broken render. */
const looksRendered = async (page: Page, name: string) => {
  const png = await Chromium.screenshot(page, name)
  expect(Chromium.distinctColours(png)).toBeGreaterThan(30)
  const heading = await page.getByRole("heading", { level: 1 }).boundingBox()
  expect(heading?.width ?? 0).toBeGreaterThan(50)
  expect(heading?.height ?? 0).toBeGreaterThan(10)
}

const withBrowser = (scenario: (server: TestServer.TestServer, browser: Browser) => Promise<void>) =>
  Effect.gen(function* () {
    const server = yield* TestServer.start()
    const browser = yield* Chromium.launch
    yield* Effect.promise(() => scenario(server, browser))
  }).pipe(Effect.scoped)

const xandikos = caldavServer("xandikos")

/** A client for the Xandikos test server (it accepts any password). */
const davClient = CalDavClient.make({ auth: { user: xandikos.user, password: Redacted.make("any") } })

const dav = <A, E>(f: (client: CalDavClient.CalDavClientShape) => Effect.Effect<A, E>) =>
  Effect.flatMap(davClient, f).pipe(Effect.provide(NodeHttpClient.layerUndici))

/** Puts an event (9:00 to 10:00 in Berlin on a December day) into a calendar on Xandikos. */
const putEvent = (calendarUrl: string, summary: string, day: number) =>
  dav((c) => {
    const event = EventModel.makeResource(
      EventModel.makeEvent({
        uid: `pages-${randomUUID()}`,
        start: EventModel.zoned("Europe/Berlin", 2026, 12, day, 9),
        end: EventModel.zoned("Europe/Berlin", 2026, 12, day, 10),
        summary: Option.some(summary),
        location: Option.some("Harbour Street 12")
      })
    )
    return c.put(`${calendarUrl}${randomUUID()}.ics`, ICalCodec.serialize(event), { _tag: "Create" })
  })

/** Two fresh calendars on Xandikos with names unique to this run, one event in the first. */
const calendarsWithAnEvent = Effect.gen(function* () {
  const tag = randomUUID().slice(0, 8)
  const work = { name: `Work ${tag}`, url: `${xandikos.home}pages-${tag}-work/` }
  const blocked = { name: `Blocked ${tag}`, url: `${xandikos.home}pages-${tag}-blocked/` }
  yield* dav((c) =>
    Effect.all([
      c.mkcalendar(work.url, { displayName: work.name }),
      c.mkcalendar(blocked.url, { displayName: blocked.name })
    ])
  )
  yield* putEvent(work.url, "Dentist appointment", 3)
  return { work, blocked }
})

/** Ann's Xandikos account and a sync between two of its calendars, set up through the API. */
const connectAndSync = async (
  server: TestServer.TestServer,
  token: string,
  source: string,
  target: string,
  policy: { readonly markPrivate: boolean; readonly transp: "keep" | "opaque" | "transparent" }
) => {
  const connected = await server.request("POST", "/api/accounts/caldav", {
    token,
    body: { url: xandikos.home, username: xandikos.user, password: "any" }
  })
  expect(connected.status).toBe(201)
  const { account, calendars } = connected.body as {
    account: { id: string }
    calendars: ReadonlyArray<{ id: string; url: string }>
  }
  const idOf = (url: string) => calendars.find((c) => c.url === url)?.id ?? ""
  const sync = await server.request("POST", "/api/relationships", {
    token,
    body: { sourceCalendarId: idOf(source), targetCalendarId: idOf(target), direction: "one-way", ...policy }
  })
  expect(sync.status).toBe(201)
  return { accountId: account.id, syncId: (sync.body as { id: string }).id, idOf }
}

/** The iCalendar text of every item in a calendar. */
const itemsOf = (url: string) =>
  dav((c) =>
    Effect.gen(function* () {
      const listing = yield* c.listEtags(url)
      const got = yield* c.multiget(
        url,
        listing.map((i) => i.href)
      )
      return got.found.map((i) => i.data)
    })
  )

/** Reloads the page until `check` holds, or fails with the page's text at the deadline. */
const until = async (page: Page, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(
        `the page did not reach the expected state in time:\n${await page.locator("main").innerText()}`
      )
    await new Promise((r) => setTimeout(r, 250))
    await page.reload()
  }
}

/** The status card of one calendar, found by its heading. */
const card = (page: Page, calendarName: string): Locator =>
  page.locator("section").filter({ has: page.getByRole("heading", { level: 2, name: calendarName }) })

/** The value cell of a row of a status card. */
const row = (section: Locator, header: string) =>
  section
    .getByRole("row")
    .filter({ has: section.page().getByRole("rowheader", { name: header, exact: true }) })
    .getByRole("cell")

describe("settings pages", () => {
  it.live(
    "signing in with a token, out again, and a wrong token says what to do",
    () =>
      withBrowser(async (server, browser) => {
        const ann = await server.createUser("Ann")
        const page = await Chromium.newPage(browser)
        await page.goto(`${server.url}/`)
        await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true)
        await looksRendered(page, "sign-in")

        await page.getByLabel("API token").fill(`${ann.token}x`)
        await page.getByRole("button", { name: "Sign in" }).click()
        await expect(page.getByRole("alert").textContent()).resolves.toContain("not valid")

        await signIn(page, server, ann.token)
        await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Hello, Ann")
        const cookie = (await page.context().cookies()).find((c) => c.name === "almanac_session")
        expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/", secure: false })
        await looksRendered(page, "overview")

        await page.getByRole("button", { name: "Sign out" }).click()
        await page.waitForURL(`${server.url}/`)
        await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true)
        expect((await page.context().cookies()).filter((c) => c.name === "almanac_session")).toEqual([])
      }),
    60_000
  )

  it.live(
    "a page without a session sends the browser to sign in",
    () =>
      withBrowser(async (server, browser) => {
        // With someone on the server, the front page is the sign-in (a fresh one shows the first run).
        await server.createUser("Ann")
        const page = await Chromium.newPage(browser)
        for (const path of ["/accounts", "/accounts/some-id", "/syncs", "/status", "/people"]) {
          await page.goto(`${server.url}${path}`)
          expect(new URL(page.url()).pathname).toBe("/")
          await expect(page.getByRole("heading", { name: "Sign in" }).isVisible()).resolves.toBe(true)
        }
        // A token that was revoked is no session either.
        const plain = await fetch(`${server.url}/accounts`, {
          redirect: "manual",
          headers: { cookie: "almanac_session=alm_revoked" }
        })
        expect(plain.status).toBe(303)
        expect(plain.headers.get("location")).toBe("/")
      }),
    60_000
  )

  it.live(
    "a form posted from another site is refused, even with a valid session",
    () =>
      withBrowser(async (server) => {
        const ann = await server.createUser("Ann")
        const host = new URL(server.url).host
        const annCookie = await server.sessionCookie(ann.token)
        const post = (path: string, headers: Record<string, string>) =>
          fetch(`${server.url}${path}`, {
            method: "POST",
            redirect: "manual",
            headers: {
              cookie: annCookie,
              "content-type": "application/x-www-form-urlencoded",
              ...headers
            },
            body: "token=x"
          })
        for (const path of [
          "/logout",
          "/login",
          "/accounts/caldav",
          "/accounts/icloud",
          "/syncs",
          "/status/x/sync",
          "/setup",
          "/people",
          "/people/x/token"
        ]) {
          expect((await post(path, { origin: "https://evil.example" })).status).toBe(403)
          expect((await post(path, { referer: "https://evil.example/page" })).status).toBe(403)
          expect((await post(path, {})).status).toBe(403)
          expect((await post(path, { origin: `http://${host}.evil.example` })).status).toBe(403)
        }
        // Behind a TLS proxy (X-Forwarded-Proto: https) the session cookie is Secure; directly, it is not.
        const login = (headers: Record<string, string>) =>
          fetch(`${server.url}/login`, {
            method: "POST",
            redirect: "manual",
            headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, ...headers },
            body: new URLSearchParams({ token: ann.token }).toString()
          })
        const proxied = (await login({ "x-forwarded-proto": "https" })).headers.get("set-cookie") ?? ""
        // The cookie holds a session of its own, never the API token.
        expect(proxied).toMatch(/^almanac_session=[^;]+;/)
        expect(proxied).not.toContain(ann.token)
        expect(proxied.split("; ")).toEqual(
          expect.arrayContaining(["Secure", "HttpOnly", "SameSite=Strict", "Path=/"])
        )
        const direct = (await login({})).headers.get("set-cookie") ?? ""
        expect(direct).toContain("HttpOnly")
        expect(direct).not.toContain("Secure")
        // The same post from our own origin goes through (and signs out).
        const ours = await post("/logout", { origin: server.url })
        expect(ours.status).toBe(303)
        expect(ours.headers.get("set-cookie")).toContain("almanac_session=;")
      }),
    60_000
  )

  it.live(
    "markup in a name is shown as text, never run",
    () =>
      withBrowser(async (server, browser) => {
        const name = `<script>window.ran = 1</script><img src=x onerror="window.ran = 2">Mallory`
        const mallory = await server.createUser(name)
        const page = await Chromium.newPage(browser)
        let dialogs = 0
        page.on("dialog", (d) => {
          dialogs++
          void d.dismiss()
        })
        await signIn(page, server, mallory.token)
        await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(`Hello, ${name}`)
        await expect(page.locator("main script, main img").count()).resolves.toBe(0)
        await expect(page.evaluate("window.ran === undefined")).resolves.toBe(true)
        const source = await (
          await fetch(`${server.url}/`, {
            headers: { cookie: await server.sessionCookie(mallory.token) }
          })
        ).text()
        expect(source).toContain("&lt;script&gt;window.ran = 1&lt;/script&gt;")
        const headers = (await fetch(`${server.url}/`)).headers
        expect(headers.get("content-type")).toBe("text/html; charset=utf-8")
        expect(headers.get("content-security-policy")).toContain("default-src 'none'")
        expect(dialogs).toBe(0)
      }),
    60_000
  )

  it.live(
    "a person connects a CalDAV account, creates a private one-way sync, presses Sync now and watches the copies arrive",
    () =>
      Effect.gen(function* () {
        const { work, blocked } = yield* calendarsWithAnEvent
        // Polls only when asked: the sync's first poll at creation, then "Sync now".
        const server = yield* TestServer.start({ ALMANAC_POLL_INTERVAL: "1h" })
        const browser = yield* Chromium.launch
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const page = yield* Effect.promise(() => Chromium.newPage(browser))

        yield* Effect.promise(async () => {
          await signIn(page, server, ann.token)
          await page.getByRole("link", { name: "Accounts" }).click()
          await expect(page.getByText("No accounts yet").isVisible()).resolves.toBe(true)
          await looksRendered(page, "accounts-empty")

          // Connect the Xandikos account through the CalDAV form.
          const form = page.locator("form[action='/accounts/caldav']")
          await form.getByLabel("Server or calendar home URL").fill(xandikos.home)
          await form.getByLabel("User name").fill(xandikos.user)
          await form.getByLabel("Password").fill("any password")
          await form.getByLabel("Name on these pages").fill("Team <b>server</b>")
          await form.getByRole("button", { name: "Connect CalDAV" }).click()
          await page.waitForURL(/\/accounts\/[^/?]+\?notice=account-connected$/)
          await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
            "Team <b>server</b>"
          )
          await expect(page.getByRole("status").textContent()).resolves.toContain("Account connected")
          await expect(page.getByRole("cell", { name: work.name, exact: true }).isVisible()).resolves.toBe(
            true
          )
          await expect(page.getByRole("cell", { name: blocked.name, exact: true }).isVisible()).resolves.toBe(
            true
          )
          await looksRendered(page, "account")

          await page.getByRole("link", { name: "Accounts" }).click()
          await expect(page.getByRole("cell", { name: "Team <b>server</b>" }).isVisible()).resolves.toBe(true)
          await looksRendered(page, "accounts")

          // A private one-way sync from Work into Blocked.
          await page.getByRole("link", { name: "Syncs" }).click()
          await expect(page.getByText("No syncs yet").isVisible()).resolves.toBe(true)
          await page.getByLabel("Copy events from").selectOption({ label: work.name })
          await page.getByLabel("Into").selectOption({ label: blocked.name })
          await page.getByLabel("One way").check()
          await page.getByLabel("Mark as private").check()
          await page.getByLabel("Show the copies as").selectOption("opaque")
          await looksRendered(page, "syncs-form")
          await page.getByRole("button", { name: "Create the sync" }).click()
          await page.waitForURL(/\/syncs\?notice=sync-created$/)
          const listed = page.getByRole("row").filter({ hasText: work.name })
          await expect(listed.textContent()).resolves.toContain(blocked.name)
          await expect(listed.textContent()).resolves.toContain("Private (“Busy”)")
          await expect(listed.textContent()).resolves.toContain("always busy")
          await looksRendered(page, "syncs")

          // The sync polls once when it is created: the status page shows the first copy.
          await page.getByRole("link", { name: "Status" }).click()
          const source = card(page, work.name)
          await until(
            page,
            async () =>
              !(await row(source, "Last success").innerText()).includes("never") &&
              (await row(source, "Copies").innerText()).startsWith("1 copy of its events"),
            30_000
          )
          await expect(row(source, "Last error").innerText()).resolves.toBe("none")
          await expect(row(card(page, blocked.name), "Copies").innerText()).resolves.toContain("holds 1 copy")
          await expect(page.locator('meta[http-equiv="refresh"]').getAttribute("content")).resolves.toBe("10")
        })

        const first = yield* itemsOf(blocked.url)
        expect(first).toHaveLength(1)
        expect(first[0]).toContain("SUMMARY:Busy")
        expect(first[0]).toContain("TRANSP:OPAQUE")
        expect(first[0]).not.toContain("Dentist")
        expect(first[0]).not.toContain("Harbour")

        // A new event in the source; "Sync now", and the status page moves from 1 copy to 2.
        yield* putEvent(work.url, "Tax advisor", 4)
        yield* Effect.promise(async () => {
          const source = card(page, work.name)
          await source.getByRole("button", { name: /^Sync .* now$/ }).click()
          await page.waitForURL(/\/status\?notice=sync-requested$/)
          await expect(page.getByRole("status").textContent()).resolves.toContain("A poll was requested")
          await until(
            page,
            async () => (await row(source, "Copies").innerText()).startsWith("2 copies"),
            30_000
          )
          await expect(row(source, "Last run").innerText()).resolves.toMatch(/^synced .*: 1 created/)
          await expect(row(source, "Last error").innerText()).resolves.toBe("none")
          await looksRendered(page, "status")
        })
        const both = yield* itemsOf(blocked.url)
        expect(both).toHaveLength(2)
        for (const copy of both) {
          expect(copy).toContain("SUMMARY:Busy")
          expect(copy).not.toContain("Tax advisor")
        }

        // Pause, resume, then remove with the copies: the target is empty again.
        yield* Effect.promise(async () => {
          await page.getByRole("link", { name: "Syncs" }).click()
          await page.getByRole("button", { name: /^Pause / }).click()
          await expect(page.getByRole("status").textContent()).resolves.toContain("Sync paused")
          await expect(page.getByRole("row").filter({ hasText: work.name }).textContent()).resolves.toContain(
            "paused"
          )
          await page.getByRole("button", { name: /^Resume / }).click()
          await expect(page.getByRole("status").textContent()).resolves.toContain("Sync resumed")
          await page.getByLabel("also delete the copies").check()
          await page.getByRole("button", { name: /^Remove / }).click()
          await page.waitForURL(/\/syncs\?notice=sync-removed/)
          await expect(page.getByRole("status").textContent()).resolves.toBe(
            "Sync removed. 2 copies deleted from the target."
          )
          await expect(page.getByText("No syncs yet").isVisible()).resolves.toBe(true)
        })
        expect(yield* itemsOf(blocked.url)).toEqual([])
        expect(yield* itemsOf(work.url)).toHaveLength(2)
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "a refused connection shows why and keeps what was typed, except the password",
    () =>
      withBrowser(async (server, browser) => {
        const ann = await server.createUser("Ann")
        const page = await Chromium.newPage(browser)
        await signIn(page, server, ann.token)
        await page.goto(`${server.url}/accounts`)

        // A normal Apple ID password is refused before Apple is asked.
        const icloud = page.locator("form[action='/accounts/icloud']")
        await expect(icloud.getByText("App-Specific Passwords").isVisible()).resolves.toBe(true)
        await icloud.getByLabel("Apple ID").fill("ann@example.com")
        await icloud.getByLabel("App-specific password").fill("MyNormalPassword1")
        await icloud.getByRole("button", { name: "Connect iCloud" }).click()
        const refusedIcloud = page.locator("section", {
          has: page.getByRole("heading", { name: "Connect iCloud" })
        })
        await expect(refusedIcloud.getByRole("alert").textContent()).resolves.toContain(
          "not an app-specific password"
        )
        await expect(page.getByLabel("Apple ID").inputValue()).resolves.toBe("ann@example.com")
        await expect(page.getByLabel("App-specific password").inputValue()).resolves.toBe("")
        await looksRendered(page, "accounts-icloud-refused")

        // A CalDAV URL where nothing answers.
        const caldav = page.locator("form[action='/accounts/caldav']")
        await caldav.getByLabel("Server or calendar home URL").fill("http://127.0.0.1:9/dav/")
        await caldav.getByLabel("User name").fill("ann")
        await caldav.getByLabel("Password").fill("secret-typed")
        const response = page.waitForResponse((r) => r.url().endsWith("/accounts/caldav"))
        await caldav.getByRole("button", { name: "Connect CalDAV" }).click()
        expect((await response).status()).toBe(502)
        const refusedCaldav = page.locator("section", {
          has: page.getByRole("heading", { name: "Connect a CalDAV server" })
        })
        await expect(refusedCaldav.getByRole("alert").textContent()).resolves.toContain(
          "could not be reached"
        )
        await expect(page.getByLabel("Server or calendar home URL").inputValue()).resolves.toBe(
          "http://127.0.0.1:9/dav/"
        )
        await expect(page.getByLabel("User name").inputValue()).resolves.toBe("ann")
        await expect(page.getByLabel("Password", { exact: true }).inputValue()).resolves.toBe("")
        expect(await page.content()).not.toContain("secret-typed")
        await expect(page.getByText("No accounts yet").isVisible()).resolves.toBe(true)
      }),
    60_000
  )

  it.live(
    "one person's account, calendars and syncs are not found for another",
    () =>
      Effect.gen(function* () {
        const { work, blocked } = yield* calendarsWithAnEvent
        const server = yield* TestServer.start()
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const bob = yield* Effect.promise(() => server.createUser("Bob"))
        // Ann's account and sync, through the API.
        const { accountId, syncId, idOf } = yield* Effect.promise(() =>
          connectAndSync(server, ann.token, work.url, blocked.url, { markPrivate: true, transp: "keep" })
        )
        const account = { id: accountId }
        const cookies = new Map<string, string>()
        const as = async (token: string, method: string, path: string, body = "confirm=on") => {
          const cookie = cookies.get(token) ?? (await server.sessionCookie(token))
          cookies.set(token, cookie)
          return fetch(`${server.url}${path}`, {
            method,
            redirect: "manual",
            headers: {
              cookie,
              origin: server.url,
              ...(method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {})
            },
            ...(method === "POST" ? { body } : {})
          })
        }
        const bobSees = yield* Effect.promise(async () => ({
          account: await as(bob.token, "GET", `/accounts/${account.id}`),
          password: await as(bob.token, "POST", `/accounts/${account.id}/password`, "password=x"),
          remove: await as(bob.token, "POST", `/accounts/${account.id}/remove`),
          pause: await as(bob.token, "POST", `/syncs/${syncId}/pause`),
          removeSync: await as(bob.token, "POST", `/syncs/${syncId}/remove`, "clean=on"),
          syncNow: await as(bob.token, "POST", `/status/${idOf(work.url)}/sync`),
          syncs: await (await as(bob.token, "GET", "/syncs")).text(),
          status: await (await as(bob.token, "GET", "/status")).text(),
          accounts: await (await as(bob.token, "GET", "/accounts")).text()
        }))
        expect(bobSees.account.status).toBe(404)
        expect(bobSees.password.status).toBe(404)
        expect(bobSees.remove.status).toBe(404)
        expect(bobSees.pause.status).toBe(404)
        expect(bobSees.removeSync.status).toBe(404)
        expect(bobSees.syncNow.status).toBe(404)
        for (const text of [bobSees.syncs, bobSees.status, bobSees.accounts]) {
          expect(text).not.toContain(work.name)
          expect(text).not.toContain(blocked.name)
          expect(text).not.toContain(new URL(xandikos.home).host)
        }
        // Nothing of Ann's changed: her account and her active sync are still there.
        const annSyncs = yield* Effect.promise(async () => (await as(ann.token, "GET", "/syncs")).text())
        expect(annSyncs).toContain(work.name)
        expect(annSyncs).toContain("active")
        expect((yield* Effect.promise(() => as(ann.token, "GET", `/accounts/${account.id}`))).status).toBe(
          200
        )
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a mass deletion stops and waits on the status page until the person confirms it",
    () =>
      Effect.gen(function* () {
        const { work, blocked } = yield* calendarsWithAnEvent
        for (const day of [5, 6, 7, 8]) yield* putEvent(work.url, `Meeting ${day}`, day)
        const server = yield* TestServer.start()
        const browser = yield* Chromium.launch
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        yield* Effect.promise(() =>
          connectAndSync(server, ann.token, work.url, blocked.url, { markPrivate: false, transp: "keep" })
        )
        const page = yield* Effect.promise(() => Chromium.newPage(browser))
        yield* Effect.promise(async () => {
          await signIn(page, server, ann.token)
          await page.goto(`${server.url}/status`)
          const source = card(page, work.name)
          await until(
            page,
            async () => (await row(source, "Copies").innerText()).startsWith("5 copies"),
            30_000
          )
        })
        expect(yield* itemsOf(blocked.url)).toHaveLength(5)

        // Every event of the source goes at once: the engine stops instead of deleting five copies.
        yield* dav((c) =>
          Effect.flatMap(c.listEtags(work.url), (items) =>
            Effect.forEach(items, (i) => c.remove(i.href, i.etag), { discard: true })
          )
        )
        yield* Effect.promise(async () => {
          const source = card(page, work.name)
          const stop = source.getByRole("alert")
          await until(page, () => stop.isVisible(), 30_000)
          await expect(stop.innerText()).resolves.toContain("Deletions stopped for safety")
          await expect(source.getByRole("heading", { level: 2 }).innerText()).resolves.toContain(
            "waiting for you"
          )
          await looksRendered(page, "status-mass-delete")
          await page.getByRole("link", { name: "Overview" }).click()
          await expect(page.getByRole("alert").innerText()).resolves.toContain(
            "1 calendar waits for you to confirm deletions"
          )
          await looksRendered(page, "overview-attention")
          await page.getByRole("link", { name: "Status" }).first().click()
        })
        expect(yield* itemsOf(blocked.url)).toHaveLength(5)

        yield* Effect.promise(async () => {
          await card(page, work.name).getByRole("button", { name: "Confirm the deletions" }).click()
          await page.waitForURL(/\/status\?notice=deletes-confirmed$/)
          await expect(page.getByRole("status").textContent()).resolves.toContain("Confirmed")
          const source = card(page, work.name)
          await expect(source.getByRole("alert").count()).resolves.toBe(0)
          await expect(row(source, "Copies").innerText()).resolves.toMatch(/^0 copies/)
        })
        expect(yield* itemsOf(blocked.url)).toEqual([])
      }).pipe(Effect.scoped),
    120_000
  )

  it.live(
    "the sync form refuses what cannot work and keeps the choices; an account takes a new password, finds a new calendar and goes",
    () =>
      Effect.gen(function* () {
        const { work, blocked } = yield* calendarsWithAnEvent
        const server = yield* TestServer.start()
        const browser = yield* Chromium.launch
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const page = yield* Effect.promise(() => Chromium.newPage(browser))
        const accountUrl = yield* Effect.promise(async () => {
          await signIn(page, server, ann.token)
          await page.goto(`${server.url}/accounts`)
          const form = page.locator("form[action='/accounts/caldav']")
          await form.getByLabel("Server or calendar home URL").fill(xandikos.home)
          await form.getByLabel("User name").fill(xandikos.user)
          await form.getByLabel("Password").fill("first password")
          await form.getByRole("button", { name: "Connect CalDAV" }).click()
          await page.waitForURL(/notice=account-connected$/)
          const accountUrl = page.url().replace(/\?.*$/, "")

          // Connecting the same account again says where it already is.
          await page.goto(`${server.url}/accounts`)
          await form.getByLabel("Server or calendar home URL").fill(xandikos.home)
          await form.getByLabel("User name").fill(xandikos.user)
          await form.getByLabel("Password").fill("first password")
          await form.getByRole("button", { name: "Connect CalDAV" }).click()
          await expect(page.getByRole("alert").innerText()).resolves.toContain("already connected")
          // It names the account there: its name and id.
          const accountId = accountUrl.split("/").pop() ?? ""
          await expect(page.getByRole("alert").innerText()).resolves.toContain(
            `already connected as “${xandikos.user} on ${new URL(xandikos.home).host}” (account ${accountId}`
          )

          // The sync form: one calendar into itself, then half a window; the choices stay.
          await page.goto(`${server.url}/syncs`)
          await page.getByLabel("Copy events from").selectOption({ label: work.name })
          await page.getByLabel("Into").selectOption({ label: work.name })
          await page.getByLabel("Both ways").check()
          await page.getByRole("button", { name: "Create the sync" }).click()
          await expect(page.getByRole("alert").innerText()).resolves.toContain("cannot sync into itself")
          await expect(page.getByLabel("Both ways").isChecked()).resolves.toBe(true)
          await page.getByLabel("Into").selectOption({ label: blocked.name })
          await page.getByLabel("Mark as private").uncheck()
          await page.getByLabel("Days back").fill("7")
          await page.getByRole("button", { name: "Create the sync" }).click()
          await expect(page.getByRole("alert").innerText()).resolves.toContain(
            "fill in both days back and days ahead"
          )
          await expect(page.getByLabel("Copy events from").inputValue()).resolves.not.toBe("")
          await expect(page.getByLabel("Mark as private").isChecked()).resolves.toBe(false)
          await expect(page.getByLabel("Days back").inputValue()).resolves.toBe("7")
          await looksRendered(page, "syncs-refused")
          await page.getByLabel("Days ahead").fill("30")
          await page.getByRole("button", { name: "Create the sync" }).click()
          await page.waitForURL(/notice=sync-created$/)
          const listed = page.getByRole("row").filter({ hasText: work.name })
          await expect(listed.innerText()).resolves.toContain("both ways")
          await expect(listed.innerText()).resolves.toContain("Full details")
          await expect(listed.innerText()).resolves.toContain("from 7 days ago to 30 days ahead")
          return accountUrl
        })

        const extra = `Extra ${randomUUID().slice(0, 8)}`
        yield* dav((c) => c.mkcalendar(`${xandikos.home}pages-${randomUUID()}/`, { displayName: extra }))
        yield* Effect.promise(async () => {
          await page.goto(accountUrl)
          await expect(page.getByRole("cell", { name: extra }).count()).resolves.toBe(0)
          await page.getByRole("button", { name: "Look for new calendars" }).click()
          await page.waitForURL(/notice=calendars-refreshed$/)
          await expect(page.getByRole("cell", { name: extra }).isVisible()).resolves.toBe(true)
          await expect(
            page.getByRole("row").filter({ hasText: work.name }).getByText("in a sync").isVisible()
          ).resolves.toBe(true)

          await page.getByLabel("New password").fill("second password")
          await page.getByRole("button", { name: "Save the new password" }).click()
          await page.waitForURL(/notice=account-reauthenticated$/)
          await expect(page.getByRole("status").innerText()).resolves.toContain("The new password works")

          // Removing needs the box ticked (the browser insists; the server checks again).
          const removal = page.locator(`form[action$="/remove"]`)
          await removal.evaluate((f) => f.setAttribute("novalidate", ""))
          await page.getByRole("button", { name: "Remove the account" }).click()
          await expect(page.getByRole("alert").innerText()).resolves.toContain("Tick the box")
          await page.getByLabel(/Yes, remove/).check()
          await page.getByRole("button", { name: "Remove the account" }).click()
          await page.waitForURL(/\/accounts\?notice=account-removed$/)
          await expect(page.getByText("No accounts yet").isVisible()).resolves.toBe(true)
          await page.goto(`${server.url}/syncs`)
          await expect(page.getByText("No syncs yet").isVisible()).resolves.toBe(true)
          expect((await page.goto(accountUrl))?.status()).toBe(404)
        })
      }).pipe(Effect.scoped),
    120_000
  )
})
