/**
 * The OAuth 2.0 authorization-code flow with PKCE (S256) that every calendar service behind OAuth
 * uses here (Google, the Microsoft identity platform): the authorization URL, the callback checked
 * against its state, the code exchange, refresh and (where the service has one) revocation — all
 * through `oauth4webapi`, wrapped once here behind typed functions. What differs between services
 * is data: endpoints, scopes, extra authorization parameters and how a token answer without
 * `expires_in` is read (`GoogleOAuth`, `MicrosoftOAuth`).
 *
 * `checkEndpoint` is THE place where an endpoint's scheme is checked: `https://` everywhere, plain
 * `http://` only on a loopback address (tests, a local proxy); the server calls it on every
 * configured OAuth or API URL at start, and `make` refuses to build on a bad one.
 *
 * Refresh tokens may rotate (Microsoft sends a new one on every refresh; Google keeps its own): a
 * refresh answer's refresh token, when there is one, replaces the held one, and the token source
 * hands every new set to the server for sealing before it is used.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as oauth from "oauth4webapi"

/** A configured endpoint that may not be used, and why, in words for a person. */
export class EndpointRefused extends Schema.TaggedError<EndpointRefused>()("EndpointRefused", {
  /** The setting that holds it (ALMANAC_GOOGLE_TOKEN_URL…). */
  name: Schema.String,
  url: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.name} ${this.url}: ${this.reason}`
  }
}

/** What went wrong at a service's OAuth endpoints; `error` is OAuth's own code where one was sent. */
export class OAuthError extends Schema.TaggedError<OAuthError>()("OAuthError", {
  /** "Google", "Microsoft": who answered. */
  service: Schema.String,
  operation: Schema.Literal("callback", "exchange", "refresh", "revoke"),
  /** `invalid_grant`, `access_denied`, … or `network` / `protocol` when no OAuth answer came. */
  error: Schema.String,
  detail: Schema.String,
  status: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `${this.service} OAuth ${this.operation}: ${this.error}${this.detail === "" ? "" : ` (${this.detail})`}`
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

/** What the server keeps between sending the browser away and the callback (single-use). */
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

/** One endpoint and the setting it comes from (named in a refusal). */
export interface Endpoint {
  readonly setting: string
  readonly url: string
}

export interface OAuth2Config {
  /** Who is on the other side, in words ("Google"). */
  readonly service: string
  /** The authorization server's issuer identifier (oauth4webapi wants one; no discovery is made). */
  readonly issuer: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** `{ALMANAC_PUBLIC_URL}/oauth/<service>/callback`, as registered with the OAuth client. */
  readonly redirectUri: string
  readonly authorization: Endpoint
  readonly token: Endpoint
  /** Absent where the service offers no revocation endpoint (Microsoft). */
  readonly revocation?: Endpoint | undefined
  readonly scopes: ReadonlyArray<string>
  /** Added to the authorization URL (Google's `access_type=offline`, `prompt=consent`). */
  readonly authorizationParams?: Readonly<Record<string, string>> | undefined
  /** Lifetime assumed when a token answer has no `expires_in` (seconds). */
  readonly defaultLifetimeSeconds?: number | undefined
}

export interface OAuth2Shape {
  /** A fresh state and PKCE verifier, and the URL to send the browser to. */
  readonly authorize: Effect.Effect<PendingAuthorization>
  /** The callback's query checked against the pending authorization, then the code exchanged. */
  readonly exchange: (
    callback: URL | URLSearchParams,
    pending: Pick<PendingAuthorization, "state" | "codeVerifier">
  ) => Effect.Effect<TokenSet, OAuthError>
  /** A new access token, and the new refresh token when the service rotates it. */
  readonly refresh: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<TokenSet, OAuthError>
  /** Revokes the grant at the service, where it has a revocation endpoint. */
  readonly revoke: Option.Option<(token: Redacted.Redacted<string>) => Effect.Effect<void, OAuthError>>
}

type Operation = OAuthError["operation"]

const toOAuthError =
  (service: string, operation: Operation) =>
  (cause: unknown): OAuthError => {
    if (cause instanceof oauth.ResponseBodyError)
      return new OAuthError({
        service,
        operation,
        error: cause.error,
        detail: cause.error_description ?? "",
        status: cause.status
      })
    if (cause instanceof oauth.AuthorizationResponseError)
      return new OAuthError({ service, operation, error: cause.error, detail: cause.error_description ?? "" })
    if (cause instanceof TypeError)
      return new OAuthError({ service, operation, error: "network", detail: cause.message })
    if (cause instanceof Error)
      return new OAuthError({ service, operation, error: "protocol", detail: cause.message })
    return new OAuthError({ service, operation, error: "protocol", detail: String(cause) })
  }

export const make = (config: OAuth2Config): Either.Either<OAuth2Shape, EndpointRefused> =>
  Either.gen(function* () {
    const auth = yield* checkEndpoint(config.authorization.setting, config.authorization.url)
    const token = yield* checkEndpoint(config.token.setting, config.token.url)
    const revocation =
      config.revocation === undefined
        ? undefined
        : yield* checkEndpoint(config.revocation.setting, config.revocation.url)
    const server: oauth.AuthorizationServer = {
      issuer: config.issuer,
      authorization_endpoint: auth.url.href,
      token_endpoint: token.url.href,
      ...(revocation !== undefined ? { revocation_endpoint: revocation.url.href } : {})
    }
    const client: oauth.Client = { client_id: config.clientId }
    const options = (insecure: boolean) => (insecure ? { [oauth.allowInsecureRequests]: true } : {})
    const clientAuth = () => oauth.ClientSecretPost(Redacted.value(config.clientSecret))
    const scope = config.scopes.join(" ")
    const service = config.service
    const attempt = <A>(operation: Operation, f: () => Promise<A>): Effect.Effect<A, OAuthError> =>
      Effect.tryPromise({ try: f, catch: toOAuthError(service, operation) })

    const toTokenSet = (
      r: oauth.TokenEndpointResponse,
      previousRefresh: Option.Option<Redacted.Redacted<string>>,
      now: number
    ): Either.Either<TokenSet, string> => {
      const refresh =
        r.refresh_token !== undefined ? Option.some(Redacted.make(r.refresh_token)) : previousRefresh
      if (Option.isNone(refresh)) return Either.left(`${service} sent no refresh token`)
      return Either.right({
        accessToken: Redacted.make(r.access_token),
        refreshToken: refresh.value,
        expiresAt: now + (r.expires_in ?? config.defaultLifetimeSeconds ?? 3600) * 1000,
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
              onLeft: (detail) =>
                Effect.fail(new OAuthError({ service, operation, error: "protocol", detail })),
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
          ...config.authorizationParams
        }))
          url.searchParams.set(k, v)
        return { url: url.href, state, codeVerifier: Redacted.make(verifier) }
      }),
      exchange: (callback, pending) =>
        Effect.gen(function* () {
          const params = yield* Effect.try({
            try: () => oauth.validateAuthResponse(server, client, callback, pending.state),
            catch: toOAuthError(service, "callback")
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
      revoke:
        revocation === undefined
          ? Option.none()
          : Option.some((t: Redacted.Redacted<string>) =>
              Effect.gen(function* () {
                const response = yield* attempt("revoke", () =>
                  oauth.revocationRequest(
                    server,
                    client,
                    clientAuth(),
                    Redacted.value(t),
                    options(revocation.insecure)
                  )
                )
                yield* attempt("revoke", () => oauth.processRevocationResponse(response))
              })
            )
    }
  })
