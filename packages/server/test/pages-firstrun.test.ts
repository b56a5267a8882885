/**
 * The first run and the pages a newcomer meets, in headless Chromium against the whole server: a
 * fresh server offers to create its owner (from this machine at once, from another address only
 * with the setup code it logged), then is a plain sign-in; the owner's People page makes tokens;
 * the overview turns from a checklist into what needs attention; and every page fits a 390 px
 * phone screen. The remote case goes the way a remote person reaches a server: through a reverse
 * proxy (a real one on loopback, in this file) that says whom it forwards for.
 */

import { randomUUID } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { createServer, request as httpRequest } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CalDavClient } from "@almanac/caldav"
import { EventModel, SyncStore } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { NodeHttpClient } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import type { Browser, Page } from "playwright-core"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import * as FirstRun from "../src/app/FirstRun.js"
import * as Database from "../src/Database.js"
import { Accounts } from "../src/store/Accounts.js"
import * as UsersStore from "../src/store/Users.js"
import { Users } from "../src/store/Users.js"
import * as Chromium from "./support/Browser.js"
import * as EarlierEngine from "./support/EarlierEngine.js"
import * as TestServer from "./support/TestServer.js"

const codePattern = /[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}/

/** The setup code from the one log line that carries it. */
const loggedCode = (server: TestServer.TestServer): string => {
  const lines = server.logs.filter((l) => l.includes("no user exists yet"))
  expect(lines).toHaveLength(1)
  const code = lines[0]?.match(codePattern)?.[0]
  if (code === undefined) throw new Error(`no setup code in the log line: ${lines[0]}`)
  return code
}

