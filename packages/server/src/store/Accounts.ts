/**
 * Connected accounts (iCloud, CalDAV, Google) and their calendars, each owned by one user. The
 * credential (a password or OAuth tokens, see Credential.ts) is sealed by the vault before it
 * reaches SQL and opened only when a client is built; reads for the API never touch it. Every read that serves a request takes the user id, so one user's
 * query cannot name another's account.
 */
import { createHash } from "node:crypto"
import { type CredentialVault, SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, type Redacted, Schema } from "effect"
import { Vault } from "../Vault.js"
import * as Credential from "./Credential.js"

/** "ics": a subscribed feed (one read-only calendar; a password only when its URL had one). */
export const AccountKind = Schema.Literal("icloud", "caldav", "google", "microsoft", "ics")
export type AccountKind = typeof AccountKind.Type

export const AccountStatus = Schema.Literal("ok", "needs-reauth")
export type AccountStatus = typeof AccountStatus.Type

export interface AccountRecord {
  readonly id: string
  readonly userId: string
  readonly kind: AccountKind
  /** Where discovery starts (the server's URL, https://caldav.icloud.com for iCloud). */
  readonly url: string
  readonly username: string
  readonly displayName: Option.Option<string>
  readonly status: AccountStatus
  readonly lastError: Option.Option<string>
  readonly createdAt: number
}

export interface CalendarInfo {
  readonly id: string
  readonly accountId: string
  readonly url: string
  readonly displayName: Option.Option<string>
  readonly color: Option.Option<string>
  /** Whether the account may write events there (Google's access role); CalDAV calendars are. */
  readonly writable: boolean
  /** The calendar's own zone, where the provider names one (Google). */
  readonly timeZone: Option.Option<string>
}

export interface AccountsShape {
  readonly insert: (
    account: Omit<AccountRecord, "status" | "lastError" | "createdAt">,
    password: Redacted.Redacted<string>
  ) => Effect.Effect<AccountRecord, SyncStore.StoreError>
  /** As `insert`, with no secret at all (a public feed). */
  readonly insertWithoutSecret: (
    account: Omit<AccountRecord, "status" | "lastError" | "createdAt">
  ) => Effect.Effect<AccountRecord, SyncStore.StoreError>
  /** As `insert`, with any kind of credential (OAuth tokens for Google). */
  readonly insertCredential: (
    account: Omit<AccountRecord, "status" | "lastError" | "createdAt">,
    credential: Credential.Credential
  ) => Effect.Effect<AccountRecord, SyncStore.StoreError>
  readonly list: (userId: string) => Effect.Effect<ReadonlyArray<AccountRecord>, SyncStore.StoreError>
  /** The account if it exists and belongs to `userId`. */
  readonly get: (
    userId: string,
    accountId: string
  ) => Effect.Effect<Option.Option<AccountRecord>, SyncStore.StoreError>
  /** For the engine, which serves every user: no owner check. */
  readonly byId: (accountId: string) => Effect.Effect<Option.Option<AccountRecord>, SyncStore.StoreError>
  /** The account's credential, opened and decoded; none when it was erased. */
  readonly credential: (
    accountId: string
  ) => Effect.Effect<
    Option.Option<Credential.Credential>,
    SyncStore.StoreError | CredentialVault.VaultError | Credential.CredentialUnreadable
  >
  /**
   * New OAuth tokens (a refresh, a rotated refresh token, a new consent), sealed and stored at once
   * so that a token Google has replaced is never the one kept.
   */
  readonly saveTokens: (
    accountId: string,
    tokens: Credential.OAuthTokens
  ) => Effect.Effect<void, SyncStore.StoreError>
  /** The account's password, opened; none when it was erased or the account has none (OAuth). */
  readonly password: (
    accountId: string
  ) => Effect.Effect<
    Option.Option<Redacted.Redacted<string>>,
    SyncStore.StoreError | CredentialVault.VaultError | Credential.CredentialUnreadable
  >
  /** A new password (re-authentication): sealed, stored, and the account is healthy again. */
  readonly setPassword: (
    accountId: string,
    password: Redacted.Redacted<string>
  ) => Effect.Effect<void, SyncStore.StoreError>
  /** "ok" also records when the account resumed, which `park` compares with a refusal's poll. */
  readonly setStatus: (
    accountId: string,
    status: AccountStatus,
    lastError: Option.Option<string>
  ) => Effect.Effect<void, SyncStore.StoreError>
  /**
   * Parks a healthy account on a refusal met by a poll that began at `pollStartedAt`, unless the
   * account resumed (a new password, a new consent) at or after that: such a poll ran on the old
   * credential or read the old status, and its refusal must not park the credential that replaced
   * it. True when it parked the account now.
   */
  readonly park: (
    accountId: string,
    detail: string,
    pollStartedAt: number
  ) => Effect.Effect<boolean, SyncStore.StoreError>
  /**
   * Erases the sealed password and deletes the account row, and has the engine forget its
   * calendars (SyncStore.forgetCalendars), in one transaction. The caller removes relationships
   * and stops actors first.
   */
  readonly remove: (accountId: string) => Effect.Effect<void, SyncStore.StoreError>
  /** Records the calendars discovery found (new ones added, names and colours refreshed). */
  readonly saveCalendars: (
    accountId: string,
    calendars: ReadonlyArray<{
      readonly url: string
      readonly displayName: Option.Option<string>
      readonly color: Option.Option<string>
      /** Absent: writable (CalDAV discovery keeps only calendars that hold events). */
      readonly writable?: boolean
      readonly timeZone?: Option.Option<string>
    }>
  ) => Effect.Effect<ReadonlyArray<CalendarInfo>, SyncStore.StoreError>
  readonly calendars: (accountId: string) => Effect.Effect<ReadonlyArray<CalendarInfo>, SyncStore.StoreError>
  /** The calendar if it belongs to one of `userId`'s accounts. */
  readonly calendarOf: (
    userId: string,
    calendarId: string
  ) => Effect.Effect<Option.Option<CalendarInfo>, SyncStore.StoreError>
}

