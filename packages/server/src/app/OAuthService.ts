/**
 * What the server asks of a calendar service that is connected through OAuth (Google, Microsoft
 * 365) to connect an account: the authorization request, the code exchange, revoking the grant
 * where the service can, and who the account is with its calendars. The OAuth protocol itself
 * (oauth4webapi) and the API clients live in packages/providers; `GoogleOAuthClient` and
 * `MicrosoftOAuthClient` adapt them. A service is provided only when its client id and a public
 * URL are configured; without them, nothing offers it.
 *
 * What a person reads about each service (its name, the access it asks for, how to register a
 * client, how to withdraw access) is data here, written once, so that the API, the pages and the
 * README say the same.
 */
import type { SyncStore } from "@almanac/core"
import { type OAuth2, OAuthTokenSource } from "@almanac/providers"
import { Effect, Option, Redacted, Schema } from "effect"
import type { OAuthTokens } from "../store/Credential.js"

export const OAuthKind = Schema.Literal("google", "microsoft")
export type OAuthKind = typeof OAuthKind.Type

export const isOAuthKind = (kind: string): kind is OAuthKind => kind === "google" || kind === "microsoft"

export interface ServiceInfo {
  readonly kind: OAuthKind
  /** The service's name in a sentence ("Google", "Microsoft"). */
  readonly label: string
  /** The button's words ("Connect Google"). */
  readonly connect: string
  readonly callbackPath: string
  /** The cookie that binds a flow started in the pages to its browser. */
  readonly flowCookie: string
  /** What access is asked for, and why: one line wherever the service is offered. */
  readonly accessLine: string
  /** Where a person withdraws the access themselves. */
  readonly withdraw: string
  /** How an operator registers an OAuth client with the redirect URI to add. */
  readonly howToRegister: (redirectUri: string | undefined) => string
  /** The settings that enable it. */
  readonly settings: readonly [clientId: string, clientSecret: string]
}

export const services: Record<OAuthKind, ServiceInfo> = {
  google: {
    kind: "google",
    label: "Google",
    connect: "Connect Google",
    callbackPath: "/oauth/google/callback",
    flowCookie: "almanac_google_flow",
    accessLine:
      "Google asks you to let Almanac see your calendars and create, change and delete their events: that is what copying events between your calendars takes. It cannot change sharing or delete calendars, and you can revoke it at myaccount.google.com/permissions.",
    withdraw: "myaccount.google.com/permissions",
    howToRegister: (redirectUri) =>
      `in the Google Cloud console (console.cloud.google.com) enable the Google Calendar API, then under APIs & Services → Credentials create an OAuth client ID of type "Web application" with the authorized redirect URI ${redirectUri ?? "{ALMANAC_PUBLIC_URL}/oauth/google/callback"}, and set ALMANAC_GOOGLE_CLIENT_ID and ALMANAC_GOOGLE_CLIENT_SECRET to its id and secret`,
    settings: ["ALMANAC_GOOGLE_CLIENT_ID", "ALMANAC_GOOGLE_CLIENT_SECRET"]
  },
  microsoft: {
    kind: "microsoft",
    label: "Microsoft",
    connect: "Connect Microsoft 365",
    callbackPath: "/oauth/microsoft/callback",
    flowCookie: "almanac_microsoft_flow",
    accessLine:
      "Microsoft asks you to let Almanac read your profile (your address names the account) and read and write your calendars (Calendars.ReadWrite), and to keep that access while you are away (offline_access): that is what copying events between your calendars takes. You can withdraw it at myapps.microsoft.com (work or school) or account.live.com/consent/Manage (personal).",
    withdraw:
      "myapps.microsoft.com (work or school accounts) or account.live.com/consent/Manage (personal accounts)",
    howToRegister: (redirectUri) =>
      `in the Microsoft Entra admin center (entra.microsoft.com) under App registrations register a new application for "Accounts in any organizational directory and personal Microsoft accounts", add a Web platform with the redirect URI ${redirectUri ?? "{ALMANAC_PUBLIC_URL}/oauth/microsoft/callback"}, add the delegated Microsoft Graph permissions Calendars.ReadWrite, User.Read and offline_access, create a client secret under Certificates & secrets, and set ALMANAC_MICROSOFT_CLIENT_ID (the Application (client) ID) and ALMANAC_MICROSOFT_CLIENT_SECRET (the secret's value)`,
    settings: ["ALMANAC_MICROSOFT_CLIENT_ID", "ALMANAC_MICROSOFT_CLIENT_SECRET"]
  }
}

export interface OAuthCalendar {
  /** The service's calendar id: the calendar's ref. */
  readonly id: string
  readonly summary: Option.Option<string>
  readonly color: Option.Option<string>
  /** The calendar's own zone, where the service names one (floating times are placed in it). */
  readonly timeZone: Option.Option<string>
  /** The account's own (default, primary) calendar. */
  readonly primary: boolean
  /** This account may write events there. */
  readonly writable: boolean
}

/** Who the account is, as the service's API says, and its event calendars. */
export interface FoundAccount {
  /** Names the account and tells a second connection of it apart (Google's primary calendar id, Microsoft's address). */
  readonly username: string
  readonly calendars: ReadonlyArray<OAuthCalendar>
}

/** A flow about to start: where to send the browser, and what the callback is checked against. */
export interface Authorization {
  readonly url: string
  readonly state: Redacted.Redacted<string>
  readonly codeVerifier: Redacted.Redacted<string>
}