/** A form post as a browser on `origin` would send it (fetch runs from this machine). */
const post = (
  server: TestServer.TestServer,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {}
) =>
  fetch(`${server.url}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: server.url, ...headers },
    body: new URLSearchParams(fields).toString()
  })

/** A post with a Host header of our choosing (fetch would put the real one back). */
const rawPost = (
  server: TestServer.TestServer,
  path: string,
  body: string,
  headers: Record<string, string>
) =>
  new Promise<{ readonly status: number; readonly body: string }>((resolve, reject) => {
    const req = httpRequest(
      `${server.url}${path}`,
      { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers } },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk: string) => {
          text += chunk
        })
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }))
      }
    )
    req.on("error", reject)
    req.end(body)
  })

const usersOf = (server: TestServer.TestServer) =>
  TestServer.within(
    server,
    Effect.flatMap(Users, (u) => u.list)
  )

const looksRendered = async (page: Page, name: string) => {
  const png = await Chromium.screenshot(page, name)
  expect(Chromium.distinctColours(png)).toBeGreaterThan(30)
}

const withBrowser = (
  env: Record<string, string>,
  scenario: (server: TestServer.TestServer, browser: Browser) => Promise<void>
) =>
  Effect.gen(function* () {
    const server = yield* TestServer.start(env)
    const browser = yield* Chromium.launch
    yield* Effect.promise(() => scenario(server, browser))
  }).pipe(Effect.scoped)

/**
 * A reverse proxy in front of `server`, as a person elsewhere reaches it: every request is passed
 * on with the X-Forwarded-For a proxy adds (a documentation address, never contacted). The server
 * then sees a loopback socket peer, but a client that is not on this machine.
 */
const behindProxy = (server: TestServer.TestServer) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly close: () => void }>((resume) => {
      const upstream = new URL(server.url)
      const proxy = createServer((req, res) => {
        const out = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "http" }
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers)
            answer.pipe(res)
          }
        )
        out.on("error", () => {
          res.writeHead(502)
          res.end()
        })
        req.pipe(out)
      })
      proxy.listen(0, "127.0.0.1", () => {
        const { port } = proxy.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, close: () => proxy.close() }))
      })
    }),
    (p) => Effect.sync(p.close)
  )

describe("first-run policy", () => {
  it("counts only loopback socket peers as this machine", () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"])
      expect(FirstRun.isLoopbackAddress(a), a).toBe(true)
    for (const a of ["192.0.2.2", "10.0.0.1", "::ffff:10.0.0.1", "fd00::1", "::", "1::1", "128.0.0.1", ""])
      expect(FirstRun.isLoopbackAddress(a), a).toBe(false)
  })

  it("takes the privilege away for a proxied request or a foreign Host, and never gives it by header", () => {
    const local = { remoteAddress: "127.0.0.1", headers: { host: "127.0.0.1:8080" } }
    expect(FirstRun.isDirectLocal(local)).toBe(true)
    expect(FirstRun.isDirectLocal({ remoteAddress: "::1", headers: { host: "[::1]:8080" } })).toBe(true)
    expect(FirstRun.isDirectLocal({ remoteAddress: "127.0.0.1", headers: { host: "localhost" } })).toBe(true)
    // Through a proxy on this machine: every client would look local.
    for (const header of ["x-forwarded-for", "forwarded", "x-forwarded-host", "x-real-ip"])
      expect(
        FirstRun.isDirectLocal({ ...local, headers: { ...local.headers, [header]: "203.0.113.9" } })
      ).toBe(false)
    // DNS rebinding: a web page's own name pointing at 127.0.0.1.
    expect(FirstRun.isDirectLocal({ ...local, headers: { host: "evil.example:8080" } })).toBe(false)
    expect(FirstRun.isDirectLocal({ ...local, headers: {} })).toBe(false)
    // A remote peer claiming to be local in headers.
    expect(
      FirstRun.isDirectLocal({
        remoteAddress: "192.0.2.7",
        headers: { host: "127.0.0.1:8080", "x-forwarded-for": "127.0.0.1" }
      })
    ).toBe(false)
    expect(FirstRun.isDirectLocal({ remoteAddress: undefined, headers: { host: "127.0.0.1" } })).toBe(false)
  })

  it("admits a local browser without a code, anyone else only with the right one", () => {
    const code = FirstRun.generateCode()
    expect(code).toMatch(codePattern)
    expect(new Set(Array.from({ length: 50 }, FirstRun.generateCode)).size).toBe(50)
    const expected = Option.some(Redacted.make(code))
    const given = (s: string) => Redacted.make(s)
    expect(FirstRun.admission(true, Option.none(), given(""))).toBe("local")
    expect(FirstRun.admission(false, expected, given(""))).toBe("code-missing")
    expect(FirstRun.admission(false, expected, given(" - "))).toBe("code-missing")
    expect(FirstRun.admission(false, expected, given(code))).toBe("code")
    expect(FirstRun.admission(false, expected, given(` ${code.toLowerCase().replaceAll("-", " ")} `))).toBe(
      "code"
    )
    expect(FirstRun.admission(false, expected, given(`${code}A`))).toBe("code-wrong")
    expect(FirstRun.admission(false, expected, given(code.slice(0, -1)))).toBe("code-wrong")
    // No code (the server had users when it started, or the code was used): nothing matches.
    expect(FirstRun.admission(false, Option.none(), given(code))).toBe("code-wrong")
  })
})

describe("the first-run service", () => {
  it.live(
    "creates one owner however many ask at once, and its code works once even if the users went away",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const code = Redacted.make(loggedCode(server))
        const createOwner = (name: string, local: boolean) =>
          TestServer.within(
            server,
            Effect.flatMap(FirstRun.FirstRun, (f) => f.createOwner({ name, local, code }))
          )
        expect((yield* createOwner("Ann", false))._tag).toBe("Created")
        // A store that already has someone makes no first user, whoever asks.
        const direct = yield* TestServer.within(
          server,
          Effect.flatMap(Users, (u) => u.createFirst("Dan"))
        )
        expect(Option.isNone(direct)).toBe(true)
        // With nobody left (the rows deleted by hand), the used code admits no one...
        const emptied = TestServer.within(
          server,
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`DELETE FROM users`)
        )
        yield* emptied
        expect(yield* createOwner("Mallory", false)).toEqual({ _tag: "Refused", admission: "code-wrong" })
        // ...and of several asking at once from this machine, one becomes the owner.
        const results = yield* Effect.all(
          ["Bob", "Cy", "Dee"].map((name) => createOwner(name, true)),
          { concurrency: "unbounded" }
        )
        expect(results.map((r) => r._tag).sort()).toEqual(["Closed", "Closed", "Created"])
        expect((yield* usersOf(server)).filter((u) => u.owner)).toHaveLength(1)
      }).pipe(Effect.scoped, Effect.orDie),
    30_000
  )
})

describe("the owner migration", () => {
  it.effect("makes the earliest user of an existing server its owner, and only that one", () =>
    Effect.gen(function* () {
      const filename = join(mkdtempSync(join(tmpdir(), "almanac-owner-")), "almanac.sqlite")
      const client = Database.client({ _tag: "Sqlite", filename })
      // A database from before the migration: the engine's migrations of then only, two users.
      yield* Effect.gen(function* () {
        yield* EarlierEngine.migrate
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO users (id, name, created_at) VALUES ('b', 'Bea', 2000), ('a', 'Al', 1000)`
      }).pipe(Effect.provide(client), Effect.orDie)
      const users = yield* Effect.flatMap(Users, (u) =>
        Effect.zip(
          u.list,
          Effect.flatMap(u.create("Cy"), () => u.list)
        )
      ).pipe(
        Effect.provide(Layer.provide(UsersStore.layer, Layer.provideMerge(Database.migrated, client))),
        Effect.orDie
      )
      expect(users[0].map((u) => [u.name, u.owner])).toEqual([
        ["Al", true],
        ["Bea", false]
      ])
      expect(users[1].filter((u) => u.owner).map((u) => u.name)).toEqual(["Al"])
    })
  )
})

