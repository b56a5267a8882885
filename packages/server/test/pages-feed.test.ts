/**
 * Subscribing to a feed on the settings pages, in a real Chromium: a refused URL says why and is
 * shown again without the password it held; a good one leads to the account's page with its one
 * calendar, and the accounts list names its kind.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as FeedServer from "../../providers/test/ics/FeedServer.js"
import * as Chromium from "./support/Browser.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

describe("the settings pages: a feed", () => {
  it.live("a person subscribes to a feed; a refused URL keeps what was typed except the password", () =>
    Effect.gen(function* () {
      const feed = yield* Effect.acquireRelease(
        Effect.promise(() => FeedServer.start({ name: "School holidays" })),
        (f) => Effect.promise(() => f.close())
      )
      feed.put(Fixtures.event("summer@feed.test", "Summer break"))
      const server = yield* TestServer.start()
      const browser = yield* Chromium.launch
      yield* Effect.promise(async () => {
        const ann = await server.createUser("Ann")
        const page = await Chromium.newPage(browser)
        await page.goto(`${server.url}/`)
        await page.getByLabel("API token").fill(ann.token)
        await page.getByRole("button", { name: "Sign in" }).click()
        await page.waitForURL(`${server.url}/`)
        await page.goto(`${server.url}/accounts`)

        const form = page.locator("form[action='/accounts/ics']")
        await form.getByLabel("Feed URL").fill("http://ann:typed-secret@example.com/school.ics")
        const refused = page.waitForResponse((r) => r.url().endsWith("/accounts/ics"))
        await form.getByRole("button", { name: "Subscribe" }).click()
        expect((await refused).status()).toBe(422)
        const section = page.locator("section", {
          has: page.getByRole("heading", { name: "Subscribe to a feed" })
        })
        await expect(section.getByRole("alert").textContent()).resolves.toContain("unencrypted; use https")
        await expect(page.getByLabel("Feed URL").inputValue()).resolves.toBe("http://example.com/school.ics")
        expect(await page.content()).not.toContain("typed-secret")

        await page.getByLabel("Feed URL").fill(feed.feedUrl)
        await page.locator("form[action='/accounts/ics']").getByRole("button", { name: "Subscribe" }).click()
        await page.waitForURL(/\/accounts\/[^/]+/)
        await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toContain(
          "School holidays"
        )
        await expect(page.getByText(feed.feedUrl).count()).resolves.toBeGreaterThan(0)
        // a public feed has no password to change
        await expect(page.getByRole("heading", { name: "Change the password" }).count()).resolves.toBe(0)
        await Chromium.screenshot(page, "account-feed")
        await page.goto(`${server.url}/accounts`)
        await expect(page.getByRole("cell", { name: "Feed", exact: true }).count()).resolves.toBe(1)
        await Chromium.screenshot(page, "accounts-with-feed")
      })
    }).pipe(Effect.scoped)
  )
})
