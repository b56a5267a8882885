/**
 * The Microsoft identity platform's settings for the OAuth 2.0 code flow (`OAuth2`): the v2.0
 * endpoints `{authority}/{tenant}/oauth2/v2.0/authorize` and `…/token`, multi-tenant (`common`:
 * work, school and personal Microsoft accounts) unless a tenant is configured.
 *
 * Scopes: `Calendars.ReadWrite` (events on the person's calendars, `getSchedule`),
 * `User.Read` (`/me`, which names the account, so no id_token and no `openid` are needed) and
 * `offline_access` (a refresh token). Short scope names resolve to the Graph of the authority's
 * cloud.
 *
 * Refresh tokens rotate: every refresh answer carries a new one, which `OAuth2` keeps and the
 * token source hands to the server for sealing before use. Microsoft offers no endpoint for an
 * app to revoke its own grant: removing an account erases the tokens here, and the person
 * withdraws the consent at Microsoft (https://myapps.microsoft.com or
 * https://account.live.com/consent/Manage).
 */
import type * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import * as OAuth2 from "./OAuth2.js"

export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
export const DEFAULT_TENANT = "common"
export const DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
export const SCOPES = ["offline_access", "User.Read", "Calendars.ReadWrite"] as const

/** Where a person withdraws Almanac's access (there is no revocation endpoint to call). */
export const CONSENT_PAGES = [
  "https://myapps.microsoft.com",
  "https://account.live.com/consent/Manage"
] as const

export interface OAuthConfig {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  /** `{ALMANAC_PUBLIC_URL}/oauth/microsoft/callback`, as registered with the app. */
  readonly redirectUri: string
  /** The login host only (default https://login.microsoftonline.com). */
  readonly authority?: string | undefined
  /** `common`, `organizations`, `consumers` or a tenant id or domain (default common). */
  readonly tenant?: string | undefined
  readonly scopes?: ReadonlyArray<string> | undefined
}

/** The endpoint under the authority: `{authority}/{tenant}/oauth2/v2.0/{name}`. */
export const endpoint = (config: Pick<OAuthConfig, "authority" | "tenant">, name: "authorize" | "token") =>
  `${(config.authority ?? DEFAULT_AUTHORITY).replace(/\/+$/, "")}/${encodeURIComponent(config.tenant ?? DEFAULT_TENANT)}/oauth2/v2.0/${name}`

export const make = (config: OAuthConfig): Either.Either<OAuth2.OAuth2Shape, OAuth2.EndpointRefused> =>
  OAuth2.make({
    service: "Microsoft",
    issuer: `${(config.authority ?? DEFAULT_AUTHORITY).replace(/\/+$/, "")}/${config.tenant ?? DEFAULT_TENANT}/v2.0`,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    redirectUri: config.redirectUri,
    authorization: { setting: "ALMANAC_MICROSOFT_AUTHORITY", url: endpoint(config, "authorize") },
    token: { setting: "ALMANAC_MICROSOFT_AUTHORITY", url: endpoint(config, "token") },
    scopes: config.scopes ?? SCOPES,
    // The identity platform documents 60–90 minutes; assume the short end.
    defaultLifetimeSeconds: 3600
  })
