/**
 * Sessions of the settings pages. Signing in with an API token opens a session: the browser's
 * cookie holds a new random secret, never the token itself, and the server keeps only the
 * secret's hash, the user and the id of the token it was opened with. A session ends at sign-out,
 * after `idleLifetime` without a page (each page seen renews it, at most once every
 * `renewEvery`, so a busy browser does not write on every request), after `maxLifetime` in any
 * case, and when its token is revoked. Time comes from Effect's Clock (TestClock in tests).
 */
import { SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { hashOf, randomSecret } from "./OAuthStates.js"

export const idleLifetime = Duration.hours(12)
export const maxLifetime = Duration.days(30)
const renewEvery = Duration.minutes(10)

export interface PageSessionsShape {
  /** A new session for `userId`, opened with the API token `tokenId`; the secret for the cookie. */
  readonly open: (
    userId: string,
    tokenId: string
  ) => Effect.Effect<Redacted.Redacted<string>, SyncStore.StoreError>
  /** Whose session the cookie's secret is, while it lasts (and its token is not revoked). */
  readonly userOf: (secret: string) => Effect.Effect<Option.Option<string>, SyncStore.StoreError>
  /** Ends the session (sign-out). */
  readonly close: (secret: string) => Effect.Effect<void, SyncStore.StoreError>
}

export class PageSessions extends Context.Tag("@almanac/server/PageSessions")<
  PageSessions,
  PageSessionsShape
>() {}

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const Row = Schema.Struct({ user_id: Schema.String, created_at: Num, seen_at: Num, expires_at: Num })

export const make: Effect.Effect<PageSessionsShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const guard =
    (operation: string) =>
    <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.mapError((e) => new SyncStore.StoreError({ operation, detail: e.message })))
  const idle = Duration.toMillis(idleLifetime)

  return {
    open: (userId, tokenId) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const secret = randomSecret()
        yield* sql`DELETE FROM page_sessions WHERE expires_at <= ${now}`
        yield* sql`INSERT INTO page_sessions (secret_hash, user_id, token_id, created_at, seen_at, expires_at)
          VALUES (${hashOf(Redacted.value(secret))}, ${userId}, ${tokenId}, ${now}, ${now}, ${now + idle})`
        return secret
      }).pipe(guard("open a page session")),
    userOf: (secret) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const key = hashOf(secret)
        // The token it was opened with must still exist: revoking a token ends its sessions.
        const rows = yield* sql`SELECT s.user_id, s.created_at, s.seen_at, s.expires_at FROM page_sessions s
          JOIN api_tokens t ON t.id = s.token_id WHERE s.secret_hash = ${key}`.pipe(
          Effect.flatMap(Schema.decodeUnknown(Schema.Array(Row)))
        )
        const row = rows[0]
        if (row === undefined) return Option.none()
        if (row.expires_at <= now || row.created_at + Duration.toMillis(maxLifetime) <= now) {
          yield* sql`DELETE FROM page_sessions WHERE secret_hash = ${key}`
          return Option.none()
        }
        if (now - row.seen_at >= Duration.toMillis(renewEvery))
          yield* sql`UPDATE page_sessions SET seen_at = ${now}, expires_at = ${now + idle} WHERE secret_hash = ${key}`
        return Option.some(row.user_id)
      }).pipe(guard("read a page session")),
    close: (secret) =>
      sql`DELETE FROM page_sessions WHERE secret_hash = ${hashOf(secret)}`.pipe(
        Effect.asVoid,
        guard("close a page session")
      )
  }
})

export const layer: Layer.Layer<PageSessions, never, SqlClient.SqlClient> = Layer.effect(PageSessions, make)
