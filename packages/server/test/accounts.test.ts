/**
 * Accounts through the real API, the real database and real CalDAV servers (Xandikos and
 * Radicale): connect, list, refresh, remove (with the secret gone from the SQLite file's bytes),
 * ownership between two users, the URL check, the iCloud password format, and refused and
 * changed passwords on a Radicale that checks them.
 */
import { randomUUID } from "node:crypto"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { CalDavClient } from "@almanac/caldav"
import { Policy, type Relationship, SyncStore } from "@almanac/core"
import { Reactivity } from "@effect/experimental"
import { NodeHttpClient } from "@effect/platform-node"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted, Schedule, Schema } from "effect"
import { caldavServer } from "../../../scripts/test-servers/context.js"
import { startRadicaleWithAuth } from "../../../scripts/test-servers/servers.js"
import { sameUrlKey } from "../src/app/AccountService.js"
import { Accounts } from "../src/store/Accounts.js"
import * as RelationshipOwners from "../src/store/RelationshipOwners.js"
import * as TestServer from "./support/TestServer.js"

const Calendar = Schema.Struct({
  id: Schema.String,
  accountId: Schema.String,
  url: Schema.String,
  name: Schema.NullOr(Schema.String),
  color: Schema.NullOr(Schema.String),
  lastPollAt: Schema.NullOr(Schema.String),
  lastSuccessAt: Schema.NullOr(Schema.String),
  lastError: Schema.NullOr(Schema.String),
  halted: Schema.NullOr(Schema.String),
  quarantined: Schema.Number,
  inRelationship: Schema.Boolean
})
const Account = Schema.Struct({
  id: Schema.String,
  kind: Schema.Literal("icloud", "caldav"),
  name: Schema.String,
  url: Schema.String,
  username: Schema.String,
  status: Schema.Literal("ok", "needs-reauth"),
  lastError: Schema.NullOr(Schema.String),
  createdAt: Schema.String
})
const Connected = Schema.Struct({ account: Account, calendars: Schema.Array(Calendar) })
const ErrorBody = Schema.Struct({ _tag: Schema.String, message: Schema.String })

/** Every response body a test saw, to check that no password ever comes back. */
class Api {
  readonly seen: Array<string> = []
  constructor(
    readonly server: TestServer.TestServer,
    readonly token: string
  ) {}
  call(method: string, path: string, body?: unknown) {
    return Effect.promise(() =>
      this.server.request(method, path, { token: this.token, ...(body === undefined ? {} : { body }) })
    ).pipe(Effect.tap((res) => Effect.sync(() => this.seen.push(JSON.stringify(res.body ?? null)))))
  }
  /** Calls, insists on `status`, decodes the body. */
  expect<A, I>(status: number, schema: Schema.Schema<A, I>, method: string, path: string, body?: unknown) {
    return this.call(method, path, body).pipe(
      Effect.flatMap((res) =>
        res.status === status
          ? Schema.decodeUnknown(schema)(res.body).pipe(Effect.orDie)
          : Effect.dieMessage(
              `${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`
            )
      )
    )
  }
}

const users = (server: TestServer.TestServer) =>
  Effect.promise(async () => {
    const ann = await server.createUser("Ann")
    const bob = await server.createUser("Bob")
    return { ann: new Api(server, ann.token), annId: ann.id, bob: new Api(server, bob.token) }
  })

/** A calendar home of its own where the server allows it (Radicale: one user per test), else the shared one. */
const homeOn = (name: "xandikos" | "radicale") => {
  const server = caldavServer(name)
  if (name === "xandikos") return { home: server.home, user: server.user }
  const user = `u${randomUUID().slice(0, 8)}`
  return { home: `${server.url}${user}/`, user }
}

