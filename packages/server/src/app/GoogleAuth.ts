/**
 * What the server asks of Google to connect an account: the authorization request, the code
 * exchange, refreshing and revoking tokens, and the account's calendars. The port is small on
 * purpose: the OAuth protocol itself (oauth4webapi) and the Calendar API client live in
 * packages/providers, and `layer` adapts them. It is provided only when a client id is
 * configured; without it, nothing offers Google.
 */
import { Context, type Effect, type Option, type Redacted, Schema } from "effect"
import type { OAuthTokens } from "../store/Credential.js"

/**
 * The access asked for: events read and write on the person's calendars (`calendar.events`) and
 * reading the calendar list, free/busy and settings (`calendar.readonly`). Not `calendar`, which
 * would also let Almanac change sharing and delete whole calendars.
 */
export const scopes = [
  "https://www.googleapis.com/auth/calendar.events",
  "https://www.googleapis.com/auth/calendar.readonly"
] as const

export const callbackPath = "/oauth/google/callback"

export interface GoogleCalendar {
  readonly id: string
  readonly summary: Option.Option<string>
  readonly color: Option.Option<string>
  readonly primary: boolean
  /** The access role lets this account write events there (owner or writer). */
  readonly writable: boolean
}

/** Tokens fresh from the token endpoint; Google sends a refresh token only with a consent. */
export interface IssuedTokens {
  readonly accessToken: Redacted.Redacted<string>
  readonly refreshToken: Option.Option<Redacted.Redacted<string>>
  readonly expiresAt: number
  readonly scope: string
}

/** Why Google did not do what was asked. Never carries a token. */
export class GoogleAuthFailed extends Schema.TaggedError<GoogleAuthFailed>()("GoogleAuthFailed", {
  step: Schema.Literal("exchange", "refresh", "revoke", "calendars"),
  /** refused: the grant, code or token is not (or no longer) good; unavailable: try again later. */
  reason: Schema.Literal("refused", "unavailable", "unexpected"),
  detail: Schema.String
}) {
  override get message() {
    return `Google ${this.step}: ${this.reason} (${this.detail})`
  }
}

export interface GoogleAuthShape {
  /** A new PKCE pair (S256). */
  readonly pkce: Effect.Effect<{ readonly verifier: Redacted.Redacted<string>; readonly challenge: string }>
  /**
   * The URL to send the browser to: code flow with PKCE S256, access_type=offline, prompt=consent
   * (so that Google issues a refresh token every time), response_mode=query.
   */
  readonly authorizeUrl: (request: {
    readonly state: Redacted.Redacted<string>
    readonly codeChallenge: string
    readonly redirectUri: string
  }) => string
  readonly exchange: (grant: {
    readonly code: string
    readonly codeVerifier: Redacted.Redacted<string>
    readonly redirectUri: string
  }) => Effect.Effect<IssuedTokens, GoogleAuthFailed>
  readonly refresh: (refreshToken: Redacted.Redacted<string>) => Effect.Effect<IssuedTokens, GoogleAuthFailed>
  /** Revoking the refresh token ends the whole grant at Google. */
  readonly revoke: (token: Redacted.Redacted<string>) => Effect.Effect<void, GoogleAuthFailed>
  /**
   * calendarList, every page: the calendars that hold events the account can read (a
   * free/busy-only calendar is left out). The primary calendar's id names the account.
   */
  readonly calendars: (
    accessToken: Redacted.Redacted<string>
  ) => Effect.Effect<ReadonlyArray<GoogleCalendar>, GoogleAuthFailed>
}

export class GoogleAuth extends Context.Tag("@almanac/server/GoogleAuth")<GoogleAuth, GoogleAuthShape>() {}

/** The tokens to keep from what the token endpoint sent (a refresh keeps the refresh token it used). */
export const toStored = (issued: IssuedTokens, refreshToken: Redacted.Redacted<string>): OAuthTokens => ({
  accessToken: issued.accessToken,
  refreshToken: issued.refreshToken._tag === "Some" ? issued.refreshToken.value : refreshToken,
  expiresAt: issued.expiresAt,
  scope: issued.scope
})
