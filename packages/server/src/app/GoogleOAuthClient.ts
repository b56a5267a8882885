/**
 * GoogleAuth over the providers' Google modules: GoogleOAuth (oauth4webapi: PKCE, the code
 * exchange, revoke), OAuthTokenSource (refresh before expiry and once on a 401, each refreshed
 * set reported for sealing) and GoogleCalendarClient (calendarList), from configuration. Config
 * has already refused plain http:// off loopback, by the same rule OAuth2.checkEndpoint
 * applies. Google's endpoints are the operator's configuration, not a user's URL, so the client
 * here is not the guarded one that calendar servers get.
 */
import { GoogleCalendarClient, GoogleOAuth } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Either, Layer, Option, type Redacted } from "effect"
import type { ServerConfig } from "../Config.js"
import { GoogleAuth, type GoogleAuthShape, scopes } from "./GoogleAuth.js"
import { fromApi, oauthSide, services } from "./OAuthService.js"

const info = services.google

export const make = (
  config: Pick<ServerConfig, "google" | "requestTimeout">,
  client: {
    readonly id: string
    readonly secret: Redacted.Redacted<string>
    readonly redirectUri: string
  }
): Effect.Effect<GoogleAuthShape, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* Effect.context<HttpClient.HttpClient>()
    const made = GoogleOAuth.make({
      clientId: client.id,
      clientSecret: client.secret,
      redirectUri: client.redirectUri,
      authUrl: config.google.authUrl,
      tokenUrl: config.google.tokenUrl,
      revokeUrl: config.google.revokeUrl,
      scopes
    })
    // Config.load refuses every URL OAuth2.checkEndpoint would: a Left here is a bug.
    if (Either.isLeft(made)) return yield* Effect.die(made.left)
    const side = oauthSide("google", made.right, scopes)

    const calendarClient: GoogleAuthShape["calendarClient"] = ({ accountId, tokens, onRefresh }) =>
      Effect.gen(function* () {
        const source = yield* side.tokenSource({ accountId, tokens, onRefresh })
        return yield* GoogleCalendarClient.make({
          tokens: source,
          apiUrl: config.google.apiUrl,
          timeout: config.requestTimeout,
          account: accountId
        }).pipe(
          Effect.provide(http),
          // An EndpointRefused: Config.load refused such a URL already, so this is a bug.
          Effect.catchAll((e) => Effect.die(e))
        )
      })

    return {
      info,
      authorizeOrigin: new URL(config.google.authUrl).origin,
      apiUrl: config.google.apiUrl,
      calendarClient,
      authorize: side.authorize,
      exchange: side.exchange,
      revoke: side.revoke,
      discover: (tokens, onRefresh) =>
        Effect.gen(function* () {
          const calendar = yield* calendarClient({
            accountId: "the account being connected",
            tokens,
            onRefresh
          })
          const listed = yield* calendar.calendarList.pipe(Effect.mapError(fromApi("google")))
          const calendars = listed
            .filter((c) => c.accessRole !== "freeBusyReader")
            .map((c) => ({
              id: c.id,
              summary: c.summary === "" ? Option.none() : Option.some(c.summary),
              color: Option.none(),
              timeZone: c.timeZone === "" ? Option.none() : Option.some(c.timeZone),
              primary: c.primary,
              writable: c.writable
            }))
          const primary = calendars.find((c) => c.primary)
          if (primary === undefined)
            return yield* Effect.fail(
              fromApi("google")({ _tag: "Unexpected", message: "the calendar list has no primary calendar" })
            )
          return { username: primary.id, calendars }
        })
    }
  })

/** GoogleAuth when a client and a public URL are configured; nothing otherwise (Google is then not offered). */
export const layer = (
  config: Pick<ServerConfig, "google" | "requestTimeout" | "publicUrl">
): Layer.Layer<never> =>
  Option.match(
    Option.all({
      id: config.google.clientId,
      secret: config.google.clientSecret,
      redirectUri: Option.map(config.publicUrl, (base) => `${base}${info.callbackPath}`)
    }),
    {
      onNone: () => Layer.empty,
      onSome: (client) =>
        Layer.effect(GoogleAuth, make(config, client)).pipe(Layer.provide(NodeHttpClient.layerUndici))
    }
  )
