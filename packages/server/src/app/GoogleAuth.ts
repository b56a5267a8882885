/**
 * What the server asks of Google to connect an account: the authorization request, the code
 * exchange, refreshing and revoking tokens, and the account's calendars. The port is small on
 * purpose: the OAuth protocol itself (oauth4webapi) and the Calendar API client live in
 * packages/providers, and GoogleOAuthClient adapts them. It is provided only when a client id
 * and a public URL are configured; without them, nothing offers Google.
 */
import type { SyncStore } from "@almanac/core"
import type { GoogleCalendarClient } from "@almanac/providers"
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
  /** The calendar's own zone; the provider places floating times in it. */
  readonly timeZone: Option.Option<string>
  readonly primary: boolean
  /** The access role lets this account write events there (owner or writer). */
  readonly writable: boolean
}

/** A flow about to start: where to send the browser, and what the callback is checked against. */
export interface Authorization {
  readonly url: string
  readonly state: Redacted.Redacted<string>
  readonly codeVerifier: Redacted.Redacted<string>
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
  /**
   * A new state and PKCE verifier, and the URL to send the browser to: code flow with PKCE S256,
   * access_type=offline, prompt=consent (so that Google issues a refresh token every time),
   * response_mode=query, redirect_uri `{ALMANAC_PUBLIC_URL}/oauth/google/callback`.
   */
  readonly authorize: Effect.Effect<Authorization>
  /** The callback's query (code and state) exchanged for tokens with the flow's verifier. */
  readonly exchange: (
    callback: URLSearchParams,
    pending: { readonly state: Redacted.Redacted<string>; readonly codeVerifier: Redacted.Redacted<string> }
  ) => Effect.Effect<OAuthTokens, GoogleAuthFailed>
  /** Revoking the refresh token ends the whole grant at Google. */
  readonly revoke: (token: Redacted.Redacted<string>) => Effect.Effect<void, GoogleAuthFailed>
  /**
   * calendarList, every page: the calendars that hold events the account can read. The primary
   * calendar's id names the account. The access token is refreshed when it is about to expire
   * (or is refused once), and every refreshed set goes to `onRefresh` before it is used.
   */
  readonly calendars: (
    tokens: OAuthTokens,
    onRefresh: (tokens: OAuthTokens) => Effect.Effect<void, SyncStore.StoreError>
  ) => Effect.Effect<ReadonlyArray<GoogleCalendar>, GoogleAuthFailed>
  /**
   * A Calendar API client for one account (the engine's Google provider runs over it): its token
   * source refreshes before expiry and once on a 401, and reports every refreshed set to
   * `onRefresh` first; a refused refresh is ProviderError.Unauthorized, which parks the account.
   */
  readonly calendarClient: (input: {
    readonly accountId: string
    readonly tokens: OAuthTokens
    readonly onRefresh: (tokens: OAuthTokens) => Effect.Effect<void, SyncStore.StoreError>
  }) => Effect.Effect<GoogleCalendarClient.GoogleCalendarClientShape>
}

export class GoogleAuth extends Context.Tag("@almanac/server/GoogleAuth")<GoogleAuth, GoogleAuthShape>() {}
