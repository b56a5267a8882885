/**
 * A CalDAV client that speaks for one account, built from the account's stored credentials, for
 * the requests the API makes itself (free/busy, bookings) and for the engine's providers
 * (ServerRegistry). It refuses an account that needs re-authentication, so a refused password is
 * not sent again and again. A 401 on the way parks the account as the engine's actors do
 * (Accounts.park): only when it did not resume (a new password, a new consent) after the request
 * began, since such a request was refused on the old credential.
 */

import { createHash } from "node:crypto"
import { CalDavClient, type CalDavError } from "@almanac/caldav"
import type { SyncStore } from "@almanac/core"
import { type GoogleCalendarClient, type GraphCalendarClient, IcsFeedProvider } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { Context, type Duration, Effect, Layer, Option, Redacted } from "effect"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import type { OAuthTokens } from "../store/Credential.js"
import { GoogleAuth } from "./GoogleAuth.js"
import { MicrosoftAuth } from "./MicrosoftAuth.js"
import { isOAuthKind, type OAuthKind, services } from "./OAuthService.js"
import { CalendarFailed, NeedsReauth, SecretUnreadable, Unsupported } from "./SchedulingError.js"

export interface AccountClientsShape {
  /** A client with the account's user name and password; the account must exist. */
  readonly clientFor: (
    accountId: string
  ) => Effect.Effect<
    CalDavClient.CalDavClientShape,
    NeedsReauth | SecretUnreadable | Unsupported | SyncStore.StoreError
  >
  /**
   * A Calendar API client for a Google account, over its stored tokens; refreshed tokens are
   * sealed and stored before they are used. For the engine's Google provider.
   */
  readonly googleClientFor: (
    accountId: string
  ) => Effect.Effect<
    GoogleCalendarClient.GoogleCalendarClientShape,
    NeedsReauth | SecretUnreadable | Unsupported | SyncStore.StoreError
  >
  /**
   * The Graph client of a Microsoft account, over its stored tokens; refreshed (rotated) tokens
   * are sealed and stored before they are used. One client per account, kept while its tokens are
   * the stored ones: Graph allows four requests in flight per mailbox, and the client's limit
   * holds only if every calendar of the account goes through the same client.
   */
  readonly graphClientFor: (
    accountId: string
  ) => Effect.Effect<
    GraphCalendarClient.GraphCalendarClientShape,
    NeedsReauth | SecretUnreadable | Unsupported | SyncStore.StoreError
  >
  /**
   * The provider over a subscribed feed (kind "ics"), with the password its URL had, and the URL
   * check before every request and redirect hop.
   */
  readonly feedFor: (
    accountId: string
  ) => Effect.Effect<
    IcsFeedProvider.IcsFeedProvider,
    NeedsReauth | SecretUnreadable | Unsupported | SyncStore.StoreError
  >
  /**
   * What a CalDAV failure on `calendar` means for the caller: a 401 parks the account (needs
   * re-authentication) unless it resumed at or after `startedAt`, when the request began (before
   * its client was made: `Date.now()`, the clock resumptions are recorded by); anything else is
   * that calendar's failure, named.
   */
  readonly failure: (
    calendar: CalendarInfo,
    startedAt: number
  ) => (
    e: CalDavError.CalDavError
  ) => Effect.Effect<never, NeedsReauth | CalendarFailed | SyncStore.StoreError>
  /** The same for a Google or Graph client's failure: Unauthorized (a refused grant) parks the account. */
  readonly providerFailure: (
    calendar: CalendarInfo,
    startedAt: number
  ) => (e: ProviderFailure) => Effect.Effect<never, NeedsReauth | CalendarFailed | SyncStore.StoreError>
}

/** A provider client's failure, as the ports name them (Google, Graph). */
export interface ProviderFailure {
  readonly _tag: string
  readonly message: string
}

export class AccountClients extends Context.Tag("@almanac/server/AccountClients")<
  AccountClients,
  AccountClientsShape
>() {}

export const nameOf = (calendar: CalendarInfo): string =>
  Option.getOrElse(calendar.displayName, () => calendar.url)