/** Why the service did not do what was asked. Never carries a token. */
export class ServiceAuthFailed extends Schema.TaggedError<ServiceAuthFailed>()("ServiceAuthFailed", {
  service: OAuthKind,
  step: Schema.Literal("exchange", "refresh", "revoke", "calendars"),
  /** refused: the grant, code or token is not (or no longer) good; unavailable: try again later. */
  reason: Schema.Literal("refused", "unavailable", "unexpected"),
  detail: Schema.String
}) {
  override get message() {
    return `${services[this.service].label} ${this.step}: ${this.reason} (${this.detail})`
  }
}

export interface ServiceAuthShape {
  readonly info: ServiceInfo
  /** The origin of the service's authorization page (the pages allow their forms to lead there). */
  readonly authorizeOrigin: string
  /** The API base an account of this service is stored with (its `url`). */
  readonly apiUrl: string
  /** A new state and PKCE verifier, and the URL to send the browser to (code flow, PKCE S256, response_mode=query). */
  readonly authorize: Effect.Effect<Authorization>
  /** The callback's query (code and state) exchanged for tokens with the flow's verifier. */
  readonly exchange: (
    callback: URLSearchParams,
    pending: { readonly state: Redacted.Redacted<string>; readonly codeVerifier: Redacted.Redacted<string> }
  ) => Effect.Effect<OAuthTokens, ServiceAuthFailed>
  /** Ends the grant at the service, where it offers that (Google); none where it does not (Microsoft). */
  readonly revoke: Option.Option<(token: Redacted.Redacted<string>) => Effect.Effect<void, ServiceAuthFailed>>
  /**
   * Who the account is and its calendars. The access token is refreshed when it is about to
   * expire (or is refused once), and every refreshed set goes to `onRefresh` before it is used.
   */
  readonly discover: (
    tokens: OAuthTokens,
    onRefresh: (tokens: OAuthTokens) => Effect.Effect<void, SyncStore.StoreError>
  ) => Effect.Effect<FoundAccount, ServiceAuthFailed>
}

// --- adapting the providers' OAuth modules ---------------------------------------------------

/** OAuth's own refusals of a grant, a code or the client; anything else may pass. */
const refusals = new Set(["invalid_grant", "invalid_client", "unauthorized_client", "access_denied"])

/** An OAuth endpoint's failure as the server's words for it. */
export const fromOAuth =
  (service: OAuthKind, step: ServiceAuthFailed["step"]) =>
  (e: OAuth2.OAuthError): ServiceAuthFailed =>
    new ServiceAuthFailed({
      service,
      step,
      reason: refusals.has(e.error)
        ? "refused"
        : e.error === "network" || (e.status ?? 0) >= 500
          ? "unavailable"
          : "unexpected",
      detail: e.message
    })

/** An API client's failure while the calendars are read. */
export const fromApi =
  (service: OAuthKind) =>
  (e: { readonly _tag: string; readonly message: string }): ServiceAuthFailed =>
    new ServiceAuthFailed({
      service,
      step: "calendars",
      reason:
        e._tag === "Unauthorized"
          ? "refused"
          : e._tag === "Transient" || e._tag === "RateLimited"
            ? "unavailable"
            : "unexpected",
      detail: e._tag === "AlreadyExists" ? "unexpected answer" : e.message
    })

export const toTokenSet = (t: OAuthTokens): OAuth2.TokenSet => ({
  accessToken: t.accessToken,
  refreshToken: t.refreshToken,
  expiresAt: t.expiresAt,
  scope: t.scope
})

export const fromTokenSet =
  (grantedScopes: ReadonlyArray<string>) =>
  (t: OAuth2.TokenSet): OAuthTokens => ({
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    expiresAt: t.expiresAt,
    scope: t.scope ?? grantedScopes.join(" ")
  })

/**
 * What every OAuth service's adapter does alike over the providers' `OAuth2` client: the
 * authorization request, the code exchange, revocation where the service has it, and a token
 * source for one account whose refreshed sets go (as the server's tokens) to `onRefresh`.
 */
export const oauthSide = (
  kind: OAuthKind,
  oauth: OAuth2.OAuth2Shape,
  grantedScopes: ReadonlyArray<string>
): Pick<ServiceAuthShape, "authorize" | "exchange" | "revoke"> & {
  readonly tokenSource: (input: {
    readonly accountId: string
    readonly tokens: OAuthTokens
    readonly onRefresh: (tokens: OAuthTokens) => Effect.Effect<void, SyncStore.StoreError>
  }) => Effect.Effect<OAuthTokenSource.TokenSourceShape>
} => {
  const tokensOf = fromTokenSet(grantedScopes)
  return {
    authorize: Effect.map(oauth.authorize, (p) => ({
      url: p.url,
      state: Redacted.make(p.state),
      codeVerifier: p.codeVerifier
    })),
    exchange: (callback, pending) =>
      oauth
        .exchange(callback, { state: Redacted.value(pending.state), codeVerifier: pending.codeVerifier })
        .pipe(Effect.map(tokensOf), Effect.mapError(fromOAuth(kind, "exchange"))),
    revoke: Option.map(
      oauth.revoke,
      (revoke) => (token: Redacted.Redacted<string>) =>
        revoke(token).pipe(Effect.mapError(fromOAuth(kind, "revoke")))
    ),
    tokenSource: ({ accountId, tokens, onRefresh }) =>
      OAuthTokenSource.make({
        oauth,
        initial: toTokenSet(tokens),
        onRefresh: (next) => onRefresh(tokensOf(next)),
        account: accountId
      })
  }
}
