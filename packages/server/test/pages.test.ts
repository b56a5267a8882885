/**
 * The settings pages in headless Chromium against the whole server: signing in with a token,
 * connecting a CalDAV account on a real server, creating a sync and watching its status change.
 * Also what the pages must refuse: forms from other sites, pages without a session, and markup
 * in anything a person or a server supplied.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Browser, Page } from "playwright-core"
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
        const page = await Chromium.newPage(browser)
        for (const path of ["/accounts"]) {
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
        const post = (path: string, headers: Record<string, string>) =>
          fetch(`${server.url}${path}`, {
            method: "POST",
            redirect: "manual",
            headers: {
              cookie: `almanac_session=${ann.token}`,
              "content-type": "application/x-www-form-urlencoded",
              ...headers
            },
            body: "token=x"
          })
        for (const path of ["/logout", "/login"]) {
          expect((await post(path, { origin: "https://evil.example" })).status).toBe(403)
          expect((await post(path, { referer: "https://evil.example/page" })).status).toBe(403)
          expect((await post(path, {})).status).toBe(403)
          expect((await post(path, { origin: `http://${host}.evil.example` })).status).toBe(403)
        }
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
            headers: { cookie: `almanac_session=${mallory.token}` }
          })
        ).text()
        expect(source).toContain("&lt;script&gt;window.ran = 1&lt;/script&gt;")
        expect(dialogs).toBe(0)
      }),
    60_000
  )
})