describe("the first run", () => {
  it.live(
    "a fresh server offers to create its owner; the owner lands signed in; then it is a plain sign-in and the create route is refused",
    () =>
      withBrowser({}, async (server, browser) => {
        const code = loggedCode(server)
        const page = await Chromium.newPage(browser)
        await page.goto(`${server.url}/`)
        await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Set up Almanac")
        await expect(page.getByLabel("Setup code").count()).resolves.toBe(0)
        await expect(page.getByText("no setup code is needed").isVisible()).resolves.toBe(true)
        await looksRendered(page, "first-run")
        // The same headers as every other page: no script, forms only to this server, no framing.
        const headers = (await fetch(`${server.url}/`)).headers
        expect(headers.get("content-security-policy")).toContain("default-src 'none'")
        expect(headers.get("content-security-policy")).toContain("form-action 'self'")
        expect(headers.get("cache-control")).toBe("no-store")

        // Refused before anything is created: another site's form, a proxied request, a foreign Host.
        expect(
          (await post(server, "/setup", { name: "Eve" }, { origin: "https://evil.example" })).status
        ).toBe(403)
        expect(
          (await post(server, "/setup", { name: "Eve" }, { "x-forwarded-for": "203.0.113.9" })).status
        ).toBe(403)
        const rebound = await rawPost(server, "/setup", "name=Eve", {
          host: "evil.example:8080",
          origin: "http://evil.example:8080"
        })
        expect(rebound.status).toBe(403)
        expect(rebound.body).toContain("Type the setup code")
        await expect(Effect.runPromise(usersOf(server))).resolves.toEqual([])

        await page.getByLabel("Your name").fill("Olga")
        await page.getByRole("button", { name: "Create the owner and sign in" }).click()
        await page.waitForURL(`${server.url}/?notice=owner-created`)
        await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Hello, Olga")
        await expect(page.locator("p[role=status]").textContent()).resolves.toContain(
          "you are this server's owner, and signed in"
        )
        await expect(page.getByRole("link", { name: "People" }).isVisible()).resolves.toBe(true)
        const cookie = (await page.context().cookies()).find((c) => c.name === "almanac_session")
        expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" })
        // A page session of its own, not an API token.
        expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{40,}$/)
        expect(cookie?.value).not.toMatch(/^alm_/)
        await looksRendered(page, "first-run-done")
        const users = await Effect.runPromise(usersOf(server))
        expect(users.map((u) => [u.name, u.owner])).toEqual([["Olga", true]])

        // Another browser: the plain sign-in, which says where tokens come from on this server.
        const other = await Chromium.newPage(browser)
        await other.goto(`${server.url}/`)
        await expect(other.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Sign in")
        const text = await other.locator("main").innerText()
        expect(text).toContain("almanac user create NAME")
        expect(text).toContain("People page")
        expect(text).not.toContain("/api/admin")
        expect(text).not.toContain("admin token")
        await looksRendered(other, "sign-in-after-first-run")

        // The create route is closed, with or without the code that was logged.
        for (const fields of [{ name: "Mallory" }, { name: "Mallory", code }]) {
          const again = await post(server, "/setup", fields)
          expect(again.status).toBe(404)
          expect(again.headers.get("set-cookie")).toBeNull()
        }
        expect((await Effect.runPromise(usersOf(server))).map((u) => u.name)).toEqual(["Olga"])

        // The session is Olga's, and signing out and in with a token made on People works.
        await page.getByRole("link", { name: "People" }).click()
        await page.getByRole("button", { name: "New token for Olga" }).click()
        const token = (await page.locator("#issued-token").textContent()) ?? ""
        expect(token).toMatch(/^alm_/)
        expect(page.url()).toBe(`${server.url}/people/${users[0]?.id}/token`)
        await page.getByRole("button", { name: "Sign out" }).click()
        await page.getByLabel("API token").fill(token)
        await page.getByRole("button", { name: "Sign in" }).click()
        await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Hello, Olga")
      }),
    60_000
  )

  it.live(
    "from another address the setup code is needed; it works once and is never in a URL",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const proxy = yield* behindProxy(server)
        // what the browser and the posts reach: the server, through the proxy
        const front: TestServer.TestServer = { ...server, url: proxy.url }
        const browser = yield* Chromium.launch
        yield* Effect.promise(async () => {
          const code = loggedCode(server)
          const page = await Chromium.newPage(browser)
          const urls: Array<string> = []
          page.on("request", (r) => urls.push(r.url()))
          await page.goto(`${front.url}/`)
          await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Set up Almanac")
          await expect(page.getByLabel("Setup code").isVisible()).resolves.toBe(true)
          await looksRendered(page, "first-run-remote")
          await page.setViewportSize({ width: 390, height: 844 })
          await Chromium.screenshot(page, "390-first-run-remote")
          expect(Number(await page.evaluate("document.documentElement.scrollWidth"))).toBeLessThanOrEqual(390)
          await page.setViewportSize({ width: 1200, height: 900 })

          // No code (the browser insists on one; a plain post shows the server does too).
          const bare = await post(front, "/setup", { name: "Eve" })
          expect(bare.status).toBe(403)
          expect(await bare.text()).toContain("Type the setup code")

          await page.getByLabel("Your name").fill("Rita")
          await page.getByLabel("Setup code").fill("ABCD-EFGH-JKLM-NPQR")
          const refused = page.waitForResponse((r) => r.url().endsWith("/setup"))
          await page.getByRole("button", { name: "Create the owner and sign in" }).click()
          expect((await refused).status()).toBe(403)
          await expect(page.getByRole("alert").innerText()).resolves.toContain("not the setup code")
          await expect(page.getByLabel("Your name").inputValue()).resolves.toBe("Rita")
          await expect(page.getByLabel("Setup code").inputValue()).resolves.toBe("")
          expect(new URL(page.url()).pathname).toBe("/setup")
          await page.goto(page.url())
          expect(new URL(page.url()).pathname).toBe("/")
          await page.getByLabel("Your name").fill("Rita")
          await expect(Effect.runPromise(usersOf(server))).resolves.toEqual([])

          await page.getByLabel("Setup code").fill(code.toLowerCase())
          await page.getByRole("button", { name: "Create the owner and sign in" }).click()
          await page.waitForURL(`${front.url}/?notice=owner-created`)
          await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Hello, Rita")

          // Used once: the same code creates nobody else.
          const again = await post(front, "/setup", { name: "Mallory", code })
          expect(again.status).toBe(404)
          expect((await Effect.runPromise(usersOf(server))).map((u) => [u.name, u.owner])).toEqual([
            ["Rita", true]
          ])
          expect(urls.filter((u) => u.toUpperCase().includes(code.replaceAll("-", "")))).toEqual([])
          expect(urls.filter((u) => u.toUpperCase().includes(code))).toEqual([])
        })
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a server that starts with users logs no setup code and shows the sign-in",
    () =>
      Effect.gen(function* () {
        const dataDir = mkdtempSync(join(tmpdir(), "almanac-restart-"))
        yield* Effect.scoped(
          Effect.flatMap(TestServer.start({ ALMANAC_DATA_DIR: dataDir }), (first) =>
            Effect.promise(() => first.createUser("Ann"))
          )
        )
        const server = yield* TestServer.start({ ALMANAC_DATA_DIR: dataDir })
        expect(server.logs.filter((l) => l.includes("no user exists yet"))).toEqual([])
        const front = yield* Effect.promise(async () => (await fetch(`${server.url}/`)).text())
        expect(front).toContain("<h1>Sign in</h1>")
        expect(front).not.toContain('action="/setup"')
        const create = yield* Effect.promise(() => post(server, "/setup", { name: "Mallory" }))
        expect(create.status).toBe(404)
      }).pipe(Effect.scoped),
    60_000
  )
})