export interface Options {
  readonly timeout: Duration.DurationInput
  /** Asked before every request (UrlGuard): calendar URLs came from servers and are checked like any other. */
  readonly checkUrl?: CalDavClient.ClientOptions["checkUrl"]
}

export const make = (
  options: Options
): Effect.Effect<AccountClientsShape, never, Accounts | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const context = yield* Effect.context<HttpClient.HttpClient>()
    // Present only when the service's client is configured.
    const google = yield* Effect.serviceOption(GoogleAuth)
    const microsoft = yield* Effect.serviceOption(MicrosoftAuth)

    /**
     * A refusal met by a request that began at `startedAt`: parks the account as a poll's refusal
     * does, so a request that read the old credential never parks the one that replaced it.
     */
    const refused = (accountId: string, detail: string, startedAt: number) =>
      accounts.park(accountId, detail, startedAt).pipe(
        Effect.tap((parked) =>
          parked ? Effect.logWarning("account needs re-authentication", accountId) : Effect.void
        ),
        Effect.zipRight(Effect.fail(new NeedsReauth({ accountId, detail })))
      )

    const clientFor = (accountId: string) =>
      Effect.gen(function* () {
        const startedAt = Date.now()
        const account = yield* accounts.byId(accountId)
        if (Option.isNone(account))
          return yield* new NeedsReauth({ accountId, detail: "the account was removed" })
        if (account.value.status === "needs-reauth")
          return yield* new NeedsReauth({
            accountId,
            detail: Option.getOrElse(
              account.value.lastError,
              () => "its calendar server refused the password"
            )
          })
        // OAuth accounts are reached through their own providers, not a CalDAV client.
        if (isOAuthKind(account.value.kind))
          return yield* new Unsupported({
            accountId,
            detail: `free/busy and bookings do not cover ${services[account.value.kind].label} calendars yet`
          })
        if (account.value.kind === "ics")
          return yield* new Unsupported({
            accountId,
            detail: "a subscribed feed is read through its own provider, not CalDAV"
          })
        const password = yield* accounts.password(accountId).pipe(
          Effect.catchTags({
            VaultError: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message })),
            CredentialUnreadable: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message }))
          })
        )
        if (Option.isNone(password))
          return yield* refused(accountId, "no password is stored for it", startedAt)
        return yield* CalDavClient.make({
          auth: { user: account.value.username, password: password.value },
          timeout: options.timeout,
          checkUrl: options.checkUrl
        }).pipe(Effect.provide(context))
      })

    const failure =
      (calendar: CalendarInfo, startedAt: number) =>
      (
        e: CalDavError.CalDavError
      ): Effect.Effect<never, NeedsReauth | CalendarFailed | SyncStore.StoreError> =>
        e._tag === "Unauthorized"
          ? refused(
              calendar.accountId,
              `the calendar server refused the password (status ${e.status})`,
              startedAt
            )
          : Effect.fail(
              new CalendarFailed({
                calendarId: calendar.id,
                calendarName: nameOf(calendar),
                detail: e.message
              })
            )

    const providerFailure =
      (calendar: CalendarInfo, startedAt: number) =>
      (e: ProviderFailure): Effect.Effect<never, NeedsReauth | CalendarFailed | SyncStore.StoreError> =>
        e._tag === "Unauthorized"
          ? refused(calendar.accountId, e.message, startedAt)
          : Effect.fail(
              new CalendarFailed({
                calendarId: calendar.id,
                calendarName: nameOf(calendar),
                detail: e.message
              })
            )

    /** The stored tokens of an OAuth account of `kind`, or why none can be used. */
    const oauthTokens = (accountId: string, kind: OAuthKind) =>
      Effect.gen(function* () {
        const startedAt = Date.now()
        const info = services[kind]
        const account = yield* accounts.byId(accountId)
        if (Option.isNone(account))
          return yield* new NeedsReauth({ accountId, detail: "the account was removed" })
        if (account.value.kind !== kind)
          return yield* new Unsupported({ accountId, detail: `not a ${info.label} account` })
        if (account.value.status === "needs-reauth")
          return yield* new NeedsReauth({
            accountId,
            detail: Option.getOrElse(account.value.lastError, () => `${info.label} refused the stored access`)
          })
        const credential = yield* accounts.credential(accountId).pipe(
          Effect.catchTags({
            VaultError: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message })),
            CredentialUnreadable: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message }))
          })
        )
        if (Option.isNone(credential) || credential.value._tag !== "oauth")
          return yield* refused(accountId, `no ${info.label} tokens are stored for it`, startedAt)
        return credential.value
      })

    const notConfigured = (accountId: string, kind: OAuthKind) =>
      new Unsupported({
        accountId,
        detail: `no ${services[kind].label} client is configured on this server (${services[kind].settings[0]})`
      })

    const googleClientFor = (accountId: string) =>
      Effect.gen(function* () {
        const tokens = yield* oauthTokens(accountId, "google")
        if (Option.isNone(google)) return yield* notConfigured(accountId, "google")
        return yield* google.value.calendarClient({
          accountId,
          tokens,
          onRefresh: (next) => accounts.saveTokens(accountId, next)
        })
      })

    // A refresh token's digest tells whether a kept client still holds the stored tokens (the
    // account was not connected again since); the token itself is not kept here.
    const fingerprint = (t: OAuthTokens) =>
      createHash("sha256").update(Redacted.value(t.refreshToken)).digest("base64url")
    const graphClients = new Map<
      string,
      { fingerprint: string; client: GraphCalendarClient.GraphCalendarClientShape }
    >()

    const graphClientFor = (accountId: string) =>
      Effect.gen(function* () {
        const tokens = yield* oauthTokens(accountId, "microsoft")
        if (Option.isNone(microsoft)) return yield* notConfigured(accountId, "microsoft")
        const kept = graphClients.get(accountId)
        if (kept !== undefined && kept.fingerprint === fingerprint(tokens)) return kept.client
        let built: GraphCalendarClient.GraphCalendarClientShape | undefined
        const client = yield* microsoft.value.graphClient({
          accountId,
          tokens,
          // Microsoft rotates refresh tokens: the kept client holds the new one from now on.
          onRefresh: (next) =>
            accounts.saveTokens(accountId, next).pipe(
              Effect.tap(() =>
                Effect.sync(() => {
                  const now = graphClients.get(accountId)
                  if (now !== undefined && now.client === built) now.fingerprint = fingerprint(next)
                })
              )
            )
        })
        built = client
        graphClients.set(accountId, { fingerprint: fingerprint(tokens), client })
        return client
      })

    const feedFor = (accountId: string) =>
      Effect.gen(function* () {
        const startedAt = Date.now()
        const account = yield* accounts.byId(accountId)
        if (Option.isNone(account))
          return yield* new NeedsReauth({ accountId, detail: "the account was removed" })
        if (account.value.kind !== "ics")
          return yield* new Unsupported({ accountId, detail: "not a subscribed feed" })
        if (account.value.status === "needs-reauth")
          return yield* new NeedsReauth({
            accountId,
            detail: Option.getOrElse(account.value.lastError, () => "the feed refused access")
          })
        let auth: IcsFeedProvider.FeedAuth | undefined
        if (account.value.username !== "") {
          const password = yield* accounts.password(accountId).pipe(
            Effect.catchTags({
              VaultError: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message })),
              CredentialUnreadable: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message }))
            })
          )
          if (Option.isNone(password))
            return yield* refused(accountId, "no password is stored for it", startedAt)
          auth = { user: account.value.username, password: password.value }
        }
        return yield* IcsFeedProvider.make({
          url: new URL(account.value.url),
          auth,
          timeout: options.timeout,
          checkUrl: options.checkUrl
        }).pipe(Effect.provide(context))
      })

    return { clientFor, googleClientFor, graphClientFor, feedFor, failure, providerFailure }
  })

export const layer = (
  options: Options
): Layer.Layer<AccountClients, never, Accounts | HttpClient.HttpClient> =>
  Layer.effect(AccountClients, make(options))
