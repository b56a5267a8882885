/**
 * OAuth flows started and not yet finished, kept on the server: the `state` sent to the provider
 * names one, which holds who started it, the PKCE code verifier (sealed), and — for a flow started
 * in the settings pages — a hash of that browser's flow cookie. A state is single-use (taking it
 * deletes it in the same statement, so a replay finds nothing, even a concurrent one) and expires
 * ten minutes after it was made. Only hashes of states and cookies are stored, so reading the table
 * is not enough to finish someone else's flow. Time comes from Effect's Clock (TestClock in tests).
 */
import { createHash, randomBytes } from "node:crypto"
import { type CredentialVault, SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Clock, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { oauthStateBinding, Vault } from "../Vault.js"

export const lifetime = Duration.minutes(10)

/** Expired rows stay this long after expiry (so the callback can say "expired"), then go. */
const keptAfterExpiry = Duration.hours(1)

export const Provider = Schema.Literal("google", "microsoft")
export type Provider = typeof Provider.Type

export interface Flow {
  /** The state sent to the provider (random); only its hash is stored. */
  readonly state: Redacted.Redacted<string>
  readonly provider: Provider
  readonly userId: string
  /**
   * The browser's flow cookie when started from the settings pages: the callback must come with
   * it. None for a flow started through the API (the callback is then a plain browser GET).
   */
  readonly browser: Option.Option<Redacted.Redacted<string>>
  /** The name the person asked for, if any. */
  readonly name: Option.Option<string>
  readonly codeVerifier: Redacted.Redacted<string>
  readonly redirectUri: string
}

export interface PendingFlow {
  readonly provider: Provider
  readonly userId: string
  readonly browserHash: Option.Option<string>
  readonly name: Option.Option<string>
  readonly codeVerifier: Redacted.Redacted<string>
  readonly redirectUri: string
}

export type Taken =
  | { readonly _tag: "Found"; readonly flow: PendingFlow }
  /** It was real, but more than ten minutes old (and is gone now). */
  | { readonly _tag: "Expired" }
  /** Never made, already used, or long gone. */
  | { readonly _tag: "Unknown" }

export interface OAuthStatesShape {
  /** Records the flow under a hash of its state. */
  readonly start: (flow: Flow) => Effect.Effect<void, SyncStore.StoreError>
  /** Takes the flow `state` names out of the table: it cannot be taken twice. */
  readonly take: (
    provider: Provider,
    state: string
  ) => Effect.Effect<Taken, SyncStore.StoreError | CredentialVault.VaultError>
}

export class OAuthStates extends Context.Tag("@almanac/server/OAuthStates")<
  OAuthStates,
  OAuthStatesShape
>() {}

/** A random secret for a state or a flow cookie: 32 bytes, base64url. */
export const randomSecret = (): Redacted.Redacted<string> =>
  Redacted.make(randomBytes(32).toString("base64url"))

/** The stored form of a state or a cookie value. */
export const hashOf = (secret: string): string => createHash("sha256").update(secret, "utf8").digest("hex")

/** The vault binds a sealed verifier to its state, so a verifier moved to another row does not open. */
const sealedFor = oauthStateBinding

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const Row = Schema.Struct({
  provider: Provider,
  user_id: Schema.String,
  browser_hash: Schema.NullOr(Schema.String),
  name: Schema.NullOr(Schema.String),
  code_verifier: Schema.String,
  redirect_uri: Schema.String,
  expires_at: Num
})

export const make: Effect.Effect<OAuthStatesShape, never, SqlClient.SqlClient | Vault> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    const vault = yield* Vault
    const storeError = (operation: string) => (e: { readonly message: string }) =>
      new SyncStore.StoreError({ operation, detail: e.message })
    const decode = Schema.decodeUnknown(Schema.Array(Row))

    // One statement that deletes and answers, so two callbacks with one state cannot both win.
    const takeRow = (stateHash: string, provider: Provider) =>
      sql.onDialectOrElse({
        mssql: () =>
          sql`DELETE FROM oauth_states OUTPUT DELETED.provider, DELETED.user_id, DELETED.browser_hash, DELETED.name, DELETED.code_verifier, DELETED.redirect_uri, DELETED.expires_at
            WHERE state_hash = ${stateHash} AND provider = ${provider}`,
        orElse: () =>
          sql`DELETE FROM oauth_states WHERE state_hash = ${stateHash} AND provider = ${provider}
            RETURNING provider, user_id, browser_hash, name, code_verifier, redirect_uri, expires_at`
      })

    return {
      start: (flow) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const stateHash = hashOf(Redacted.value(flow.state))
          yield* sql`DELETE FROM oauth_states WHERE expires_at < ${now - Duration.toMillis(keptAfterExpiry)}`
          yield* sql`INSERT INTO oauth_states (state_hash, provider, user_id, browser_hash, name, code_verifier, redirect_uri, created_at, expires_at)
            VALUES (${stateHash}, ${flow.provider}, ${flow.userId},
                    ${Option.getOrNull(Option.map(flow.browser, (b) => hashOf(Redacted.value(b))))},
                    ${Option.getOrNull(flow.name)}, ${vault.seal(sealedFor(stateHash), flow.codeVerifier)},
                    ${flow.redirectUri}, ${now}, ${now + Duration.toMillis(lifetime)})`
        }).pipe(Effect.mapError(storeError("record the sign-in flow"))),
      take: (provider, state) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const stateHash = hashOf(state)
          const rows = yield* takeRow(stateHash, provider).pipe(
            Effect.flatMap(decode),
            Effect.mapError(storeError("read the sign-in flow"))
          )
          const row = rows[0]
          if (row === undefined) return { _tag: "Unknown" } as const
          if (row.expires_at <= now) return { _tag: "Expired" } as const
          const codeVerifier = yield* vault.open(sealedFor(stateHash), row.code_verifier)
          const flow: PendingFlow = {
            provider: row.provider,
            userId: row.user_id,
            browserHash: Option.fromNullable(row.browser_hash),
            name: Option.fromNullable(row.name),
            codeVerifier,
            redirectUri: row.redirect_uri
          }
          return { _tag: "Found", flow } as const
        })
    }
  }
)

export const layer: Layer.Layer<OAuthStates, never, SqlClient.SqlClient | Vault> = Layer.effect(
  OAuthStates,
  make
)