const makeCalendars = (
  auth: { readonly user: string; readonly password: string },
  home: string,
  calendars: ReadonlyArray<{ readonly name: string; readonly components?: ReadonlyArray<string> }>
) =>
  Effect.gen(function* () {
    const client = yield* CalDavClient.make({
      auth: { user: auth.user, password: Redacted.make(auth.password) }
    })
    const urls: Array<string> = []
    for (const c of calendars) {
      const url = `${home}${c.name}-${randomUUID().slice(0, 8)}/`
      yield* client.mkcalendar(url, { displayName: c.name, components: c.components })
      urls.push(url)
    }
    return urls
  }).pipe(Effect.provide(NodeHttpClient.layerUndici))

/** The SQLite file and its write-ahead log, as bytes. */
const databaseBytes = (server: TestServer.TestServer) => {
  const file = join(server.dataDir, "almanac.db")
  return Buffer.concat([file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)))
}

/** A second connection to the server's database (closed with its scope). */
const database = (server: TestServer.TestServer) =>
  SqliteClient.make({ filename: join(server.dataDir, "almanac.db") }).pipe(Effect.provide(Reactivity.layer))

const sealedSecret = (server: TestServer.TestServer, accountId: string) =>
  Effect.gen(function* () {
    const sql = yield* database(server)
    const rows = yield* sql`SELECT secret FROM accounts WHERE id = ${accountId}`
    return String(rows[0]?.secret)
  }).pipe(Effect.scoped, Effect.orDie)

describe.each(["xandikos", "radicale"] as const)("accounts on %s", (name) => {
  it.live(
    "connect from the calendar home, list, get, refresh, remove: the secret leaves the database file",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const { ann } = yield* users(server)
        const { home, user } = homeOn(name)
        const password = `pw-${randomUUID()}`
        const [work, family] = yield* makeCalendars({ user, password }, home, [
          { name: "Work" },
          { name: "Family" }
        ])
        // Xandikos cannot make a calendar for tasks only (it ignores the component set); Radicale can.
        const tasks =
          name === "radicale"
            ? yield* makeCalendars({ user, password }, home, [{ name: "Tasks", components: ["VTODO"] }])
            : []

        const connected = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
          url: home,
          username: user,
          password,
          name: `My ${name}`
        })
        expect(connected.account).toMatchObject({
          kind: "caldav",
          name: `My ${name}`,
          username: user,
          status: "ok"
        })
        const urls = connected.calendars.map((c) => c.url)
        expect(urls).toEqual(expect.arrayContaining([work, family]))
        for (const t of tasks) expect(urls).not.toContain(t)
        const workView = connected.calendars.find((c) => c.url === work)
        expect(workView).toMatchObject({
          accountId: connected.account.id,
          name: "Work",
          lastPollAt: null,
          halted: null,
          quarantined: 0,
          inRelationship: false
        })
        const id = connected.account.id

        const listed = yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")
        expect(listed.map((a) => a.id)).toEqual([id])
        expect(yield* ann.expect(200, Account, "GET", `/api/accounts/${id}`)).toEqual(connected.account)
        const calendars = yield* ann.expect(
          200,
          Schema.Array(Calendar),
          "GET",
          `/api/accounts/${id}/calendars`
        )
        expect(calendars.map((c) => c.url).sort()).toEqual([...urls].sort())

        // A calendar created on the server since shows up on refresh, with its id stable for the others.
        const [later] = yield* makeCalendars({ user, password }, home, [{ name: "Later" }])
        const refreshed = yield* ann.expect(200, Connected, "POST", `/api/accounts/${id}/refresh`)
        expect(refreshed.calendars.map((c) => c.url)).toEqual(expect.arrayContaining([work, family, later]))
        expect(refreshed.calendars.find((c) => c.url === work)?.id).toBe(workView?.id)

        // Connecting the same account again is refused, pointing at the one that exists.
        const again = yield* ann.call("POST", "/api/accounts/caldav", { url: home, username: user, password })
        expect(again.status).toBe(409)
        expect(JSON.stringify(again.body)).toContain(id)

        const sealed = yield* sealedSecret(server, id)
        expect(sealed.length).toBeGreaterThan(20)
        expect(sealed).not.toContain(password)
        const before = databaseBytes(server)
        // The check below can only pass for the right reason if it would have seen the secret here.
        expect(before.includes(Buffer.from(sealed))).toBe(true)
        expect(before.includes(Buffer.from(password))).toBe(false)

        const removed = yield* ann.call("DELETE", `/api/accounts/${id}`)
        expect(removed.status).toBe(204)
        expect((yield* ann.call("GET", `/api/accounts/${id}`)).status).toBe(404)
        expect((yield* ann.call("GET", `/api/accounts/${id}/calendars`)).status).toBe(404)
        expect(yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")).toEqual([])
        const leftovers = yield* Effect.gen(function* () {
          const sql = yield* database(server)
          return yield* sql`SELECT id FROM calendars WHERE account_id = ${id} UNION ALL SELECT id FROM accounts WHERE id = ${id}`
        }).pipe(Effect.scoped, Effect.orDie)
        expect(leftovers).toEqual([])

        const after = databaseBytes(server)
        expect(after.includes(Buffer.from(sealed))).toBe(false)
        expect(after.includes(Buffer.from(password))).toBe(false)
        for (const body of ann.seen) expect(body).not.toContain(password)
      }).pipe(Effect.scoped)
  )
})

