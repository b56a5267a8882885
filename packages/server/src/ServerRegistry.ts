/**
 * The engine's providers in the server, chosen by the calendar's account kind: for CalDAV kinds
 * (icloud, caldav), a CalDAV provider over the client AccountClients builds from the account's
 * stored credentials — the same path free/busy and bookings take; for Google, the Google provider
 * over a Calendar API client on the account's sealed tokens, with the calendar's zone and access
 * role as discovery stored them; for a subscribed feed (ics), the feed provider over its URL. An
 * account that needs re-authentication opens nothing, so its
 * calendars park instead of hammering a server that refuses them.
 */
import { CalendarProvider, ProviderError, type SyncStore } from "@almanac/core"
import { CalDavProvider, GoogleProvider, GraphProvider } from "@almanac/providers"
import { Effect, FiberRef, Layer, Option } from "effect"
import { AccountClients } from "./app/AccountClients.js"
import type { NeedsReauth, SecretUnreadable, Unsupported } from "./app/SchedulingError.js"
import { type Counted, openedClients } from "./Polls.js"
import { Accounts } from "./store/Accounts.js"

/**
 * Google and Microsoft throttle per account (Google's per-user quota, Graph's per-mailbox limit),
 * not per host: every calendar of one account shares one adaptive write limit, keyed by the
 * account, so that several calendars written at once cannot together exceed what one learnt.
 */
export const accountWriteKey = (calendar: CalendarProvider.CalendarAddress): string =>
  `${calendar.kind} account ${calendar.accountId}`

const withAccountLimit = (
  calendar: CalendarProvider.CalendarAddress,
  provider: CalendarProvider.CalendarProvider
): CalendarProvider.CalendarProvider => ({ ...provider, writeHost: accountWriteKey(calendar) })

export const make: Effect.Effect<
  CalendarProvider.ProviderRegistry["Type"],
  never,
  AccountClients | Accounts
> = Effect.gen(function* () {
  const clients = yield* AccountClients
  const accounts = yield* Accounts

  /** What the account's refusals mean to the engine: the same for every kind. */
  const refusals =
    (calendar: CalendarProvider.CalendarAddress, secret: string) =>
    <A>(
      open: Effect.Effect<A, NeedsReauth | SecretUnreadable | Unsupported | SyncStore.StoreError>
    ): Effect.Effect<A, ProviderError.PollError> =>
      open.pipe(
        Effect.catchTags({
          NeedsReauth: (e) =>
            Effect.fail(new ProviderError.Unauthorized({ calendar: calendar.ref, detail: e.detail })),
          // a calendar of an account kind this path cannot open: said, retried, never parked
          Unsupported: (e) =>
            Effect.fail(new ProviderError.Transient({ calendar: calendar.ref, detail: e.detail })),
          SecretUnreadable: () =>
            Effect.fail(
              new ProviderError.Unauthorized({
                calendar: calendar.ref,
                detail: `the stored ${secret} does not open with the configured master key`
              })
            ),
          StoreError: Effect.die
        })
      )

  // Inside a poll, the poll's log line counts this client's requests.
  const counted = (client: Counted) =>
    Effect.map(FiberRef.get(openedClients), (opened) => {
      opened?.push(client)
    })

  const caldav = (calendar: CalendarProvider.CalendarAddress) =>
    clients.clientFor(calendar.accountId).pipe(
      Effect.tap(counted),
      Effect.map((client) => CalDavProvider.make(client, calendar.ref)),
      refusals(calendar, "password")
    )

  const google = (calendar: CalendarProvider.CalendarAddress) =>
    Effect.gen(function* () {
      const known = yield* accounts.calendars(calendar.accountId).pipe(
        Effect.map((all) => all.find((c) => c.url === calendar.ref)),
        Effect.orDie
      )
      if (known === undefined)
        return yield* new ProviderError.Transient({
          calendar: calendar.ref,
          detail: "the calendar is no longer among its Google account's calendars"
        })
      const client = yield* clients
        .googleClientFor(calendar.accountId)
        .pipe(refusals(calendar, "Google tokens"), Effect.tap(counted))
      return withAccountLimit(
        calendar,
        GoogleProvider.make(client, {
          id: calendar.ref,
          // calendarList always names a zone; a row from before zones were stored falls back to UTC,
          // which only matters for floating times (Google itself has none).
          timeZone: Option.getOrElse(known.timeZone, () => "UTC"),
          writable: known.writable
        })
      )
    })

  const feed = (calendar: CalendarProvider.CalendarAddress) =>
    clients.feedFor(calendar.accountId).pipe(Effect.tap(counted), refusals(calendar, "password"))

  const microsoft = (calendar: CalendarProvider.CalendarAddress) =>
    Effect.gen(function* () {
      const known = yield* accounts.calendars(calendar.accountId).pipe(
        Effect.map((all) => all.find((c) => c.url === calendar.ref)),
        Effect.orDie
      )
      if (known === undefined)
        return yield* new ProviderError.Transient({
          calendar: calendar.ref,
          detail: "the calendar is no longer among its Microsoft account's calendars"
        })
      const client = yield* clients
        .graphClientFor(calendar.accountId)
        .pipe(refusals(calendar, "Microsoft tokens"), Effect.tap(counted))
      return withAccountLimit(
        calendar,
        GraphProvider.make(client, {
          id: calendar.ref,
          // Times come from Graph in UTC; only a floating time from another calendar needs a zone,
          // and reading the mailbox's own would take another permission (MailboxSettings.Read).
          timeZone: Option.getOrElse(known.timeZone, () => "UTC"),
          canEdit: known.writable
        })
      )
    })

  return {
    open: (calendar) =>
      calendar.kind === "icloud" || calendar.kind === "caldav"
        ? caldav(calendar)
        : calendar.kind === "google"
          ? google(calendar)
          : calendar.kind === "microsoft"
            ? microsoft(calendar)
            : calendar.kind === "ics"
              ? feed(calendar)
              : Effect.fail(
                  new ProviderError.Transient({
                    calendar: calendar.ref,
                    detail: `this server has no provider for accounts of kind "${calendar.kind}"`
                  })
                )
  }
})

export const layer: Layer.Layer<CalendarProvider.ProviderRegistry, never, AccountClients | Accounts> =
  Layer.effect(CalendarProvider.ProviderRegistry, make)