describe("people", () => {
  it.live(
    "the owner adds a person and sees the token once; the person signs in and has no People page",
    () =>
      withBrowser({}, async (server, browser) => {
        const owner = await server.createUser("Olga")
        const page = await Chromium.newPage(browser)
        await page.goto(`${server.url}/`)
        await page.getByLabel("API token").fill(owner.token)
        await page.getByRole("button", { name: "Sign in" }).click()
        await page.getByRole("link", { name: "People" }).click()
        await page.getByLabel("Name").fill("Ben <i>")
        await page.getByRole("button", { name: "Add and show the token" }).click()
        await expect(page.getByRole("heading", { name: "Ben <i> was added" }).isVisible()).resolves.toBe(true)
        const token = (await page.locator("#issued-token").textContent()) ?? ""
        expect(token).toMatch(/^alm_[A-Za-z0-9_-]{43}$/)
        expect(page.url()).toBe(`${server.url}/people`)
        await looksRendered(page, "people-token")
        // Shown once: the page again has no token on it.
        await page.goto(`${server.url}/people`)
        expect(await page.content()).not.toContain(token)
        await expect(page.getByRole("cell", { name: "Ben <i>", exact: true }).isVisible()).resolves.toBe(true)

        const ben = await Chromium.newPage(browser)
        await ben.goto(`${server.url}/`)
        await ben.getByLabel("API token").fill(token)
        await ben.getByRole("button", { name: "Sign in" }).click()
        await expect(ben.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Hello, Ben <i>")
        await expect(ben.getByRole("link", { name: "People" }).count()).resolves.toBe(0)
        expect((await ben.goto(`${server.url}/people`))?.status()).toBe(404)
        const benCookie = await server.sessionCookie(token)
        const asBen = (path: string, fields: Record<string, string>) =>
          post(server, path, fields, { cookie: benCookie })
        expect((await asBen("/people", { name: "Sneaky" })).status).toBe(404)
        expect((await asBen(`/people/${owner.id}/token`, {})).status).toBe(404)
        expect((await Effect.runPromise(usersOf(server))).map((u) => u.name)).toEqual(["Olga", "Ben <i>"])
        // And the owner's own posts still need our origin.
        expect(
          (
            await post(
              server,
              "/people",
              { name: "Sneaky" },
              { cookie: await server.sessionCookie(owner.token), origin: "https://evil.example" }
            )
          ).status
        ).toBe(403)
      }),
    60_000
  )
})

// --- the overview and narrow screens, on a real sync ----------------------------------------------

const xandikos = caldavServer("xandikos")

const dav = <A, E>(f: (client: CalDavClient.CalDavClientShape) => Effect.Effect<A, E>) =>
  Effect.flatMap(
    CalDavClient.make({ auth: { user: xandikos.user, password: Redacted.make("any") } }),
    f
  ).pipe(Effect.provide(NodeHttpClient.layerUndici))

/** Two fresh calendars on Xandikos, one event in the first, and Ann's sync between them. */
const annWithASync = (server: TestServer.TestServer) =>
  Effect.gen(function* () {
    const tag = randomUUID().slice(0, 8)
    const work = { name: `Work ${tag}`, url: `${xandikos.home}firstrun-${tag}-work/` }
    const blocked = { name: `Blocked ${tag}`, url: `${xandikos.home}firstrun-${tag}-blocked/` }
    yield* dav((c) =>
      Effect.all([
        c.mkcalendar(work.url, { displayName: work.name }),
        c.mkcalendar(blocked.url, { displayName: blocked.name })
      ])
    )
    yield* dav((c) =>
      c.put(
        `${work.url}${randomUUID()}.ics`,
        ICalCodec.serialize(
          EventModel.makeResource(
            EventModel.makeEvent({
              uid: `firstrun-${randomUUID()}`,
              start: EventModel.zoned("Europe/Berlin", 2026, 12, 3, 9),
              end: EventModel.zoned("Europe/Berlin", 2026, 12, 3, 10),
              summary: Option.some("Dentist")
            })
          )
        ),
        { _tag: "Create" }
      )
    )
    return yield* Effect.promise(async () => {
      const ann = await server.createUser("Ann")
      const connected = await server.request("POST", "/api/accounts/caldav", {
        token: ann.token,
        body: { url: xandikos.home, username: xandikos.user, password: "any", name: "Team server" }
      })
      expect(connected.status).toBe(201)
      const { account, calendars } = connected.body as {
        account: { id: string }
        calendars: ReadonlyArray<{ id: string; url: string }>
      }
      const idOf = (url: string) => calendars.find((c) => c.url === url)?.id ?? ""
      const sync = await server.request("POST", "/api/relationships", {
        token: ann.token,
        body: {
          sourceCalendarId: idOf(work.url),
          targetCalendarId: idOf(blocked.url),
          direction: "one-way",
          markPrivate: true,
          transp: "keep"
        }
      })
      expect(sync.status).toBe(201)
      return { ann, accountId: account.id, work, blocked, workId: idOf(work.url) }
    })
  })

const signIn = async (page: Page, server: TestServer.TestServer, token: string) => {
  await page.goto(`${server.url}/`)
  await page.getByLabel("API token").fill(token)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.waitForURL(`${server.url}/`)
}

/** Reloads until `check` holds, or fails with the page's text. */
const until = async (page: Page, check: () => Promise<boolean>, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`the page did not reach the expected state:\n${await page.locator("main").innerText()}`)
    await new Promise((r) => setTimeout(r, 250))
    await page.reload()
  }
}

