/**
 * Connecting a Google account: the OAuth 2.0 authorization-code flow with PKCE (S256),
 * `access_type=offline` and `prompt=consent` (so that Google issues a refresh token every time a
 * person connects, also on a second connection), `response_mode=query`, the code exchange, refresh
 * and revoke — all through `oauth4webapi`, wrapped once here behind typed functions.
 *
 * Scope: `https://www.googleapis.com/auth/calendar`. The narrower pair `calendar.events` +
 * `calendar.readonly` would also cover events and calendarList, but `freeBusy.query` is documented
 * for `calendar` and `calendar.readonly` only and `events.watch` for `calendar`/`calendar.events`…;
 * one well-known scope keeps the consent screen to a single line ("See, edit, share and delete all
 * your calendars") and every method Almanac calls under one grant. `scopes` can narrow it.
 *
 * Endpoints are configuration. `checkEndpoint` is THE place where an endpoint's scheme is checked:
 * `https://` everywhere, plain `http://` only on a loopback address (tests, a local proxy); the server
 * calls it on every configured Google URL at start, and `make` refuses to build on a bad one.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as oauth from "oauth4webapi"

export const DEFAULT_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
export const DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
export const DEFAULT_REVOKE_URL = "https://oauth2.googleapis.com/revoke"
export const SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"

export interface OAuthConfig {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** `{ALMANAC_PUBLIC_URL}/oauth/google/callback`, as registered with the OAuth client. */
  readonly redirectUri: string
  readonly authUrl?: string | undefined
  readonly tokenUrl?: string | undefined
  readonly revokeUrl?: string | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
}

/** A configured endpoint that may not be used, and why, in words for a person. */
export class EndpointRefused extends Schema.TaggedError<EndpointRefused>()("GoogleEndpointRefused", {
  name: Schema.String,
  url: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.name} ${this.url}: ${this.reason}`
  }
}

/** What went wrong at Google's OAuth endpoints; `error` is OAuth's own code where Google sent one. */
export class OAuthError extends Schema.TaggedError<OAuthError>()("GoogleOAuthError", {
  operation: Schema.Literal("callback", "exchange", "refresh", "revoke"),
  /** `invalid_grant`, `access_denied`, … or `network` / `protocol` when no OAuth answer came. */
  error: Schema.String,
  detail: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `Google OAuth ${this.operation}: ${this.error}${this.detail === "" ? "" : ` (${this.detail})`}`
  }
}

/**
 * The tokens of one account, as the server seals them (JSON through `TokenSet`'s encoded form).
 * `expiresAt` is the access token's expiry in epoch milliseconds.
 */
export const TokenSet = Schema.Struct({
  accessToken: Schema.Redacted(Schema.String),
  refreshToken: Schema.Redacted(Schema.String),
  expiresAt: Schema.Number,
  scope: Schema.optional(Schema.String)
})
export type TokenSet = typeof TokenSet.Type

/** What the server keeps between sending the browser to Google and the callback (single-use). */
export interface PendingAuthorization {
  readonly url: string
  readonly state: string
  readonly codeVerifier: Redacted.Redacted<string>
}

const LOOPBACK = new Set(["127.0.0.1", "[::1]", "localhost"])

const isLoopback = (host: string): boolean => LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host)

/** `https://`, or `http://` on loopback only. Returns the URL and whether it is plain http. */
export const checkEndpoint = (
  name: string,
  url: string
): Either.Either<{ readonly url: URL; readonly insecure: boolean }, EndpointRefused> => {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return Either.left(new EndpointRefused({ name, url, reason: "is not a URL" }))
  }
  if (parsed.username !== "" || parsed.password !== "")
    return Either.left(new EndpointRefused({ name, url: "(hidden)", reason: "must not carry credentials" }))
  if (parsed.protocol === "https:") return Either.right({ url: parsed, insecure: false })
  if (parsed.protocol === "http:" && isLoopback(parsed.hostname))
    return Either.right({ url: parsed, insecure: true })
  if (parsed.protocol === "http:")
    return Either.left(
      new EndpointRefused({
        name,
        url,
        reason: "must be https:// (plain http:// is allowed on a loopback address only)"
      })
    )
  return Either.left(new EndpointRefused({ name, url, reason: `unsupported scheme ${parsed.protocol}` }))
}

export interface GoogleOAuthShape {
  /** A fresh state and PKCE verifier, and the URL to send the browser to. */
  readonly authorize: Effect.Effect<PendingAuthorization>
  /** The callback's query checked against the pending authorization, then the code exchanged. */
  readonly exchange: (
    callback: URL | URLSearchParams,
    pending: Pick<PendingAuthorization, "state" | "codeVerifier">
  ) => Effect.Effect<TokenSet, OAuthError>
  /** A new access token; Google keeps the refresh token unless it sends a new one. */
  readonly refresh: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<TokenSet, OAuthError>
  /** Revokes the grant at Google (a refresh token revokes its access tokens too). */
  readonly revoke: (token: Redacted.Redacted<string>) => Effect.Effect<void, OAuthError>
}

export class GoogleOAuth extends Context.Tag("@almanac/providers/GoogleOAuth")<
  GoogleOAuth,
  GoogleOAuthShape
>() {}

type Operation = OAuthError["operation"]

