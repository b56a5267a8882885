/**
 * The server as people run it: `almanac serve` in its own process, driven only through its HTTP
 * API, syncing between calendars on a Radicale that checks passwords. It covers what a unit
 * cannot: a restart keeps everything and resumes polling by itself, SIGTERM stops cleanly, a
 * revoked password parks the calendar until re-authentication, the database file holds no
 * plaintext password and no log line holds a secret.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as Calendars from "./support/Calendars.js"
import * as PasswordRadicale from "./support/PasswordRadicale.js"
import { api, serve, stop, waitUntil } from "./support/ServeProcess.js"

const event = (uid: string, summary: string, day: number) =>
  Calendars.calendar(
    Calendars.vevent(uid, [
      `DTSTART:202612${String(day).padStart(2, "0")}T100000Z`,
      `DTEND:202612${String(day).padStart(2, "0")}T110000Z`,
      `SUMMARY:${summary}`,
      "DESCRIPTION:the secret agenda"
    ])
  )

describe("almanac serve, end to end", () => {
  it.live(
    "connect, sync, restart, revoke, re-authenticate: state survives, secrets never leak",
    () =>
      Effect.gen(function* () {
        const radicale = yield* PasswordRadicale.start
        const password = radicale.password
        const direct = yield* CalDavClient.make({
          auth: { user: radicale.user, password: Redacted.make(radicale.password) },
          timeout: "10 seconds"
        })
        const sourceUrl = `${radicale.home}work-${randomUUID()}/`
        const targetUrl = `${radicale.home}family-${randomUUID()}/`
        yield* direct.mkcalendar(sourceUrl, { displayName: "Work" })
        yield* direct.mkcalendar(targetUrl, { displayName: "Family" })
        yield* Calendars.put(direct, sourceUrl, "one", event("e2e-one", "Dentist", 1))
        // Reads the target as its owner, with whatever password the server accepts now.
        let currentPassword = password
        const targetContents = () =>
          Effect.runPromise(
            CalDavClient.make({
              auth: { user: radicale.user, password: Redacted.make(currentPassword) }
            }).pipe(
              Effect.flatMap((client) => Calendars.contents(client, targetUrl)),
              Effect.map((items) => items.map((i) => i.data)),
              Effect.provide(NodeHttpClient.layerUndici)
            )
          )

        const dataDir = mkdtempSync(join(tmpdir(), "almanac-e2e-"))
        const port = yield* Effect.promise(freePort)
        const url = `http://127.0.0.1:${port}`
        const adminToken = randomBytes(24).toString("hex")
        const env = {
          ALMANAC_DATA_DIR: dataDir,
          ALMANAC_PORT: String(port),
          ALMANAC_ADMIN_TOKEN: adminToken,
          ALMANAC_ALLOW_PRIVATE_URLS: "true",
          ALMANAC_POLL_INTERVAL: "2s",
          ALMANAC_LOG_FORMAT: "json"
        }
        const logs: Array<string> = []
        const newPassword = `changed-${randomBytes(6).toString("hex")}`

        const run = yield* Effect.promise(async () => {
          // First life: connect, create a private one-way sync, see the copy arrive.
          let server = await serve(env, url)
          const admin = api(url, adminToken)
          const created = await admin("POST", "/api/admin/users", { name: "Ann" })
          expect(created.status).toBe(201)
          const userToken = (created.body as { token: { token: string } }).token.token
          const call = api(url, userToken)
          const connected = await call("POST", "/api/accounts/caldav", {
            url: radicale.home,
            username: radicale.user,
            password: radicale.password
          })
          expect(connected.status).toBe(201)
          const { account, calendars } = connected.body as {
            account: { id: string }
            calendars: ReadonlyArray<{ id: string; url: string }>
          }
          const idOf = (u: string) => {
            const found = calendars.find((c) => c.url === u)
            if (found === undefined) throw new Error(`discovery did not find ${u}`)
            return found.id
          }
          const source = idOf(sourceUrl)
          const relationship = await call("POST", "/api/relationships", {
            sourceCalendarId: source,
            targetCalendarId: idOf(targetUrl),
            direction: "one-way",
            markPrivate: true
          })
          expect(relationship.status).toBe(201)
          const copies = await waitUntil("the first copy", targetContents, (items) => items.length === 1)
          expect(copies[0]).toContain("SUMMARY:Busy")
          expect(copies[0]).not.toContain("Dentist")
          expect(copies[0]).not.toContain("secret agenda")
          const status = await waitUntil(
            "a successful poll in the status",
            () => call("GET", `/api/calendars/${source}/status`),
            (r) => (r.body as { lastSuccessAt: string | null }).lastSuccessAt !== null
          )
          expect(status.status).toBe(200)

          // What browsers ask for by themselves, and a mistyped path: answered, and logged without a trace.
          expect((await fetch(`${url}/favicon.ico`)).status).toBe(204)
          expect((await fetch(`${url}/no-such-page`)).status).toBe(404)

          // SIGTERM: a clean stop.
          expect(await stop(server)).toBe(0)
          logs.push(server.output())

          // While it is down, a new event; after the restart it is copied without any API call.
          await Effect.runPromise(
            Calendars.put(direct, sourceUrl, "two", event("e2e-two", "Lunch", 2)).pipe(
              Effect.provide(NodeHttpClient.layerUndici)
            )
          )
          server = await serve(env, url)
          await waitUntil("the copy made after the restart", targetContents, (items) => items.length === 2)
          const listed = await call("GET", "/api/relationships")
          expect(listed.status).toBe(200)
          expect(listed.body).toHaveLength(1)
          const accounts = await call("GET", "/api/accounts")
          expect(accounts.body).toMatchObject([{ id: account.id, status: "ok" }])

          // The password is revoked at the server: the calendar parks, the account says so,
          // and nothing on the target is touched.
          await radicale.setPassword(newPassword)
          currentPassword = newPassword
          await Effect.runPromise(
            CalDavClient.make({ auth: { user: radicale.user, password: Redacted.make(newPassword) } }).pipe(
              Effect.flatMap((client) =>
                Calendars.put(client, sourceUrl, "three", event("e2e-three", "Gym", 3))
              ),
              Effect.provide(NodeHttpClient.layerUndici)
            )
          )
          await call("POST", `/api/calendars/${source}/sync`)
          const parked = await waitUntil(
            "the account to need re-authentication",
            () => call("GET", `/api/accounts/${account.id}`),
            (r) =>
              (r.body as { account?: { status: string }; status?: string }).status === "needs-reauth" ||
              (r.body as { account?: { status: string } }).account?.status === "needs-reauth"
          )
          expect(JSON.stringify(parked.body)).not.toContain(newPassword)
          expect((await targetContents()).length).toBe(2)

          // Re-authentication resumes it.
          const reauth = await call("PUT", `/api/accounts/${account.id}/password`, { password: newPassword })
          expect(reauth.status).toBe(200)
          await waitUntil(
            "the copy made after re-authentication",
            targetContents,
            (items) => items.length === 3
          )
          expect(await stop(server)).toBe(0)
          logs.push(server.output())
          return { userToken, accountId: account.id, source }
        })

        // The database holds no plaintext password, old or new.
        const files = ["almanac.db", "almanac.db-wal", "almanac.db-shm"].map((f) => join(dataDir, f))
        const bytes = Buffer.concat(files.filter(existsSync).map((f) => readFileSync(f)))
        expect(bytes.length).toBeGreaterThan(10_000)
        for (const secret of [radicale.password, newPassword]) {
          expect(bytes.includes(Buffer.from(secret, "utf8"))).toBe(false)
          expect(bytes.includes(Buffer.from(secret, "utf16le"))).toBe(false)
        }
        // The search above looked at a populated file: the calendars' rows are there.
        expect(bytes.includes(Buffer.from(sourceUrl, "utf8"))).toBe(true)

        // No log line holds a secret, and the logs are structured.
        const masterKey = readFileSync(join(dataDir, "master.key"), "utf8")
          .split("\n")
          .filter((l) => l !== "" && !l.startsWith("#"))
        const secrets = [radicale.password, newPassword, run.userToken, adminToken, ...masterKey]
        const lines = logs
          .join("")
          .split("\n")
          .filter((l) => l.trim() !== "")
        expect(lines.length).toBeGreaterThan(10)
        for (const line of lines) {
          for (const secret of secrets) expect(line).not.toContain(secret)
          expect(() => JSON.parse(line)).not.toThrow()
        }
        expect(lines.some((l) => l.includes("needs") || l.includes("refused"))).toBe(true)

        // Each poll is one line with its calendar, account, outcome, counts, requests and time.
        interface LogLine {
          readonly message: unknown
          readonly logLevel: string
          readonly cause?: string
          readonly annotations: Record<string, unknown>
        }
        const parsed = lines.map((l) => JSON.parse(l) as LogLine)
        const polls = parsed.filter((l) => l.message === "poll")
        const ofSource = polls.filter((l) => l.annotations.calendar === run.source)
        const synced = ofSource.filter((l) => l.annotations.outcome === "synced")
        expect(synced.length).toBeGreaterThan(0)
        expect(synced.some((l) => Number(l.annotations.created) >= 1)).toBe(true)
        for (const l of polls) {
          expect(l.annotations).toMatchObject({ account: expect.any(String), requests: expect.any(Number) })
          expect(typeof l.annotations.ms).toBe("number")
        }
        for (const l of synced) {
          expect(l.annotations.account).toBe(run.accountId)
          expect(l.annotations).toMatchObject({ updated: expect.any(Number), deleted: expect.any(Number) })
          expect(Number(l.annotations.requests)).toBeGreaterThanOrEqual(2)
        }
        // The refused password: the failed poll is its one line, not repeated by another logger.
        const failed = ofSource.filter((l) => l.annotations.outcome === "failed")
        expect(failed.length).toBeGreaterThan(0)
        expect(failed.every((l) => l.annotations.error === "Unauthorized" && l.logLevel === "WARN")).toBe(
          true
        )
        // (each calendar of the parked account may meet the refusal once: source and target alike)
        const failedPolls = polls.filter((l) => l.annotations.outcome === "failed")
        expect(parsed.filter((l) => JSON.stringify(l).includes("Unauthorized"))).toEqual(failedPolls)
        // A poll that was already queued when the account parked fails without asking the server
        // (0 requests); only polls that asked may meet the refusal, once per calendar.
        const asked = failedPolls.filter((l) => Number(l.annotations.requests) > 0)
        expect(new Set(asked.map((l) => l.annotations.calendar)).size).toBe(asked.length)
        // The favicon and the unknown path: their status, and no trace with them.
        const requestOf = (path: string) => parsed.filter((l) => l.annotations["http.url"] === path)
        expect(requestOf("/favicon.ico").map((l) => l.annotations["http.status"])).toEqual([204])
        expect(requestOf("/no-such-page").map((l) => l.annotations["http.status"])).toEqual([404])
        for (const l of [...requestOf("/favicon.ico"), ...requestOf("/no-such-page")])
          expect(l.cause).toBeUndefined()
        // Nothing in a run that went as planned is a trace.
        expect(parsed.filter((l) => l.cause !== undefined).map((l) => l.message)).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici)),
    400_000
  )
})