describe("the overview", () => {
  it.live(
    "is a checklist until there is an account and a sync, then says what needs attention or that all is in step",
    () =>
      Effect.gen(function* () {
        // Polls only at the sync's creation: nothing overwrites what the test sets up.
        const server = yield* TestServer.start({ ALMANAC_POLL_INTERVAL: "1h" })
        const browser = yield* Chromium.launch
        const early = yield* Effect.promise(() => server.createUser("Early"))
        const page = yield* Effect.promise(() => Chromium.newPage(browser))
        yield* Effect.promise(async () => {
          await signIn(page, server, early.token)
          await expect(page.getByRole("heading", { name: "Getting set up" }).isVisible()).resolves.toBe(true)
          await expect(page.getByRole("heading", { name: "All in step" }).count()).resolves.toBe(0)
          await looksRendered(page, "overview-setup")
        })

        const { ann, accountId, work, workId } = yield* annWithASync(server)
        yield* Effect.promise(async () => {
          await page.getByRole("button", { name: "Sign out" }).click()
          await signIn(page, server, ann.token)
          await until(page, () => page.getByText(/Last poll .* ago/).isVisible(), 30_000)
          await expect(page.getByRole("heading", { name: "All in step" }).isVisible()).resolves.toBe(true)
          await expect(page.getByRole("heading", { name: "Getting set up" }).count()).resolves.toBe(0)
          await expect(page.getByRole("alert").count()).resolves.toBe(0)
          await expect(page.locator("main").innerText()).resolves.toContain("1 sync, over 2 calendars")
          await looksRendered(page, "overview-in-step")
        })

        // What the engine records when a password is refused, a poll fails and an item is unreadable.
        yield* TestServer.within(
          server,
          Effect.gen(function* () {
            yield* (yield* Accounts).setStatus(accountId, "needs-reauth", Option.some("401 from the server"))
            const store = yield* SyncStore.SyncStore
            yield* store.recordPoll(workId, {
              at: Date.now(),
              error: Option.some("the server answered 500"),
              reconciled: false
            })
            yield* store.quarantine(workId, {
              ref: `${work.url}broken.ics`,
              version: '"1"',
              reason: "no DTSTART"
            })
          })
        ).pipe(Effect.orDie)
        yield* Effect.promise(async () => {
          await page.reload()
          const alert = page.getByRole("alert")
          const text = await alert.innerText()
          expect(text).toContain("1 account needs a new password: Team server")
          expect(text).toContain(`1 calendar fails to sync: ${work.name} (Team server)`)
          expect(text).toContain(`1 item on ${work.name} (Team server) could not be read and is left out`)
          await expect(page.getByRole("heading", { name: "All in step" }).count()).resolves.toBe(0)
          await expect(alert.getByRole("link", { name: "Team server" }).getAttribute("href")).resolves.toBe(
            `/accounts/${accountId}`
          )
          await looksRendered(page, "overview-attention-all")
        })
      }).pipe(Effect.scoped),
    90_000
  )
})