export class Accounts extends Context.Tag("@almanac/server/Accounts")<Accounts, AccountsShape>() {}

/** Stable per account and URL, so discovering again finds the same calendar. */
export const calendarIdOf = (accountId: string, url: string): string =>
  createHash("sha256").update(`${accountId}\u0000${url}`).digest("hex").slice(0, 32)

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const OptStr = Schema.NullOr(Schema.String)
const AccountRow = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  kind: AccountKind,
  url: Schema.String,
  username: Schema.String,
  display_name: OptStr,
  status: AccountStatus,
  last_error: OptStr,
  created_at: Num
})
const CalendarRow = Schema.Struct({
  id: Schema.String,
  account_id: Schema.String,
  url: Schema.String,
  display_name: OptStr,
  color: OptStr,
  writable: Schema.NullOr(Num),
  time_zone: OptStr
})

const toAccount = (r: typeof AccountRow.Type): AccountRecord => ({
  id: r.id,
  userId: r.user_id,
  kind: r.kind,
  url: r.url,
  username: r.username,
  displayName: Option.fromNullable(r.display_name),
  status: r.status,
  lastError: Option.fromNullable(r.last_error),
  createdAt: r.created_at
})
const toCalendar = (r: typeof CalendarRow.Type): CalendarInfo => ({
  id: r.id,
  accountId: r.account_id,
  url: r.url,
  displayName: Option.fromNullable(r.display_name),
  color: Option.fromNullable(r.color),
  writable: r.writable !== 0,
  timeZone: Option.fromNullable(r.time_zone)
})

