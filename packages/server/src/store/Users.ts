/**
 * The people the server serves and their API tokens. A token is shown once when it is issued;
 * only its SHA-256 is stored, so a copy of the database does not let anyone in.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"

export interface User {
  readonly id: string
  readonly name: string
  readonly createdAt: number
}

export interface TokenInfo {
  readonly id: string
  readonly label: string
  readonly createdAt: number
  readonly lastUsedAt: Option.Option<number>
}

export interface UsersShape {
  readonly create: (name: string) => Effect.Effect<User, SyncStore.StoreError>
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
  readonly authenticate: (
    token: Redacted.Redacted<string>
  ) => Effect.Effect<Option.Option<User>, SyncStore.StoreError>
}

export class Users extends Context.Tag("@almanac/server/Users")<Users, UsersShape>() {}

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const UserRow = Schema.Struct({ id: Schema.String, name: Schema.String, created_at: Num })
const TokenRow = Schema.Struct({
  id: Schema.String,
  label: Schema.String,
  created_at: Num,
  last_used_at: Schema.NullOr(Num)
})

export const hashToken = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex")

const toUser = (r: typeof UserRow.Type): User => ({ id: r.id, name: r.name, createdAt: r.created_at })

export const make: Effect.Effect<UsersShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const guard =
    (operation: string) =>
    <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.mapError((e) => new SyncStore.StoreError({ operation, detail: e.message })))
  const decodeUsers = Schema.decodeUnknown(Schema.Array(UserRow))

  const get = (id: string) =>
    sql`SELECT id, name, created_at FROM users WHERE id = ${id}`.pipe(
      Effect.flatMap(decodeUsers),
      Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toUser)),
      guard("read user")
    )

  return {
    create: (name) =>
      Effect.gen(function* () {
        const user: User = { id: randomUUID(), name, createdAt: Date.now() }
        yield* sql`INSERT INTO users (id, name, created_at) VALUES (${user.id}, ${user.name}, ${user.createdAt})`
        return user
      }).pipe(guard("create user")),
    list: sql`SELECT id, name, created_at FROM users ORDER BY created_at, id`.pipe(
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
      Effect.gen(function* () {
        const rows =
          yield* sql`SELECT user_id FROM api_tokens WHERE token_hash = ${hashToken(Redacted.value(token))}`.pipe(
            Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ user_id: Schema.String }))))
          )
        const row = rows[0]
        if (row === undefined) return Option.none()
        return yield* get(row.user_id)
      }).pipe(guard("authenticate"))
  }
})

export const layer: Layer.Layer<Users, never, SqlClient.SqlClient> = Layer.effect(Users, make)
