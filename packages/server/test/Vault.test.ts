import { mkdtempSync, readFileSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { StoreMigrations } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import * as ServerMigrations from "../src/store/ServerMigrations.js"
import * as Vault from "../src/Vault.js"

const configIn = (dataDir: string, masterKey?: string, previous: ReadonlyArray<string> = []) => ({
  dataDir,
  masterKey: masterKey === undefined ? Option.none() : Option.some(Redacted.make(masterKey)),
  previousMasterKeys: previous.map((k) => Redacted.make(k))
})

const database = (dataDir: string) =>
  Layer.effectDiscard(StoreMigrations.run.pipe(Effect.zipRight(ServerMigrations.run), Effect.orDie)).pipe(
    Layer.provideMerge(SqliteClient.layer({ filename: join(dataDir, "almanac.db") }).pipe(Layer.orDie))
  )

const storeSecret = (vault: Vault.VaultShape, accountId: string, password: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`INSERT INTO accounts (id, kind, url, username, secret, status, created_at)
      VALUES (${accountId}, ${"caldav"}, ${"https://example.net"}, ${"u"}, ${vault.seal(accountId, Redacted.make(password))}, ${"ok"}, ${0})`
  })

const sealedOf = (accountId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ secret: string }>`SELECT secret FROM accounts WHERE id = ${accountId}`
  ).pipe(Effect.map((rows) => rows[0]?.secret ?? ""))

describe("the server's vault", () => {
  it.effect("generates a key once, owner-only, and opens with it after a restart", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "almanac-vault-"))
      const first = yield* Vault.loadRing(configIn(dir))
      expect(first.source).toBe("generated")
      expect(statSync(first.keyFile).mode & 0o777).toBe(0o600)
      const sealed = Vault.fromRing(first.ring).seal("acct-1", Redacted.make("app-pass"))
      const again = yield* Vault.loadRing(configIn(dir))
      expect(again.source).toBe("key file")
      expect(again.ring.current.id).toBe(first.ring.current.id)
      const opened = yield* Vault.fromRing(again.ring).open("acct-1", sealed)
      expect(Redacted.value(opened)).toBe("app-pass")
      // The key file holds the key, never anything sealed with it.
      expect(readFileSync(first.keyFile, "utf8")).not.toContain("app-pass")
    })
  )

  it.effect("rotation with a key file seals everything again and drops the old key", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "almanac-vault-"))
      const before = yield* Vault.loadRing(configIn(dir))
      const vault = Vault.fromRing(before.ring)
      yield* storeSecret(vault, "a", "first-password")
      yield* storeSecret(vault, "b", "second-password")
      const report = yield* Vault.rotate(configIn(dir))
      expect(report).toMatchObject({ resealed: 2, alreadyCurrent: 0, unreadable: [] })
      expect(report.keyId).not.toBe(before.ring.current.id)
      const after = yield* Vault.loadRing(configIn(dir))
      expect(after.ring.current.id).toBe(report.keyId)
      expect(after.ring.previous).toHaveLength(0)
      const opened = yield* Vault.fromRing(after.ring).open("b", yield* sealedOf("b"))
      expect(Redacted.value(opened)).toBe("second-password")
      // The old key alone no longer opens what is stored.
      const old = yield* Vault.fromRing(before.ring)
        .open("b", yield* sealedOf("b"))
        .pipe(Effect.flip)
      expect(old.reason).toBe("unknown-key")
      const second = yield* Vault.rotate(configIn(dir))
      expect(second.resealed).toBe(2)
    }).pipe(Effect.provide(database(mkdtempSync(join(tmpdir(), "almanac-vault-db-")))))
  )

  it.effect("rotation to a configured key needs the old key among the previous ones", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "almanac-vault-"))
      const oldKey = Buffer.alloc(32, 1).toString("base64")
      const newKey = Buffer.alloc(32, 2).toString("base64")
      const old = yield* Vault.loadRing(configIn(dir, oldKey))
      expect(old.source).toBe("environment")
      yield* storeSecret(Vault.fromRing(old.ring), "a", "pw")
      const without = yield* Vault.rotate(configIn(dir, newKey))
      expect(without).toMatchObject({ resealed: 0, unreadable: ["a"] })
      const withOld = yield* Vault.rotate(configIn(dir, newKey, [oldKey]))
      expect(withOld).toMatchObject({ resealed: 1, unreadable: [] })
      const now = yield* Vault.loadRing(configIn(dir, newKey))
      expect(Redacted.value(yield* Vault.fromRing(now.ring).open("a", yield* sealedOf("a")))).toBe("pw")
    }).pipe(Effect.provide(database(mkdtempSync(join(tmpdir(), "almanac-vault-db-")))))
  )

  it.effect("a running server picks up a key rotated under it", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "almanac-vault-"))
      const running = yield* Vault.Vault.pipe(Effect.provide(Vault.layer(configIn(dir))))
      yield* storeSecret(running, "a", "pw")
      yield* Vault.rotate(configIn(dir))
      const opened = yield* running.open("a", yield* sealedOf("a"))
      expect(Redacted.value(opened)).toBe("pw")
    }).pipe(Effect.provide(database(mkdtempSync(join(tmpdir(), "almanac-vault-db-")))))
  )
})
