/**
 * GoogleAuth over oauth4webapi (the OAuth 2.0 steps: PKCE, the code exchange, refresh, revoke)
 * and one Calendar API call (calendarList), from configuration. Interim: once the providers'
 * GoogleOAuth and GoogleCalendarClient are merged, this adapts them instead (the port stays).
 * Plain http:// endpoints reach oauth4webapi only on loopback: Config refuses them elsewhere.
 */
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import * as oauth from "oauth4webapi"
import type { ServerConfig } from "../Config.js"
import {
  GoogleAuth,
  GoogleAuthFailed,
  type GoogleAuthShape,
  type GoogleCalendar,
  scopes
} from "./GoogleAuth.js"

type Step = GoogleAuthFailed["step"]

/** What an oauth4webapi failure means for us, in words without any token. */
const failure =
  (step: Step) =>
  (e: unknown): GoogleAuthFailed => {
    if (e instanceof oauth.ResponseBodyError)
      return new GoogleAuthFailed({
        step,
        reason: e.status >= 500 ? "unavailable" : "refused",
        detail: `${e.status} ${e.error}${e.error_description === undefined ? "" : `: ${e.error_description}`}`
      })
    if (e instanceof oauth.OperationProcessingError)
      return new GoogleAuthFailed({ step, reason: "unexpected", detail: e.message })
    // fetch rejects with a TypeError when the endpoint cannot be reached.
    return new GoogleAuthFailed({
      step,
      reason: "unavailable",
      detail: e instanceof Error ? e.message : "the request failed"
    })
  }

const CalendarListPage = Schema.Struct({
  items: Schema.optionalWith(
    Schema.Array(
      Schema.Struct({
        id: Schema.String,
        summary: Schema.optional(Schema.String),
        summaryOverride: Schema.optional(Schema.String),
        backgroundColor: Schema.optional(Schema.String),
        accessRole: Schema.String,
        primary: Schema.optional(Schema.Boolean),
        deleted: Schema.optional(Schema.Boolean)
      })
    ),
    { default: () => [] }
  ),
  nextPageToken: Schema.optional(Schema.String)
})

