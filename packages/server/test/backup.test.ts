/**
 * `almanac backup` as a person runs it: the real binary, in its own process, copying the database
 * of a server that is running (its SQLite file open, recent writes still in the write-ahead log).
 * The copy is restored into a fresh data folder with the master key, and a server started on it
 * holds the users, their tokens and the accounts, whose sealed passwords open.
 */
import { createHash, randomUUID } from "node:crypto"
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import * as Backup from "../src/Backup.js"
import { Accounts } from "../src/store/Accounts.js"
import { almanac } from "./support/cli.js"
import * as TestServer from "./support/TestServer.js"

const digest = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex")

const userNames = (server: TestServer.TestServer) =>
  Effect.promise(() => server.request("GET", "/api/admin/users", { token: server.adminToken })).pipe(
    Effect.map((r) => (r.body as ReadonlyArray<{ name: string }>).map((u) => u.name).sort())
  )

const sqlServerConfig = {
  _tag: "SqlServer",
  server: "db.invalid",
  port: 1433,
  database: "almanac",
  username: Option.none(),
  password: Option.none(),
  encrypt: true,
  trustServerCertificate: false
} as const

describe("almanac backup", () => {
  it.live(
    "copies the database of a running server; the copy, restored with the master key, opens",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        const ann = yield* Effect.promise(() => server.createUser("Ann"))
        const accountId = randomUUID()
        const secret = `app-password-${randomUUID()}`
        yield* TestServer.within(
          server,
          Effect.flatMap(Accounts, (accounts) =>
            accounts.insert(
              {
                id: accountId,
                userId: ann.id,
                kind: "caldav",
                url: "https://caldav.example.org/",
                username: "ann",
                displayName: Option.some("Ann's calendars")
              },
              Redacted.make(secret)
            )
          )
        ).pipe(Effect.orDie)
        // The server has its file open in WAL mode: what was just written is in the log.
        expect(existsSync(join(server.dataDir, "almanac.db-wal"))).toBe(true)

        const folder = mkdtempSync(join(tmpdir(), "almanac-backup-"))
        const file = join(folder, "copy.db")
        const env = { ALMANAC_DATA_DIR: server.dataDir }
        const made = yield* Effect.promise(() => almanac(["backup", file], env))
        expect(made.code, made.stderr).toBe(0)
        expect(made.stdout).toContain(`to ${file}`)
        expect(made.stdout).toContain(join(server.dataDir, "master.key"))
        // Owner-only (it holds sealed passwords), and no temporary file left beside it.
        expect(readFileSync(file).length).toBeGreaterThan(0)
        expect((yield* Effect.sync(() => readdirSync(folder))).sort()).toEqual(["copy.db"])
        expect(statSync(file).mode & 0o777).toBe(0o600)

        // Written after the copy: not in it.
        yield* Effect.promise(() => server.createUser("Bob"))

        // An existing file is not replaced without --force, and says how.
        const before = digest(file)
        const refused = yield* Effect.promise(() => almanac(["backup", file], env))
        expect(refused.code).not.toBe(0)
        expect(refused.stderr).toContain(`${file} already exists`)
        expect(refused.stderr).toContain("--force")
        expect(digest(file)).toBe(before)

        // Restore: a fresh data folder with the copy as its database and the master key beside it.
        const restoredDir = mkdtempSync(join(tmpdir(), "almanac-restored-"))
        copyFileSync(file, join(restoredDir, "almanac.db"))
        copyFileSync(join(server.dataDir, "master.key"), join(restoredDir, "master.key"))
        const restored = yield* TestServer.start({ ALMANAC_DATA_DIR: restoredDir })
        expect(yield* userNames(restored)).toEqual(["Ann"])
        const me = yield* Effect.promise(() => restored.request("GET", "/api/me", { token: ann.token }))
        expect(me).toMatchObject({ status: 200, body: { id: ann.id, name: "Ann" } })
        const account = yield* Effect.promise(() =>
          restored.request("GET", `/api/accounts/${accountId}`, { token: ann.token })
        )
        expect(account.status).toBe(200)
        const opened = yield* TestServer.within(
          restored,
          Effect.flatMap(Accounts, (accounts) => accounts.password(accountId))
        ).pipe(Effect.orDie)
        expect(Option.map(opened, Redacted.value)).toEqual(Option.some(secret))

        // --force replaces the file with a new copy, which now holds Bob.
        const forced = yield* Effect.promise(() => almanac(["backup", file, "--force"], env))
        expect(forced.code, forced.stderr).toBe(0)
        expect(digest(file)).not.toBe(before)
        const again = mkdtempSync(join(tmpdir(), "almanac-restored-"))
        copyFileSync(file, join(again, "almanac.db"))
        copyFileSync(join(server.dataDir, "master.key"), join(again, "master.key"))
        expect(yield* userNames(yield* TestServer.start({ ALMANAC_DATA_DIR: again }))).toEqual(["Ann", "Bob"])
      }).pipe(Effect.scoped),
    120_000
  )

  // In-process: the same messages the CLI prints, without a process start for each.
  it.effect("refuses what it cannot copy, and says what to do instead", () =>
    Effect.gen(function* () {
      const folder = mkdtempSync(join(tmpdir(), "almanac-backup-"))
      const file = join(folder, "copy.db")
      const postgres = yield* Effect.flip(
        Backup.run({ _tag: "Postgres", url: Redacted.make("postgres://almanac@db.invalid/almanac") }, file, {
          force: false
        })
      )
      expect(Backup.describe(postgres)).toContain("pg_dump")
      const sqlServer = yield* Effect.flip(Backup.run(sqlServerConfig, file, { force: false }))
      expect(Backup.describe(sqlServer)).toContain("SQL Server")
      // No database in the data folder: nothing is created, neither there nor at FILE.
      const empty = mkdtempSync(join(tmpdir(), "almanac-empty-"))
      const missing = yield* Effect.flip(
        Backup.run({ _tag: "Sqlite", filename: join(empty, "almanac.db") }, file, { force: false })
      )
      expect(Backup.describe(missing)).toContain(`there is no database at ${join(empty, "almanac.db")}`)
      expect(readdirSync(empty)).toEqual([])
      expect(readdirSync(folder)).toEqual([])
      // The database itself is never the destination, even with --force.
      const database = join(empty, "almanac.db")
      writeFileSync(database, "")
      const itself = yield* Effect.flip(
        Backup.run({ _tag: "Sqlite", filename: database }, database, { force: true })
      )
      expect(Backup.describe(itself)).toBe(`${database} is the database itself; choose another file`)
      expect(readFileSync(database).length).toBe(0)
    })
  )
})
