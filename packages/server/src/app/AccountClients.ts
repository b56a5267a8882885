/**
 * A CalDAV client that speaks for one account, built from the account's stored credentials, for
 * the requests the API makes itself (free/busy, bookings) and for the engine's providers
 * (ServerRegistry). It refuses an account that needs re-authentication, so a refused password is
 * not sent again and again. A 401 on the way marks the account, exactly as the
 * engine's actors do.
 */
import { CalDavClient, type CalDavError } from "@almanac/caldav"
import type { SyncStore } from "@almanac/core"
import { type GoogleCalendarClient, IcsFeedProvider } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { Context, type Duration, Effect, Layer, Option } from "effect"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import { GoogleAuth } from "./GoogleAuth.js"
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
   * What a CalDAV failure on `calendar` means for the caller: a 401 marks the account as needing
   * re-authentication; anything else is that calendar's failure, named.
   */
  readonly failure: (
    calendar: CalendarInfo
  ) => (
    e: CalDavError.CalDavError
  ) => Effect.Effect<never, NeedsReauth | CalendarFailed | SyncStore.StoreError>
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
    // Present only when a Google client is configured.
    const google = yield* Effect.serviceOption(GoogleAuth)

    const refused = (accountId: string, detail: string) =>
      accounts
        .setStatus(accountId, "needs-reauth", Option.some(detail))
        .pipe(
          Effect.zipRight(Effect.logWarning("account needs re-authentication", accountId)),
          Effect.zipRight(Effect.fail(new NeedsReauth({ accountId, detail })))
        )

    const clientFor = (accountId: string) =>
      Effect.gen(function* () {
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
        // Google accounts are reached through their own provider, not a CalDAV client.
        if (account.value.kind === "google")
          return yield* new Unsupported({
            accountId,
            detail: "free/busy and bookings do not cover Google calendars yet"
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
        if (Option.isNone(password)) return yield* refused(accountId, "no password is stored for it")
        return yield* CalDavClient.make({
          auth: { user: account.value.username, password: password.value },
          timeout: options.timeout,
          checkUrl: options.checkUrl
        }).pipe(Effect.provide(context))
      })

    const failure =
      (calendar: CalendarInfo) =>
      (
        e: CalDavError.CalDavError
      ): Effect.Effect<never, NeedsReauth | CalendarFailed | SyncStore.StoreError> =>
        e._tag === "Unauthorized"
          ? refused(calendar.accountId, `the calendar server refused the password (status ${e.status})`)
          : Effect.fail(
              new CalendarFailed({
                calendarId: calendar.id,
                calendarName: nameOf(calendar),
                detail: e.message
              })
            )

    const googleClientFor = (accountId: string) =>
      Effect.gen(function* () {
        const account = yield* accounts.byId(accountId)
        if (Option.isNone(account))
          return yield* new NeedsReauth({ accountId, detail: "the account was removed" })
        if (account.value.kind !== "google")
          return yield* new Unsupported({ accountId, detail: "not a Google account" })
        if (account.value.status === "needs-reauth")
          return yield* new NeedsReauth({
            accountId,
            detail: Option.getOrElse(account.value.lastError, () => "Google refused the stored access")
          })
        if (Option.isNone(google))
          return yield* new Unsupported({
            accountId,
            detail: "no Google client is configured on this server (ALMANAC_GOOGLE_CLIENT_ID)"
          })
        const credential = yield* accounts.credential(accountId).pipe(
          Effect.catchTags({
            VaultError: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message })),
            CredentialUnreadable: (e) => Effect.fail(new SecretUnreadable({ accountId, detail: e.message }))
          })
        )
        if (Option.isNone(credential) || credential.value._tag !== "oauth")
          return yield* refused(accountId, "no Google tokens are stored for it")
        return yield* google.value.calendarClient({
          accountId,
          tokens: credential.value,
          onRefresh: (next) => accounts.saveTokens(accountId, next)
        })
      })

    const feedFor = (accountId: string) =>
      Effect.gen(function* () {
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
          if (Option.isNone(password)) return yield* refused(accountId, "no password is stored for it")
          auth = { user: account.value.username, password: password.value }
        }
        return yield* IcsFeedProvider.make({
          url: new URL(account.value.url),
          auth,
          timeout: options.timeout,
          checkUrl: options.checkUrl
        }).pipe(Effect.provide(context))
      })

    return { clientFor, googleClientFor, feedFor, failure }
  })

export const layer = (
  options: Options
): Layer.Layer<AccountClients, never, Accounts | HttpClient.HttpClient> =>
  Layer.effect(AccountClients, make(options))
