/**
 * Google's settings for the OAuth 2.0 code flow (`OAuth2`): its endpoints, its scope, and
 * `access_type=offline` with `prompt=consent` (so that Google issues a refresh token every time a
 * person connects, also on a second connection).
 *
 * Scope: `https://www.googleapis.com/auth/calendar`. The narrower pair `calendar.events` +
 * `calendar.readonly` would also cover events and calendarList, but `freeBusy.query` is documented
 * for `calendar` and `calendar.readonly` only and `events.watch` for `calendar`/`calendar.events`…;
 * one well-known scope keeps the consent screen to a single line ("See, edit, share and delete all
 * your calendars") and every method Almanac calls under one grant. `scopes` can narrow it.
 *
 * Endpoints are configuration, checked by `OAuth2.checkEndpoint`.
 */
import type * as Either from "effect/Either"
import type * as Redacted from "effect/Redacted"
import * as OAuth2 from "./OAuth2.js"

export type { PendingAuthorization } from "./OAuth2.js"
export { checkEndpoint, EndpointRefused, OAuthError, TokenSet } from "./OAuth2.js"

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

export const make = (config: OAuthConfig): Either.Either<OAuth2.OAuth2Shape, OAuth2.EndpointRefused> =>
  OAuth2.make({
    service: "Google",
    issuer: "https://accounts.google.com",
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    redirectUri: config.redirectUri,
    authorization: { setting: "ALMANAC_GOOGLE_AUTH_URL", url: config.authUrl ?? DEFAULT_AUTH_URL },
    token: { setting: "ALMANAC_GOOGLE_TOKEN_URL", url: config.tokenUrl ?? DEFAULT_TOKEN_URL },
    revocation: { setting: "ALMANAC_GOOGLE_REVOKE_URL", url: config.revokeUrl ?? DEFAULT_REVOKE_URL },
    scopes: config.scopes ?? [SCOPE_CALENDAR],
    authorizationParams: { access_type: "offline", prompt: "consent" },
    // Google documents an hour for its access tokens.
    defaultLifetimeSeconds: 3600
  })