export const make = (
  config: Pick<ServerConfig, "google" | "requestTimeout">,
  client: { readonly id: string; readonly secret: Redacted.Redacted<string> }
): Effect.Effect<GoogleAuthShape, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* HttpClient.HttpClient
    const as: oauth.AuthorizationServer = {
      issuer: "https://accounts.google.com",
      authorization_endpoint: config.google.authUrl,
      token_endpoint: config.google.tokenUrl,
      revocation_endpoint: config.google.revokeUrl
    }
    const oauthClient: oauth.Client = { client_id: client.id }
    const auth = () => oauth.ClientSecretPost(Redacted.value(client.secret))
    const insecure = [config.google.tokenUrl, config.google.revokeUrl].some((u) => u.startsWith("http:"))
    const options = {
      signal: () => AbortSignal.timeout(Duration.toMillis(config.requestTimeout)),
      ...(insecure ? { [oauth.allowInsecureRequests]: true } : {})
    }
    const requestOptions = () => ({ ...options, signal: options.signal() })

    const issued = (step: Step, r: oauth.TokenEndpointResponse) =>
      Effect.gen(function* () {
        const expiresIn = r.expires_in
        if (expiresIn === undefined)
          return yield* new GoogleAuthFailed({ step, reason: "unexpected", detail: "no expires_in" })
        const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
        return {
          accessToken: Redacted.make(r.access_token),
          refreshToken: Option.map(Option.fromNullable(r.refresh_token), Redacted.make),
          expiresAt: now + expiresIn * 1000,
          scope: r.scope ?? scopes.join(" ")
        }
      })

    const calendarsPage = (accessToken: Redacted.Redacted<string>, pageToken: Option.Option<string>) =>
      HttpClientRequest.get(`${config.google.apiUrl}/users/me/calendarList`).pipe(
        HttpClientRequest.setUrlParams(
          Option.match(pageToken, { onNone: () => ({}), onSome: (pageToken) => ({ pageToken }) })
        ),
        HttpClientRequest.bearerToken(Redacted.value(accessToken)),
        http.execute,
        Effect.timeout(config.requestTimeout),
        Effect.mapError(
          (e) => new GoogleAuthFailed({ step: "calendars", reason: "unavailable", detail: e.message })
        ),
        Effect.flatMap((res) =>
          res.status === 200
            ? res.json.pipe(
                Effect.flatMap(Schema.decodeUnknown(CalendarListPage)),
                Effect.mapError(
                  () =>
                    new GoogleAuthFailed({
                      step: "calendars",
                      reason: "unexpected",
                      detail: "the calendar list is not in Google's form"
                    })
                )
              )
            : Effect.fail(
                new GoogleAuthFailed({
                  step: "calendars",
                  reason:
                    res.status === 401
                      ? "refused"
                      : res.status >= 500 || res.status === 429
                        ? "unavailable"
                        : "unexpected",
                  detail: `status ${res.status}`
                })
              )
        ),
        Effect.scoped
      )

    const shape: GoogleAuthShape = {
      pkce: Effect.promise(async () => {
        const verifier = oauth.generateRandomCodeVerifier()
        return {
          verifier: Redacted.make(verifier),
          challenge: await oauth.calculatePKCECodeChallenge(verifier)
        }
      }),
      authorizeUrl: ({ state, codeChallenge, redirectUri }) => {
        const url = new URL(config.google.authUrl)
        url.search = new URLSearchParams({
          client_id: client.id,
          redirect_uri: redirectUri,
          response_type: "code",
          response_mode: "query",
          scope: scopes.join(" "),
          state: Redacted.value(state),
          code_challenge: codeChallenge,
          code_challenge_method: "S256",
          access_type: "offline",
          prompt: "consent",
          include_granted_scopes: "true"
        }).toString()
        return url.href
      },
      exchange: ({ code, codeVerifier, redirectUri }) =>
        Effect.tryPromise({
          try: async () => {
            const params = oauth.validateAuthResponse(
              as,
              oauthClient,
              new URLSearchParams({ code }),
              oauth.skipStateCheck
            )
            const response = await oauth.authorizationCodeGrantRequest(
              as,
              oauthClient,
              auth(),
              params,
              redirectUri,
              Redacted.value(codeVerifier),
              requestOptions()
            )
            return await oauth.processAuthorizationCodeResponse(as, oauthClient, response)
          },
          catch: failure("exchange")
        }).pipe(Effect.flatMap((r) => issued("exchange", r))),
      refresh: (refreshToken) =>
        Effect.tryPromise({
          try: async () => {
            const response = await oauth.refreshTokenGrantRequest(
              as,
              oauthClient,
              auth(),
              Redacted.value(refreshToken),
              requestOptions()
            )
            return await oauth.processRefreshTokenResponse(as, oauthClient, response)
          },
          catch: failure("refresh")
        }).pipe(Effect.flatMap((r) => issued("refresh", r))),
      revoke: (token) =>
        Effect.tryPromise({
          try: async () => {
            const response = await oauth.revocationRequest(
              as,
              oauthClient,
              auth(),
              Redacted.value(token),
              requestOptions()
            )
            await oauth.processRevocationResponse(response)
          },
          catch: failure("revoke")
        }),
      calendars: (accessToken) =>
        Effect.gen(function* () {
          const all: Array<GoogleCalendar> = []
          let pageToken = Option.none<string>()
          // Google's own page limit is 250 entries; 50 pages is far beyond any real calendar list.
          for (let page = 0; page < 50; page++) {
            const got = yield* calendarsPage(accessToken, pageToken)
            for (const c of got.items) {
              if (c.deleted === true || c.accessRole === "freeBusyReader") continue
              all.push({
                id: c.id,
                summary: Option.fromNullable(c.summaryOverride ?? c.summary),
                color: Option.fromNullable(c.backgroundColor),
                primary: c.primary === true,
                writable: c.accessRole === "owner" || c.accessRole === "writer"
              })
            }
            if (got.nextPageToken === undefined) return all
            pageToken = Option.some(got.nextPageToken)
          }
          return yield* new GoogleAuthFailed({
            step: "calendars",
            reason: "unexpected",
            detail: "the calendar list does not end"
          })
        })
    }
    return shape
  })

/** GoogleAuth when a client is configured; nothing otherwise (Google is then not offered). */
export const layer = (config: Pick<ServerConfig, "google" | "requestTimeout">): Layer.Layer<never> =>
  Option.match(Option.all({ id: config.google.clientId, secret: config.google.clientSecret }), {
    onNone: () => Layer.empty,
    onSome: (client) =>
      Layer.effect(GoogleAuth, make(config, client)).pipe(Layer.provide(NodeHttpClient.layerUndici))
  })