describe("accounts", () => {
  it.live("a home with only a task list has no event calendar: 422, and nothing is stored", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const { ann } = yield* users(server)
      // On Radicale, where a calendar can be made for tasks only and each user has a home of their own.
      const { home, user } = homeOn("radicale")
      yield* makeCalendars({ user, password: "x" }, home, [{ name: "Chores", components: ["VTODO"] }])
      const res = yield* ann.expect(422, ErrorBody, "POST", "/api/accounts/caldav", {
        url: home,
        username: user,
        password: "whatever"
      })
      expect(res.message).toContain("no calendar that can hold events")
      expect(yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")).toEqual([])
    }).pipe(Effect.scoped)
  )
  it.live(
    "a second user can neither see, re-authenticate, refresh, list the calendars of nor remove the first user's account",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const { ann, bob } = yield* users(server)
        const { home, user } = homeOn("radicale")
        yield* makeCalendars({ user, password: "p" }, home, [{ name: "Ann's" }])
        const connected = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
          url: home,
          username: user,
          password: "ann-secret"
        })
        const id = connected.account.id
        expect(yield* bob.expect(200, Schema.Array(Account), "GET", "/api/accounts")).toEqual([])
        const attempts = [
          ["GET", `/api/accounts/${id}`, undefined],
          ["GET", `/api/accounts/${id}/calendars`, undefined],
          ["PUT", `/api/accounts/${id}/password`, { password: "bob-was-here" }],
          ["POST", `/api/accounts/${id}/refresh`, undefined],
          ["DELETE", `/api/accounts/${id}`, undefined]
        ] as const
        const missing = yield* bob.call("GET", `/api/accounts/${randomUUID()}`)
        expect(missing.status).toBe(404)
        for (const [method, path, body] of attempts) {
          const res = yield* bob.call(method, path, body)
          expect(res.status, `${method} ${path}`).toBe(404)
          // Exactly what an account that does not exist gets, apart from the id.
          expect(Object.keys(res.body as object).sort()).toEqual(Object.keys(missing.body as object).sort())
        }
        // Ann's account is untouched, password included (a refresh still works with it).
        const still = yield* ann.expect(200, Connected, "POST", `/api/accounts/${id}/refresh`)
        expect(still.account.status).toBe("ok")
        expect(still.calendars.length).toBe(connected.calendars.length)
        expect((yield* ann.call("GET", "/api/accounts")).body).toHaveLength(1)
        // And without a token there is nothing at all.
        expect((yield* Effect.promise(() => server.request("GET", "/api/accounts"))).status).toBe(401)
      }).pipe(Effect.scoped)
  )

  it.live("removing an account removes the relationships touching its calendars, and only those", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const { ann, annId } = yield* users(server)
      const r = homeOn("radicale")
      const x = homeOn("xandikos")
      const [rCal = ""] = yield* makeCalendars({ user: r.user, password: "p" }, r.home, [{ name: "R" }])
      const [x1 = "", x2 = ""] = yield* makeCalendars({ user: x.user, password: "p" }, x.home, [
        { name: "X1" },
        { name: "X2" }
      ])
      const a = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
        url: r.home,
        username: r.user,
        password: "pa"
      })
      // One calendar URL is enough for an account; this one has X1 and X2 only.
      const b1 = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
        url: x1,
        username: x.user,
        password: "pb"
      })
      const b2 = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
        url: x2,
        username: x.user,
        password: "pb"
      })
      const idOf = (c: typeof Connected.Type, url: string) => c.calendars.find((k) => k.url === url)?.id ?? ""
      const [aCal, bCal1, bCal2] = [idOf(a, rCal), idOf(b1, x1), idOf(b2, x2)]
      expect([aCal, bCal1, bCal2].every((k) => k !== "")).toBe(true)

      // Relationships as the engine stores them (paused, so no actor starts syncing real events).
      const relationship = (id: string, source: string, target: string): Relationship.Relationship => ({
        id,
        sourceCalendarId: source,
        targetCalendarId: target,
        pairId: Option.none(),
        policy: Policy.defaultPolicy,
        window: Option.none(),
        paused: true
      })
      yield* Effect.gen(function* () {
        const store = yield* SyncStore.make
        const owners = yield* RelationshipOwners.make.pipe(Effect.provideService(SyncStore.SyncStore, store))
        yield* owners.save(annId, [
          relationship("a-to-b", aCal, bCal1),
          relationship("b-to-a", bCal2, aCal),
          relationship("b-to-b", bCal1, bCal2)
        ])
        for (const rel of ["a-to-b", "b-to-a", "b-to-b"])
          yield* store.saveLink({
            relationshipId: rel,
            sourceUid: `uid-${rel}`,
            key: `key-${rel}`,
            sourceRef: "/s.ics",
            sourceVersion: '"1"',
            targetRef: "/t.ics",
            targetVersion: '"2"',
            contentHash: "h",
            sequence: 0
          })
        yield* store.recordConflict({
          relationshipId: "a-to-b",
          sourceUid: "u",
          targetRef: "/t.ics",
          detail: "d"
        })
      }).pipe(
        Effect.provide(SqliteClient.layer({ filename: join(server.dataDir, "almanac.db") })),
        Effect.orDie
      )

      const aCalendars = yield* ann.expect(
        200,
        Schema.Array(Calendar),
        "GET",
        `/api/accounts/${a.account.id}/calendars`
      )
      expect(aCalendars.find((c) => c.id === aCal)?.inRelationship).toBe(true)

      expect((yield* ann.call("DELETE", `/api/accounts/${a.account.id}`)).status).toBe(204)

      const rows = yield* Effect.gen(function* () {
        const sql = yield* database(server)
        const rels = yield* sql`SELECT id FROM relationships ORDER BY id`
        const links = yield* sql`SELECT relationship_id FROM links ORDER BY relationship_id`
        const conflicts = yield* sql`SELECT relationship_id FROM conflicts`
        return { rels, links, conflicts }
      }).pipe(Effect.scoped, Effect.orDie)
      expect(rows.rels).toEqual([{ id: "b-to-b" }])
      expect(rows.links).toEqual([{ relationship_id: "b-to-b" }])
      expect(rows.conflicts).toEqual([])
      const b1Calendars = yield* ann.expect(
        200,
        Schema.Array(Calendar),
        "GET",
        `/api/accounts/${b1.account.id}/calendars`
      )
      expect(b1Calendars.find((c) => c.id === bCal1)?.inRelationship).toBe(true)
    }).pipe(Effect.scoped)
  )

  it.live(
    "with private URLs not allowed, the loopback test servers are refused with 400 and the reason",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start({ ALMANAC_ALLOW_PRIVATE_URLS: "false" })
        const { ann } = yield* users(server)
        const radicale = caldavServer("radicale")
        const port = new URL(radicale.url).port
        for (const [url, words] of [
          [radicale.home, "loopback"],
          [`http://localhost:${port}/`, "localhost resolves to"],
          [`http://[::ffff:127.0.0.1]:${port}/`, "loopback"],
          ["http://169.254.169.254/latest/meta-data/", "cloud metadata"],
          ["ftp://caldav.example.com/", "https://"]
        ] as const) {
          const res = yield* ann.expect(400, ErrorBody, "POST", "/api/accounts/caldav", {
            url,
            username: "almanac",
            password: "pw-guarded"
          })
          expect(res.message, url).toContain(words)
        }
        // Credentials in the URL are refused, and the refusal does not repeat them.
        const withCreds = yield* ann.call("POST", "/api/accounts/caldav", {
          url: `http://almanac:url-secret@127.0.0.1:${port}/`,
          username: "almanac",
          password: "pw-guarded"
        })
        expect(withCreds.status).toBe(400)
        expect(JSON.stringify(withCreds.body)).toContain("user name or password")
        expect(JSON.stringify(withCreds.body)).not.toContain("url-secret")
        expect(yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")).toEqual([])
        for (const body of ann.seen) expect(body).not.toContain("pw-guarded")
      }).pipe(Effect.scoped)
  )

  it.live("an unreachable server is a 502; a URL with no CalDAV behind it is a 422", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const { ann } = yield* users(server)
      // Our own server's port after it closed: nothing listens there.
      const closed = yield* Effect.gen(function* () {
        const other = yield* TestServer.start()
        return other.url
      }).pipe(Effect.scoped)
      const down = yield* ann.expect(502, ErrorBody, "POST", "/api/accounts/caldav", {
        url: `${closed}/dav/`,
        username: "a",
        password: "b"
      })
      expect(down.message).toContain("could not be reached")
      // The Almanac API itself is an HTTP server that is not CalDAV.
      const notDav = yield* ann.expect(422, ErrorBody, "POST", "/api/accounts/caldav", {
        url: `${server.url}/api/health`,
        username: "a",
        password: "b"
      })
      expect(notDav.message).toContain("no CalDAV calendars could be found")
    }).pipe(Effect.scoped)
  )

  it.live(
    "the same account twice is a 409 naming the one there: another spelling of its URL, the server's root, the same Apple ID",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const { ann, bob } = yield* users(server)
        const { home, user } = homeOn("radicale")
        const [work] = yield* makeCalendars({ user, password: "x" }, home, [{ name: "Work" }])
        const first = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
          url: home,
          username: user,
          password: "x",
          name: "Ann at Radicale"
        })
        const id = first.account.id
        const refusedAs = (res: { readonly status: number; readonly body: unknown }) => {
          expect(res.status).toBe(409)
          const message = (res.body as { message: string }).message
          expect(message).toContain(id)
          expect(message).toContain('"Ann at Radicale"')
        }
        // The same URL spelt otherwise: upper-case scheme, no trailing slash.
        refusedAs(
          yield* ann.call("POST", "/api/accounts/caldav", {
            url: home.replace(/^http:/, "HTTP:").replace(/\/$/, ""),
            username: user,
            password: "x"
          })
        )
        // The server's root with the same user: discovery finds the same calendars.
        refusedAs(
          yield* ann.call("POST", "/api/accounts/caldav", {
            url: caldavServer("radicale").url,
            username: user,
            password: "x"
          })
        )
        const listed = yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")
        expect(listed.map((a) => a.id)).toEqual([id])
        const calendars = yield* ann.expect(
          200,
          Schema.Array(Calendar),
          "GET",
          `/api/accounts/${id}/calendars`
        )
        expect(calendars.map((c) => c.url)).toContain(work)
        // Another user of Almanac may connect it: the check is among one person's accounts.
        yield* bob.expect(201, Connected, "POST", "/api/accounts/caldav", {
          url: home,
          username: user,
          password: "x"
        })

        // The same Apple ID in another case, refused before Apple is asked (these machines cannot reach it).
        const icloudId = randomUUID()
        const me = yield* ann.expect(200, Schema.Struct({ id: Schema.String }), "GET", "/api/me")
        yield* TestServer.within(
          server,
          Effect.flatMap(Accounts, (accounts) =>
            accounts.insert(
              {
                id: icloudId,
                userId: me.id,
                kind: "icloud",
                url: "https://caldav.icloud.com/",
                username: "Ann.Example@iCloud.com",
                displayName: Option.some("Ann's iPhone calendars")
              },
              Redacted.make("abcd-efgh-ijkl-mnop")
            )
          )
        ).pipe(Effect.orDie)
        const twice = yield* ann.call("POST", "/api/accounts/icloud", {
          appleId: "ann.example@icloud.com",
          appSpecificPassword: "abcd-efgh-ijkl-mnop"
        })
        expect(twice.status).toBe(409)
        expect((twice.body as { message: string }).message).toContain(icloudId)
        expect((twice.body as { message: string }).message).toContain("Ann's iPhone calendars")
      }).pipe(Effect.scoped)
  )

  it("URLs compare as places: scheme and host case, default port, trailing slash and fragment do not count", () => {
    expect(sameUrlKey("HTTPS://CalDAV.Example.com:443/dav/ann/#x")).toBe(
      sameUrlKey("https://caldav.example.com/dav/ann")
    )
    expect(sameUrlKey("https://caldav.example.com/dav/ann/")).not.toBe(
      sameUrlKey("https://caldav.example.com/dav/bob/")
    )
    expect(sameUrlKey("https://caldav.example.com/Dav/")).not.toBe(
      sameUrlKey("https://caldav.example.com/dav/")
    )
  })

  it.live("iCloud: what is not an app-specific password is refused with 400 before Apple is asked", () =>
    Effect.gen(function* () {
      // No private URLs and, on these machines, no way out: Apple cannot be what answers.
      const server = yield* TestServer.start({ ALMANAC_ALLOW_PRIVATE_URLS: "false" })
      const { ann } = yield* users(server)
      for (const password of [
        "MyNormalAppleIdPassword1!",
        "abcd-efgh-ijkl",
        "ABCD-EFGH-IJKL-MNOP",
        "abcd-efgh-ijkl-mnop-qrst",
        "abcd-efgh-ijkl-mn0p"
      ]) {
        const res = yield* ann.expect(400, ErrorBody, "POST", "/api/accounts/icloud", {
          appleId: "ann@icloud.com",
          appSpecificPassword: password
        })
        expect(res.message).toContain("xxxx-xxxx-xxxx-xxxx")
        expect(res.message).toContain("normal Apple ID password does not work")
        expect(res.message).toContain("appleid.apple.com")
        expect(res.message).toContain("App-Specific Passwords")
        expect(JSON.stringify(res)).not.toContain(password)
      }
      const empty = yield* ann.call("POST", "/api/accounts/icloud", {
        appleId: " ",
        appSpecificPassword: "x"
      })
      expect(empty.status).toBe(400)
      expect(JSON.stringify(empty.body)).toContain("appleId")
      expect(yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")).toEqual([])
    }).pipe(Effect.scoped)
  )

  it.live(
    "a server that checks passwords: a wrong one is a 422, a changed one parks the account until re-authentication",
    () =>
      Effect.gen(function* () {
        const radicale = yield* Effect.acquireRelease(
          Effect.promise(() => startRadicaleWithAuth({ ann: "first-password" })),
          (s) => Effect.promise(() => s.stop())
        )
        yield* makeCalendars({ user: "ann", password: "first-password" }, radicale.home, [
          { name: "Checked" }
        ])
        const server = yield* TestServer.start()
        const { ann, bob } = yield* users(server)
        const connect = (password: string) => ({ url: radicale.home, username: "ann", password })

        const wrong = yield* ann.expect(
          422,
          ErrorBody,
          "POST",
          "/api/accounts/caldav",
          connect("not-the-password")
        )
        expect(wrong.message).toContain("refused the user name or password")
        expect(yield* ann.expect(200, Schema.Array(Account), "GET", "/api/accounts")).toEqual([])

        const connected = yield* ann.expect(
          201,
          Connected,
          "POST",
          "/api/accounts/caldav",
          connect("first-password")
        )
        const id = connected.account.id
        expect(connected.calendars.map((c) => c.name)).toContain("Checked")

        // The password changes on the server: a refresh is refused and marks the account.
        radicale.setUsers({ ann: "second-password" })
        yield* ann.expect(422, ErrorBody, "POST", `/api/accounts/${id}/refresh`)
        const parked = yield* ann.expect(200, Account, "GET", `/api/accounts/${id}`)
        expect(parked.status).toBe("needs-reauth")
        expect(parked.lastError).toContain("refused")

        // A wrong new password is refused and not stored; someone else cannot set one at all.
        yield* ann.expect(422, ErrorBody, "PUT", `/api/accounts/${id}/password`, { password: "still-wrong" })
        expect((yield* ann.expect(200, Account, "GET", `/api/accounts/${id}`)).status).toBe("needs-reauth")
        expect(
          (yield* bob.call("PUT", `/api/accounts/${id}/password`, { password: "second-password" })).status
        ).toBe(404)
        expect((yield* ann.expect(200, Account, "GET", `/api/accounts/${id}`)).status).toBe("needs-reauth")

        const sealedBefore = yield* sealedSecret(server, id)
        const fixed = yield* ann.expect(200, Connected, "PUT", `/api/accounts/${id}/password`, {
          password: "second-password"
        })
        expect(fixed.account.status).toBe("ok")
        expect(fixed.account.lastError).toBeNull()
        expect(fixed.calendars.map((c) => c.name)).toContain("Checked")
        expect(yield* sealedSecret(server, id)).not.toBe(sealedBefore)
        // The stored password is the new one: a refresh with it works.
        yield* ann.expect(200, Connected, "POST", `/api/accounts/${id}/refresh`)

        for (const body of [...ann.seen, ...bob.seen])
          for (const secret of ["first-password", "second-password", "still-wrong", "not-the-password"])
            expect(body).not.toContain(secret)
      }).pipe(Effect.scoped)
  )

  it.live("re-authentication sets the account's calendars that take part in a sync polling again", () =>
    Effect.gen(function* () {
      const radicale = yield* Effect.acquireRelease(
        Effect.promise(() => startRadicaleWithAuth({ ann: "old-password" })),
        (s) => Effect.promise(() => s.stop())
      )
      const [source = "", target = ""] = yield* makeCalendars(
        { user: "ann", password: "old-password" },
        radicale.home,
        [{ name: "Source" }, { name: "Target" }]
      )
      const server = yield* TestServer.start()
      const { ann, annId } = yield* users(server)
      const connected = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
        url: radicale.home,
        username: "ann",
        password: "old-password"
      })
      const id = connected.account.id
      const idOf = (url: string) => connected.calendars.find((c) => c.url === url)?.id ?? ""
      // A relationship written straight to the store: no actor has been asked to watch either calendar.
      yield* Effect.gen(function* () {
        const store = yield* SyncStore.make
        const owners = yield* RelationshipOwners.make.pipe(Effect.provideService(SyncStore.SyncStore, store))
        yield* owners.save(annId, [
          {
            id: "source-to-target",
            sourceCalendarId: idOf(source),
            targetCalendarId: idOf(target),
            pairId: Option.none(),
            policy: Policy.defaultPolicy,
            window: Option.none(),
            paused: false
          }
        ])
      }).pipe(
        Effect.provide(SqliteClient.layer({ filename: join(server.dataDir, "almanac.db") })),
        Effect.orDie
      )
      radicale.setUsers({ ann: "new-password" })
      yield* ann.expect(422, ErrorBody, "POST", `/api/accounts/${id}/refresh`)
      const calendars = () => ann.expect(200, Schema.Array(Calendar), "GET", `/api/accounts/${id}/calendars`)
      expect((yield* calendars()).every((c) => c.lastPollAt === null)).toBe(true)

      const fixed = yield* ann.expect(200, Connected, "PUT", `/api/accounts/${id}/password`, {
        password: "new-password"
      })
      expect(
        fixed.calendars
          .filter((c) => c.inRelationship)
          .map((c) => c.url)
          .sort()
      ).toEqual([source, target].sort())
      // The source polls with the new password, soon and successfully.
      const polled = yield* calendars().pipe(
        Effect.map((all) => all.find((c) => c.url === source)),
        Effect.filterOrFail((c) => c?.lastSuccessAt !== null && c?.lastSuccessAt !== undefined),
        Effect.retry({ schedule: Schedule.spaced("200 millis"), times: 75 })
      )
      expect(polled?.lastError).toBeNull()
    }).pipe(Effect.scoped)
  )

  it.live("a refresh drops a calendar the server no longer lists, unless a relationship uses it", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const { ann, annId } = yield* users(server)
      const { home, user } = homeOn("radicale")
      const [gone = "", used = "", kept = ""] = yield* makeCalendars({ user, password: "p" }, home, [
        { name: "Gone" },
        { name: "Used" },
        { name: "Kept" }
      ])
      const connected = yield* ann.expect(201, Connected, "POST", "/api/accounts/caldav", {
        url: home,
        username: user,
        password: "p"
      })
      const idOf = (url: string) => connected.calendars.find((c) => c.url === url)?.id ?? ""
      yield* Effect.gen(function* () {
        const store = yield* SyncStore.make
        const owners = yield* RelationshipOwners.make.pipe(Effect.provideService(SyncStore.SyncStore, store))
        yield* owners.save(annId, [
          {
            id: "used-to-kept",
            sourceCalendarId: idOf(used),
            targetCalendarId: idOf(kept),
            pairId: Option.none(),
            policy: Policy.defaultPolicy,
            window: Option.none(),
            paused: true
          }
        ])
      }).pipe(
        Effect.provide(SqliteClient.layer({ filename: join(server.dataDir, "almanac.db") })),
        Effect.orDie
      )
      for (const url of [gone, used]) {
        const res = yield* Effect.promise(() =>
          fetch(url, {
            method: "DELETE",
            headers: { authorization: `Basic ${Buffer.from(`${user}:p`).toString("base64")}` }
          })
        )
        expect(res.ok, url).toBe(true)
      }
      const refreshed = yield* ann.expect(
        200,
        Connected,
        "POST",
        `/api/accounts/${connected.account.id}/refresh`
      )
      expect(refreshed.calendars.map((c) => c.url).sort()).toEqual([kept, used].sort())
      expect(refreshed.calendars.find((c) => c.url === used)?.inRelationship).toBe(true)
      const listed = yield* ann.expect(
        200,
        Schema.Array(Calendar),
        "GET",
        `/api/accounts/${connected.account.id}/calendars`
      )
      expect(listed.map((c) => c.id).sort()).toEqual([idOf(kept), idOf(used)].sort())
    }).pipe(Effect.scoped)
  )
})
