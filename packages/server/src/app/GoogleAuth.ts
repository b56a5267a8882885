/**
 * Google as an OAuth calendar service (`OAuthService`), plus what the engine's Google provider
 * needs: a Calendar API client for one account. Provided only when a client id and a public URL
 * are configured.
 */
import type { SyncStore } from "@almanac/core"
import type { GoogleCalendarClient } from "@almanac/providers"
import { Context, type Effect } from "effect"
import type { OAuthTokens } from "../store/Credential.js"
import type { ServiceAuthShape } from "./OAuthService.js"

/**
 * The access asked for: events read and write on the person's calendars (`calendar.events`) and
 * reading the calendar list, free/busy and settings (`calendar.readonly`). Not `calendar`, which
 * would also let Almanac change sharing and delete whole calendars.
 */
export const scopes = [
  "https://www.googleapis.com/auth/calendar.events",
  "https://www.googleapis.com/auth/calendar.readonly"
] as const

export interface GoogleAuthShape extends ServiceAuthShape {
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