export const make: Effect.Effect<AccountsShape, never, SqlClient.SqlClient | SyncStore.SyncStore | Vault> =
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* SyncStore.SyncStore
    const vault = yield* Vault
    const guard =
      (operation: string) =>
      <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.mapError((e) => new SyncStore.StoreError({ operation, detail: e.message })))
    const guardFailed = (operation: string) => (e: { readonly message: string }) =>
      Effect.fail(new SyncStore.StoreError({ operation, detail: e.message }))
    const decodeAccounts = Schema.decodeUnknown(Schema.Array(AccountRow))
    const decodeCalendars = Schema.decodeUnknown(Schema.Array(CalendarRow))
    const columns = sql`id, user_id, kind, url, username, display_name, status, last_error, created_at`

    const byId = (accountId: string) =>
      sql`SELECT ${columns} FROM accounts WHERE id = ${accountId}`.pipe(
        Effect.flatMap(decodeAccounts),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toAccount)),
        guard("read account")
      )

    const calendars = (accountId: string) =>
      sql`SELECT id, account_id, url, display_name, color, writable, time_zone FROM calendars WHERE account_id = ${accountId} ORDER BY display_name, url`.pipe(
        Effect.flatMap(decodeCalendars),
        Effect.map((rows) => rows.map(toCalendar)),
        guard("read calendars")
      )

    const sealed = (accountId: string, credential: Credential.Credential) =>
      vault.seal(accountId, Credential.encode(credential))

    const insertCredential: AccountsShape["insertCredential"] = (a, credential) =>
      Effect.gen(function* () {
        const now = Date.now()
        yield* sql`INSERT INTO accounts (id, user_id, kind, url, username, display_name, secret, secret_format, status, created_at)
          VALUES (${a.id}, ${a.userId}, ${a.kind}, ${a.url}, ${a.username}, ${Option.getOrNull(a.displayName)},
                  ${sealed(a.id, credential)}, ${Credential.jsonFormat}, ${"ok"}, ${now})`
        return { ...a, status: "ok" as const, lastError: Option.none(), createdAt: now }
      }).pipe(guard("save account"))

    const credential: AccountsShape["credential"] = (accountId) =>
      Effect.gen(function* () {
        const rows = yield* sql`SELECT secret, secret_format FROM accounts WHERE id = ${accountId}`.pipe(
          Effect.flatMap(
            Schema.decodeUnknown(Schema.Array(Schema.Struct({ secret: OptStr, secret_format: OptStr })))
          ),
          guard("read secret")
        )
        const row = rows[0]
        if (row === undefined || row.secret === null) return Option.none()
        const opened = yield* vault.open(accountId, row.secret)
        return Option.some(yield* Credential.decode(row.secret_format, opened))
      })

    return {
      insert: (a, password) => insertCredential(a, Credential.Password.make({ password })),
      insertWithoutSecret: (a) =>
        Effect.gen(function* () {
          const now = Date.now()
          yield* sql`INSERT INTO accounts (id, user_id, kind, url, username, display_name, secret, secret_format, status, created_at)
            VALUES (${a.id}, ${a.userId}, ${a.kind}, ${a.url}, ${a.username}, ${Option.getOrNull(a.displayName)},
                    ${null}, ${null}, ${"ok"}, ${now})`
          return { ...a, status: "ok" as const, lastError: Option.none(), createdAt: now }
        }).pipe(guard("save account")),
      insertCredential,
      list: (userId) =>
        sql`SELECT ${columns} FROM accounts WHERE user_id = ${userId} ORDER BY created_at, id`.pipe(
          Effect.flatMap(decodeAccounts),
          Effect.map((rows) => rows.map(toAccount)),
          guard("list accounts")
        ),
      get: (userId, accountId) =>
        Effect.map(
          byId(accountId),
          Option.filter((a) => a.userId === userId)
        ),
      byId,
      credential,
      saveTokens: (accountId, tokens) =>
        sql`UPDATE accounts SET secret = ${sealed(accountId, Credential.OAuth.make(tokens))}, secret_format = ${Credential.jsonFormat} WHERE id = ${accountId}`.pipe(
          Effect.asVoid,
          guard("save tokens")
        ),
      password: (accountId) =>
        Effect.map(
          credential(accountId),
          Option.flatMap((c) => (c._tag === "password" ? Option.some(c.password) : Option.none()))
        ),
      setPassword: (accountId, password) =>
        sql`UPDATE accounts SET secret = ${sealed(accountId, Credential.Password.make({ password }))}, secret_format = ${Credential.jsonFormat}, status = ${"ok"}, last_error = ${null}, resumed_at = ${Date.now()} WHERE id = ${accountId}`.pipe(
          Effect.asVoid,
          guard("save secret")
        ),
      setStatus: (accountId, status, lastError) =>
        (status === "ok"
          ? sql`UPDATE accounts SET status = ${status}, last_error = ${null}, resumed_at = ${Date.now()} WHERE id = ${accountId}`
          : sql`UPDATE accounts SET status = ${status}, last_error = ${Option.getOrNull(lastError)} WHERE id = ${accountId}`
        ).pipe(Effect.asVoid, guard("save account status")),
      park: (accountId, detail, pollStartedAt) =>
        Effect.gen(function* () {
          const rows = yield* sql`SELECT status, resumed_at FROM accounts WHERE id = ${accountId}`.pipe(
            Effect.flatMap(
              Schema.decodeUnknown(Schema.Array(Schema.Struct({ status: AccountStatus, resumed_at: Num })))
            )
          )
          const row = rows[0]
          if (row === undefined || row.status !== "ok" || row.resumed_at >= pollStartedAt) return false
          // Conditional again: a resumption between the read and this write still wins.
          yield* sql`UPDATE accounts SET status = ${"needs-reauth"}, last_error = ${detail} WHERE id = ${accountId} AND status = ${"ok"} AND resumed_at < ${pollStartedAt}`
          return true
        }).pipe(guard("park account")),
      remove: (accountId) =>
        Effect.gen(function* () {
          // The secret is overwritten before the row goes, so no page of the file keeps it live.
          yield* sql`UPDATE accounts SET secret = ${null} WHERE id = ${accountId}`.pipe(
            guard("remove account")
          )
          const calendarIds = yield* sql`SELECT id FROM calendars WHERE account_id = ${accountId}`.pipe(
            Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String })))),
            guard("remove account")
          )
          // The engine's rows of its calendars go in the same transaction (the same client).
          yield* store.forgetCalendars(calendarIds.map((c) => c.id))
          yield* sql`DELETE FROM accounts WHERE id = ${accountId}`.pipe(guard("remove account"))
        }).pipe(sql.withTransaction, Effect.catchTag("SqlError", guardFailed("remove account"))),
      saveCalendars: (accountId, found) =>
        Effect.gen(function* () {
          for (const c of found) {
            const id = calendarIdOf(accountId, c.url)
            const writable = c.writable === false ? 0 : 1
            const zone = Option.getOrNull(c.timeZone ?? Option.none())
            // The row and its engine state (cursor, polls) are the engine's to create; the
            // columns a person sees (name, colour, writable, zone) are the server's.
            yield* store.ensureCalendar({ id, accountId, ref: c.url })
            yield* sql`UPDATE calendars SET display_name = ${Option.getOrNull(c.displayName)}, color = ${Option.getOrNull(c.color)}, writable = ${writable}, time_zone = ${zone} WHERE id = ${id}`
          }
        }).pipe(sql.withTransaction, guard("save calendars"), Effect.zipRight(calendars(accountId))),
      calendars,
      calendarOf: (userId, calendarId) =>
        sql`SELECT c.id, c.account_id, c.url, c.display_name, c.color, c.writable, c.time_zone FROM calendars c
          JOIN accounts a ON a.id = c.account_id WHERE c.id = ${calendarId} AND a.user_id = ${userId}`.pipe(
          Effect.flatMap(decodeCalendars),
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toCalendar)),
          guard("read calendar")
        )
    }
  })

export const layer: Layer.Layer<Accounts, never, SqlClient.SqlClient | SyncStore.SyncStore | Vault> =
  Layer.effect(Accounts, make)
