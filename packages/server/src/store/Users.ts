/**
 * The people the server serves and their API tokens. A token is shown once when it is issued;
 * only its SHA-256 is stored, so a copy of the database does not let anyone in. The first user
 * is the server's owner, whoever made them (the first-run page, the CLI or the admin API).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"

export interface User {
  readonly id: string
  readonly name: string
  readonly createdAt: number
  /** The first user: may make other users and their tokens on the settings pages. */
  readonly owner: boolean
}

export interface TokenInfo {
  readonly id: string
  readonly label: string
  readonly createdAt: number
  readonly lastUsedAt: Option.Option<number>
}

export interface UsersShape {
  /** A new user; the owner when there was none before. */
  readonly create: (name: string) => Effect.Effect<User, SyncStore.StoreError>
  /** The owner, only while the server has no user at all; none once anyone exists. */
  readonly createFirst: (name: string) => Effect.Effect<Option.Option<User>, SyncStore.StoreError>
  readonly isEmpty: Effect.Effect<boolean, SyncStore.StoreError>
  readonly list: Effect.Effect<ReadonlyArray<User>, SyncStore.StoreError>
  readonly get: (id: string) => Effect.Effect<Option.Option<User>, SyncStore.StoreError>
  /** A new bearer token for the user; the only time its value exists outside the caller. */
  readonly issueToken: (
    userId: string,
    label: string
  ) => Effect.Effect<{ readonly id: string; readonly token: Redacted.Redacted<string> }, SyncStore.StoreError>
  readonly tokens: (userId: string) => Effect.Effect<ReadonlyArray<TokenInfo>, SyncStore.StoreError>
  /** False when the user has no such token. */
  readonly revokeToken: (userId: string, tokenId: string) => Effect.Effect<boolean, SyncStore.StoreError>
  /** The user and the token's id, when `token` is a valid API token. */
  readonly authenticateToken: (
    token: Redacted.Redacted<string>
  ) => Effect.Effect<Option.Option<{ readonly user: User; readonly tokenId: string }>, SyncStore.StoreError>
  readonly authenticate: (
    token: Redacted.Redacted<string>
  ) => Effect.Effect<Option.Option<User>, SyncStore.StoreError>
}

export class Users extends Context.Tag("@almanac/server/Users")<Users, UsersShape>() {}

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const UserRow = Schema.Struct({ id: Schema.String, name: Schema.String, created_at: Num, owner: Num })
const TokenRow = Schema.Struct({
  id: Schema.String,
  label: Schema.String,
  created_at: Num,
  last_used_at: Schema.NullOr(Num)
})

export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")

const toUser = (r: typeof UserRow.Type): User => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
  owner: r.owner !== 0
})

export const make: Effect.Effect<UsersShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const guard =
    (operation: string) =>
    <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.mapError((e) => new SyncStore.StoreError({ operation, detail: e.message })))
  const decodeUsers = Schema.decodeUnknown(Schema.Array(UserRow))

  const get = (id: string) =>
    sql`SELECT id, name, created_at, owner FROM users WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeUsers),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toUser)),
      guard("read user")
    )

  const countUsers = sql`SELECT COUNT(*) AS n FROM users`.pipe(
    Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ n: Num })))),
    Effect.map((rows) => rows[0]?.n ?? 0)
  )

  const insert = (name: string, owner: boolean) =>
    Effect.gen(function* () {
      const user: User = { id: randomUUID(), name, createdAt: Date.now(), owner }
      yield* sql`INSERT INTO users (id, name, created_at, owner)
        VALUES (${user.id}, ${user.name}, ${user.createdAt}, ${owner ? 1 : 0})`
      return user
    })

  const authenticateToken = (token: Redacted.Redacted<string>) =>
    Effect.gen(function* () {
      const rows =
        yield* sql`SELECT id, user_id FROM api_tokens WHERE token_hash = ${hashToken(Redacted.value(token))}`.pipe(
          Effect.flatMap(
            Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String, user_id: Schema.String })))
          )
        )
      const row = rows[0]
      if (row === undefined) return Option.none()
      const user = yield* get(row.user_id)
      return Option.map(user, (u) => ({ user: u, tokenId: row.id }))
    }).pipe(guard("authenticate"))

  return {
    // Counted and inserted in one transaction: on SQLite (one writer at a time) two first users
    // cannot both become the owner; the first-run page also takes them one at a time.
    create: (name) =>
      Effect.flatMap(countUsers, (n) => insert(name, n === 0)).pipe(
        sql.withTransaction,
        guard("create user")
      ),
    createFirst: (name) =>
      Effect.flatMap(countUsers, (n) =>
        n === 0 ? Effect.map(insert(name, true), Option.some) : Effect.succeed(Option.none<User>())
      ).pipe(sql.withTransaction, guard("create the owner")),
    isEmpty: countUsers.pipe(
      Effect.map((n) => n === 0),
      guard("count users")
    ),
    list: sql`SELECT id, name, created_at, owner FROM users ORDER BY created_at, id`.pipe(
      Effect.flatMap(decodeUsers),
      Effect.map((rows) => rows.map(toUser)),
      guard("list users")
    ),
    get,
    issueToken: (userId, label) =>
      Effect.gen(function* () {
        const token = `alm_${randomBytes(32).toString("base64url")}`
        const id = randomUUID()
        yield* sql`INSERT INTO api_tokens (id, user_id, token_hash, label, created_at)
          VALUES (${id}, ${userId}, ${hashToken(token)}, ${label}, ${Date.now()})`
        return { id, token: Redacted.make(token) }
      }).pipe(guard("issue token")),
    tokens: (userId) =>
      sql`SELECT id, label, created_at, last_used_at FROM api_tokens WHERE user_id = ${userId} ORDER BY created_at`.pipe(
        Effect.flatMap(Schema.decodeUnknown(Schema.Array(TokenRow))),
        Effect.map((rows) =>
          rows.map((r) => ({
            id: r.id,
            label: r.label,
            createdAt: r.created_at,
            lastUsedAt: Option.fromNullable(r.last_used_at)
          }))
        ),
        guard("list tokens")
      ),
    revokeToken: (userId, tokenId) =>
      Effect.gen(function* () {
        const rows = yield* sql`SELECT id FROM api_tokens WHERE id = ${tokenId} AND user_id = ${userId}`
        if (rows.length === 0) return false
        yield* sql`DELETE FROM api_tokens WHERE id = ${tokenId} AND user_id = ${userId}`
        return true
      }).pipe(guard("revoke token")),
    authenticate: (token) =>
      Effect.map(
        authenticateToken(token),
        Option.map((found) => found.user)
      ),
    authenticateToken
  }
})

export const layer: Layer.Layer<Users, never, SqlClient.SqlClient> = Layer.effect(Users, make)
