/**
 * The access token of one OAuth account (Google, Microsoft), kept fresh: refreshed shortly before it
 * expires and at once when the API answers 401 with it, one refresh at a time however many requests wait for it.
 * Every refreshed token set is reported through `onRefresh`, so that the server seals it before the
 * new token is used: where refresh tokens rotate (Microsoft), the old one may stop working.
 *
 * Only the service refusing the grant itself (`invalid_grant`: revoked, expired, or the client's own
 * credentials refused: `invalid_client`, `unauthorized_client`) is `Unauthorized`, which parks the
 * account; an expiring access token never is, and a token endpoint that cannot be reached is
 * `Transient`.
 */
import { ProviderError } from "@almanac/core"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type { OAuth2Shape, OAuthError, TokenSet } from "./OAuth2.js"

export type TokenError = ProviderError.Unauthorized | ProviderError.Transient

export interface TokenSourceShape {
  /** A token that is valid for at least the margin: the held one, or a refreshed one. */
  readonly accessToken: Effect.Effect<Redacted.Redacted<string>, TokenError>
  /**
   * The API answered 401 to `rejected`: refresh, unless another request has already replaced that
   * token, and give the token to retry with.
   */
  readonly refreshAfterRejection: (
    rejected: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>, TokenError>
  /** The token set held now (what the server last sealed, or newer). */
  readonly current: Effect.Effect<TokenSet>
}

export class OAuthTokenSource extends Context.Tag("@almanac/providers/OAuthTokenSource")<
  OAuthTokenSource,
  TokenSourceShape
>() {}

export interface TokenSourceOptions {
  readonly oauth: Pick<OAuth2Shape, "refresh">
  readonly initial: TokenSet
  /** Called with every refreshed set before it is used; a failure here fails the request (Transient). */
  readonly onRefresh: (tokens: TokenSet) => Effect.Effect<void, unknown>
  /** Refresh when the token expires within this many milliseconds (default 5 minutes). */
  readonly marginMillis?: number
  /** Names the account in errors (the account id). */
  readonly account: string
}

const REFUSED = new Set(["invalid_grant", "invalid_client", "unauthorized_client"])

const toTokenError =
  (account: string) =>
  (e: OAuthError): TokenError =>
    REFUSED.has(e.error)
      ? new ProviderError.Unauthorized({
          calendar: account,
          detail: `${e.service} refused the refresh token (${e.error})`
        })
      : new ProviderError.Transient({ calendar: account, detail: e.message })

export const make = (options: TokenSourceOptions): Effect.Effect<TokenSourceShape> =>
  Effect.gen(function* () {
    const held = yield* Ref.make(options.initial)
    const lock = yield* Effect.makeSemaphore(1)
    const margin = options.marginMillis ?? 5 * 60_000

    const refresh = (tokens: TokenSet) =>
      options.oauth.refresh(tokens.refreshToken).pipe(
        Effect.mapError(toTokenError(options.account)),
        Effect.tap((next) =>
          options.onRefresh(next).pipe(
            Effect.mapError(
              () =>
                new ProviderError.Transient({
                  calendar: options.account,
                  detail: "a refreshed OAuth token could not be stored"
                })
            )
          )
        ),
        Effect.tap((next) => Ref.set(held, next)),
        Effect.map((next) => next.accessToken)
      )

    const accessToken = Effect.gen(function* () {
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const tokens = yield* Ref.get(held)
      if (tokens.expiresAt - margin > now) return tokens.accessToken
      return yield* lock.withPermits(1)(
        Effect.gen(function* () {
          const again = yield* Ref.get(held)
          const at = yield* Effect.clockWith((c) => c.currentTimeMillis)
          if (again.expiresAt - margin > at) return again.accessToken
          return yield* refresh(again)
        })
      )
    })

    const refreshAfterRejection = (rejected: Redacted.Redacted<string>) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const tokens = yield* Ref.get(held)
          if (Redacted.value(tokens.accessToken) !== Redacted.value(rejected)) return tokens.accessToken
          return yield* refresh(tokens)
        })
      )

    return { accessToken, refreshAfterRejection, current: Ref.get(held) }
  })
