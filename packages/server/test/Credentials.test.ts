/**
 * Sealed credentials per account kind, on a real SQLite file: the bare passwords of databases
 * written before sealed JSON still open, passwords and OAuth tokens are sealed JSON decoded with
 * Schema, new tokens replace old ones at once, `vault rotate` re-seals every kind (and the sign-in
 * flows under way), and neither the file nor a decoding error ever shows a secret.
 */
import { randomUUID } from "node:crypto"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { StoreMigrations, SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import * as Accounts from "../src/store/Accounts.js"
import * as Credential from "../src/store/Credential.js"
import * as OAuthStates from "../src/store/OAuthStates.js"
import * as ServerMigrations from "../src/store/ServerMigrations.js"
import * as Vault from "../src/Vault.js"

const setup = () => {
  const dataDir = mkdtempSync(join(tmpdir(), "almanac-credentials-"))
  const config = { dataDir, masterKey: Option.none(), previousMasterKeys: [] }
  const file = join(dataDir, "almanac.db")
  const db = Layer.effectDiscard(
    StoreMigrations.run.pipe(Effect.zipRight(ServerMigrations.run), Effect.orDie)
  ).pipe(Layer.provideMerge(SqliteClient.layer({ filename: file }).pipe(Layer.orDie)))
  const stores = Layer.mergeAll(Accounts.layer, OAuthStates.layer).pipe(
    Layer.provideMerge(Vault.layer(config).pipe(Layer.orDie)),
    Layer.provideMerge(SyncStore.layer),
    Layer.provideMerge(db)
  )
  return { config, file, stores }
}

const account = (kind: Accounts.AccountKind) => ({
  id: randomUUID(),
  userId: "user-1",
  kind,
  url: kind === "google" ? "https://www.googleapis.com/calendar/v3" : "https://dav.example.net/",
  username: kind === "google" ? "ann@example.com" : "ann",
  displayName: Option.none()
})

const tokens = (n: number): Credential.OAuthTokens => ({
  accessToken: Redacted.make(`ya29.access-${n}-${randomUUID()}`),
  refreshToken: Redacted.make(`1//refresh-${n}-${randomUUID()}`),
  expiresAt: 1_800_000_000_000 + n,
  scope: "https://www.googleapis.com/auth/calendar"
})

const plain = (c: Option.Option<Credential.Credential>) =>
  Option.map(c, (x) =>
    x._tag === "password"
      ? { _tag: x._tag, password: Redacted.value(x.password) }
      : {
          _tag: x._tag,
          accessToken: Redacted.value(x.accessToken),
          refreshToken: Redacted.value(x.refreshToken),
          expiresAt: x.expiresAt,
          scope: x.scope
        }
  )

const fileText = (file: string) => {
  const bytes = [file, `${file}-wal`].flatMap((f) => {
    try {
      return [readFileSync(f)]
    } catch {
      return []
    }
  })
  return Buffer.concat(bytes).toString("latin1")
}

describe("sealed credentials", () => {
  it.effect("a bare password from before sealed JSON still opens, as a password", () => {
    const { stores } = setup()
    return Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const vault = yield* Vault.Vault
      const accounts = yield* Accounts.Accounts
      const a = account("caldav")
      // How every row was written before: the password itself sealed, no format.
      yield* sql`INSERT INTO accounts (id, user_id, kind, url, username, secret, status, created_at)
        VALUES (${a.id}, ${a.userId}, ${"caldav"}, ${a.url}, ${a.username}, ${vault.seal(a.id, Redacted.make('{"_tag":"oauth"}'))}, ${"ok"}, ${0})`
      expect(plain(yield* accounts.credential(a.id))).toEqual(
        Option.some({ _tag: "password", password: '{"_tag":"oauth"}' })
      )
      expect(Option.map(yield* accounts.password(a.id), Redacted.value)).toEqual(
        Option.some('{"_tag":"oauth"}')
      )
      // A new password is written in the new form and reads back the same.
      yield* accounts.setPassword(a.id, Redacted.make("new-password"))
      const rows = yield* sql<{
        secret_format: string | null
      }>`SELECT secret_format FROM accounts WHERE id = ${a.id}`
      expect(rows[0]).toEqual({ secret_format: "json-v1" })
      expect(Option.map(yield* accounts.password(a.id), Redacted.value)).toEqual(Option.some("new-password"))
    }).pipe(Effect.provide(stores))
  })

  it.effect(
    "OAuth tokens are sealed JSON; saved tokens replace the old ones at once; the file holds neither",
    () => {
      const { stores, file } = setup()
      return Effect.gen(function* () {
        const accounts = yield* Accounts.Accounts
        const a = account("google")
        const first = tokens(1)
        yield* accounts.insertCredential(a, Credential.OAuth.make(first))
        expect(plain(yield* accounts.credential(a.id))).toEqual(
          plain(Option.some(Credential.OAuth.make(first)))
        )
        // An OAuth account has no password to give a CalDAV client.
        expect(yield* accounts.password(a.id)).toEqual(Option.none())
        const second = tokens(2)
        yield* accounts.saveTokens(a.id, second)
        expect(plain(yield* accounts.credential(a.id))).toEqual(
          plain(Option.some(Credential.OAuth.make(second)))
        )
        const text = fileText(file)
        for (const t of [first, second]) {
          expect(text).not.toContain(Redacted.value(t.accessToken))
          expect(text).not.toContain(Redacted.value(t.refreshToken))
        }
        expect(text).not.toContain("ya29.")
        expect(text).not.toContain("1//refresh")
      }).pipe(Effect.provide(stores))
    }
  )

  it.effect("a sealed value that is not a credential fails with a reason that never quotes it", () => {
    const { stores } = setup()
    return Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const vault = yield* Vault.Vault
      const accounts = yield* Accounts.Accounts
      const a = account("google")
      const leaked = "1//a-refresh-token-in-the-wrong-shape"
      yield* sql`INSERT INTO accounts (id, user_id, kind, url, username, secret, secret_format, status, created_at)
        VALUES (${a.id}, ${a.userId}, ${"google"}, ${a.url}, ${a.username},
                ${vault.seal(a.id, Redacted.make(JSON.stringify({ _tag: "oauth", accessToken: 7, refreshToken: leaked })))},
                ${"json-v1"}, ${"ok"}, ${0})`
      const error = yield* Effect.flip(accounts.credential(a.id))
      expect(error._tag).toBe("CredentialUnreadable")
      expect(error.message).toMatch(/does not decode/)
      expect(JSON.stringify(error)).not.toContain(leaked)
      expect(error.message).not.toContain(leaked)
    }).pipe(Effect.provide(stores))
  })

  it.effect("vault rotate re-seals bare passwords, sealed JSON and the sign-in flows under way", () => {
    const { stores, config } = setup()
    return Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const vault = yield* Vault.Vault
      const accounts = yield* Accounts.Accounts
      const states = yield* OAuthStates.OAuthStates
      const legacy = account("icloud")
      yield* sql`INSERT INTO accounts (id, user_id, kind, url, username, secret, status, created_at)
        VALUES (${legacy.id}, ${legacy.userId}, ${"icloud"}, ${legacy.url}, ${legacy.username}, ${vault.seal(legacy.id, Redacted.make("abcd-efgh-ijkl-mnop"))}, ${"ok"}, ${0})`
      const google = account("google")
      const t = tokens(3)
      yield* accounts.insertCredential(google, Credential.OAuth.make(t))
      const state = OAuthStates.randomSecret()
      yield* states.start({
        state,
        provider: "google",
        userId: "user-1",
        browser: Option.none(),
        name: Option.none(),
        codeVerifier: Redacted.make("verifier-that-must-survive-a-rotation"),
        redirectUri: "http://127.0.0.1:1/oauth/google/callback"
      })
      const before = vault.currentKeyId
      const report = yield* Vault.rotate(config)
      expect(report).toMatchObject({ resealed: 2, unreadable: [] })
      const keyIds = yield* sql<{ secret: string }>`SELECT secret FROM accounts`.pipe(
        Effect.map((rows) => rows.map((r) => r.secret.split(".")[1]))
      )
      expect(keyIds).toEqual([report.keyId, report.keyId])
      const verifiers = yield* sql<{ code_verifier: string }>`SELECT code_verifier FROM oauth_states`
      expect(verifiers.map((r) => r.code_verifier.split(".")[1])).toEqual([report.keyId])
      expect(report.keyId).not.toBe(before)
      // The running vault learns the new key from the file and opens all of them.
      expect(plain(yield* accounts.credential(legacy.id))).toEqual(
        Option.some({ _tag: "password", password: "abcd-efgh-ijkl-mnop" })
      )
      expect(plain(yield* accounts.credential(google.id))).toEqual(
        plain(Option.some(Credential.OAuth.make(t)))
      )
      const taken = yield* states.take("google", Redacted.value(state))
      expect(taken._tag === "Found" && Redacted.value(taken.flow.codeVerifier)).toBe(
        "verifier-that-must-survive-a-rotation"
      )
    }).pipe(Effect.provide(stores))
  })
})
