/**
 * MicrosoftAuth over the providers' modules: MicrosoftOAuth (the identity platform's v2.0
 * endpoints through oauth4webapi), OAuthTokenSource (refresh before expiry and once on a 401;
 * Microsoft rotates refresh tokens, and each new set is reported for sealing before it is used)
 * and GraphCalendarClient (`/me` names the account, `/me/calendars` lists its calendars). Config
 * has already refused plain http:// off loopback.
 */
import { GraphCalendarClient, MicrosoftOAuth } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Either, Layer, Option, type Redacted } from "effect"
import type { ServerConfig } from "../Config.js"
import { MicrosoftAuth, type MicrosoftAuthShape } from "./MicrosoftAuth.js"
import { fromApi, oauthSide, services } from "./OAuthService.js"

const info = services.microsoft

export const make = (
  config: Pick<ServerConfig, "microsoft" | "requestTimeout">,
  client: {
    readonly id: string
    readonly secret: Redacted.Redacted<string>
    readonly redirectUri: string
  }
): Effect.Effect<MicrosoftAuthShape, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const http = yield* Effect.context<HttpClient.HttpClient>()
    const made = MicrosoftOAuth.make({
      clientId: client.id,
      clientSecret: client.secret,
      redirectUri: client.redirectUri,
      authority: config.microsoft.authority,
      tenant: config.microsoft.tenant
    })
    if (Either.isLeft(made)) return yield* Effect.die(made.left)
    const side = oauthSide("microsoft", made.right, MicrosoftOAuth.SCOPES)

    const graphClient: MicrosoftAuthShape["graphClient"] = ({ accountId, tokens, onRefresh }) =>
      Effect.gen(function* () {
        const source = yield* side.tokenSource({ accountId, tokens, onRefresh })
        return yield* GraphCalendarClient.make({
          tokens: source,
          apiUrl: config.microsoft.graphUrl,
          timeout: config.requestTimeout,
          account: accountId
        }).pipe(
          Effect.provide(http),
          Effect.catchAll((e) => Effect.die(e))
        )
      })

    return {
      info,
      authorizeOrigin: new URL(config.microsoft.authority).origin,
      apiUrl: config.microsoft.graphUrl,
      graphClient,
      authorize: side.authorize,
      exchange: side.exchange,
      // None: the identity platform has no endpoint for an app to revoke its grant.
      revoke: side.revoke,
      discover: (tokens, onRefresh) =>
        Effect.gen(function* () {
          const graph = yield* graphClient({ accountId: "the account being connected", tokens, onRefresh })
          const me = yield* graph.me.pipe(Effect.mapError(fromApi("microsoft")))
          const listed = yield* graph.listCalendars.pipe(Effect.mapError(fromApi("microsoft")))
          return {
            // mail is empty for some personal and unlicensed accounts; the sign-in name always exists.
            username: Option.getOrElse(me.mail, () => me.userPrincipalName),
            calendars: listed.map((c) => ({
              id: c.id,
              summary: c.name === "" ? Option.none() : Option.some(c.name),
              color: Option.none(),
              // Graph gives times in UTC here (Prefer: outlook.timezone="UTC"); floating times have no place on Graph.
              timeZone: Option.none(),
              primary: c.isDefaultCalendar,
              writable: c.canEdit
            }))
          }
        })
    }
  })

/** MicrosoftAuth when a client and a public URL are configured; nothing otherwise. */
export const layer = (
  config: Pick<ServerConfig, "microsoft" | "requestTimeout" | "publicUrl">
): Layer.Layer<never> =>
  Option.match(
    Option.all({
      id: config.microsoft.clientId,
      secret: config.microsoft.clientSecret,
      redirectUri: Option.map(config.publicUrl, (base) => `${base}${info.callbackPath}`)
    }),
    {
      onNone: () => Layer.empty,
      onSome: (client) =>
        Layer.effect(MicrosoftAuth, make(config, client)).pipe(Layer.provide(NodeHttpClient.layerUndici))
    }
  )