const toOAuthError =
  (operation: Operation) =>
  (cause: unknown): OAuthError => {
    if (cause instanceof oauth.ResponseBodyError)
      return new OAuthError({
        operation,
        error: cause.error,
        detail: cause.error_description ?? "",
        status: cause.status
      })
    if (cause instanceof oauth.AuthorizationResponseError)
      return new OAuthError({ operation, error: cause.error, detail: cause.error_description ?? "" })
    if (cause instanceof TypeError)
      return new OAuthError({ operation, error: "network", detail: cause.message })
    if (cause instanceof Error) return new OAuthError({ operation, error: "protocol", detail: cause.message })
    return new OAuthError({ operation, error: "protocol", detail: String(cause) })
  }

const attempt = <A>(operation: Operation, f: () => Promise<A>): Effect.Effect<A, OAuthError> =>
  Effect.tryPromise({ try: f, catch: toOAuthError(operation) })

export const make = (config: OAuthConfig): Either.Either<GoogleOAuthShape, EndpointRefused> =>
  Either.gen(function* () {
    const auth = yield* checkEndpoint("ALMANAC_GOOGLE_AUTH_URL", config.authUrl ?? DEFAULT_AUTH_URL)
    const token = yield* checkEndpoint("ALMANAC_GOOGLE_TOKEN_URL", config.tokenUrl ?? DEFAULT_TOKEN_URL)
    const revoke = yield* checkEndpoint("ALMANAC_GOOGLE_REVOKE_URL", config.revokeUrl ?? DEFAULT_REVOKE_URL)
    const server: oauth.AuthorizationServer = {
      issuer: "https://accounts.google.com",
      authorization_endpoint: auth.url.href,
      token_endpoint: token.url.href,
      revocation_endpoint: revoke.url.href
    }
    const client: oauth.Client = { client_id: config.clientId }
    const options = (insecure: boolean) => (insecure ? { [oauth.allowInsecureRequests]: true } : {})
    const clientAuth = () => oauth.ClientSecretPost(Redacted.value(config.clientSecret))
    const scope = (config.scopes ?? [SCOPE_CALENDAR]).join(" ")

    const toTokenSet = (
      r: oauth.TokenEndpointResponse,
      previousRefresh: Option.Option<Redacted.Redacted<string>>,
      now: number
    ): Either.Either<TokenSet, string> => {
      const refresh =
        r.refresh_token !== undefined ? Option.some(Redacted.make(r.refresh_token)) : previousRefresh
      if (Option.isNone(refresh)) return Either.left("Google sent no refresh token")
      return Either.right({
        accessToken: Redacted.make(r.access_token),
        refreshToken: refresh.value,
        // Without expires_in, assume Google's documented hour.
        expiresAt: now + (r.expires_in ?? 3600) * 1000,
        ...(r.scope !== undefined ? { scope: r.scope } : {})
      })
    }

    const finish =
      (operation: Operation, previous: Option.Option<Redacted.Redacted<string>>) =>
      (r: oauth.TokenEndpointResponse) =>
        Effect.flatMap(
          Effect.clockWith((c) => c.currentTimeMillis),
          (now) =>
            Either.match(toTokenSet(r, previous, now), {
              onLeft: (detail) => Effect.fail(new OAuthError({ operation, error: "protocol", detail })),
              onRight: Effect.succeed
            })
        )

    return {
      authorize: Effect.promise(async () => {
        const state = oauth.generateRandomState()
        const verifier = oauth.generateRandomCodeVerifier()
        const challenge = await oauth.calculatePKCECodeChallenge(verifier)
        const url = new URL(auth.url.href)
        for (const [k, v] of Object.entries({
          client_id: config.clientId,
          redirect_uri: config.redirectUri,
          response_type: "code",
          response_mode: "query",
          scope,
          state,
          code_challenge: challenge,
          code_challenge_method: "S256",
          access_type: "offline",
          prompt: "consent"
        }))
          url.searchParams.set(k, v)
        return { url: url.href, state, codeVerifier: Redacted.make(verifier) }
      }),
      exchange: (callback, pending) =>
        Effect.gen(function* () {
          const params = yield* Effect.try({
            try: () => oauth.validateAuthResponse(server, client, callback, pending.state),
            catch: toOAuthError("callback")
          })
          const response = yield* attempt("exchange", () =>
            oauth.authorizationCodeGrantRequest(
              server,
              client,
              clientAuth(),
              params,
              config.redirectUri,
              Redacted.value(pending.codeVerifier),
              options(token.insecure)
            )
          )
          const body = yield* attempt("exchange", () =>
            oauth.processAuthorizationCodeResponse(server, client, response)
          )
          return yield* finish("exchange", Option.none())(body)
        }),
      refresh: (refreshToken) =>
        Effect.gen(function* () {
          const response = yield* attempt("refresh", () =>
            oauth.refreshTokenGrantRequest(
              server,
              client,
              clientAuth(),
              Redacted.value(refreshToken),
              options(token.insecure)
            )
          )
          const body = yield* attempt("refresh", () =>
            oauth.processRefreshTokenResponse(server, client, response)
          )
          return yield* finish("refresh", Option.some(refreshToken))(body)
        }),
      revoke: (t) =>
        Effect.gen(function* () {
          const response = yield* attempt("revoke", () =>
            oauth.revocationRequest(server, client, clientAuth(), Redacted.value(t), options(revoke.insecure))
          )
          yield* attempt("revoke", () => oauth.processRevocationResponse(response))
        })
    }
  })

export const layer = (config: OAuthConfig): Layer.Layer<GoogleOAuth, EndpointRefused> =>
  Layer.effect(GoogleOAuth, Either.match(make(config), { onLeft: Effect.fail, onRight: Effect.succeed }))