describe("narrow screens", () => {
  it.live(
    "every page fits 390 px: nothing wider than the screen",
    () =>
      Effect.gen(function* () {
        const fresh = yield* TestServer.start()
        const server = yield* TestServer.start({ ALMANAC_POLL_INTERVAL: "1h" })
        const browser = yield* Chromium.launch
        const { ann, accountId, work, workId } = yield* annWithASync(server)
        // Every box a page can show at once: an unreadable item with a long href, a mass-delete
        // stop, a failing poll and an account that needs its password.
        yield* TestServer.within(
          server,
          Effect.gen(function* () {
            const store = yield* SyncStore.SyncStore
            yield* store.quarantine(workId, {
              ref: `${work.url}an-event-with-a-very-long-file-name-that-a-server-made-up-0123456789abcdef.ics`,
              version: '"1"',
              reason: "no DTSTART"
            })
            yield* store.setHalted(workId, Option.some("1 of 1 events vanished from the source at once"))
            yield* store.recordPoll(workId, {
              at: Date.now(),
              error: Option.some(`PROPFIND ${work.url} answered 500 Internal Server Error`),
              reconciled: false
            })
            yield* (yield* Accounts).setStatus(accountId, "needs-reauth", Option.some("401 Unauthorized"))
          })
        ).pipe(Effect.orDie)
        yield* Effect.promise(async () => {
          const context = await browser.newContext({ viewport: { width: 390, height: 844 } })
          context.setDefaultTimeout(10_000)
          const page = await context.newPage()
          const fits = async (name: string) => {
            await Chromium.screenshot(page, `390-${name}`)
            const width = Number(await page.evaluate("document.documentElement.scrollWidth"))
            expect(width, `${name} is ${width} px wide`).toBeLessThanOrEqual(390)
          }
          await page.goto(`${fresh.url}/`)
          await fits("first-run")
          await page.goto(`${server.url}/`)
          await fits("sign-in")
          await page.getByLabel("API token").fill("alm_wrong")
          await page.getByRole("button", { name: "Sign in" }).click()
          await fits("sign-in-refused")
          await signIn(page, server, ann.token)
          await until(page, () => page.getByText(/Needs your attention/).isVisible(), 30_000)
          await fits("overview")
          await page.goto(`${server.url}/accounts`)
          await fits("accounts")
          await page.goto(`${server.url}/accounts/${accountId}`)
          await fits("account")
          await page.goto(`${server.url}/syncs`)
          await fits("syncs")
          await page.getByLabel("Copy events from").selectOption({ label: work.name })
          await page.getByLabel("Into").selectOption({ label: work.name })
          await page.getByRole("button", { name: "Create the sync" }).click()
          await expect(page.getByRole("alert").innerText()).resolves.toContain("cannot sync into itself")
          await fits("syncs-refused")
          await page.goto(`${server.url}/status`)
          await fits("status")
          await page.goto(`${server.url}/people`)
          await fits("people")
          await page.getByLabel("Name").fill("Ben")
          await page.getByRole("button", { name: "Add and show the token" }).click()
          await fits("people-token")
          await page.goto(`${server.url}/accounts/no-such-account`)
          await fits("not-found")
        })
      }).pipe(Effect.scoped),
    90_000
  )
})
