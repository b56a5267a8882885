/**
 * The engine's providers in the server, chosen by the calendar's account kind: for CalDAV kinds
 * (icloud, caldav), a CalDAV provider over the client AccountClients builds from the account's
 * stored credentials — the same path free/busy and bookings take. An account that needs
 * re-authentication opens nothing, so its calendars park instead of hammering a server that
 * refuses them.
 */
import { CalendarProvider, ProviderError } from "@almanac/core"
import { CalDavProvider } from "@almanac/providers"
import { Effect, FiberRef, Layer } from "effect"
import { AccountClients } from "./app/AccountClients.js"
import { openedClients } from "./Polls.js"

export const make: Effect.Effect<CalendarProvider.ProviderRegistry["Type"], never, AccountClients> =
  Effect.gen(function* () {
    const clients = yield* AccountClients
    const caldav = (calendar: CalendarProvider.CalendarAddress) =>
      clients.clientFor(calendar.accountId).pipe(
        // Inside a poll, the poll's log line counts this client's requests.
        Effect.tap((client) =>
          Effect.map(FiberRef.get(openedClients), (opened) => {
            opened?.push(client)
          })
        ),
        Effect.map((client) => CalDavProvider.make(client, calendar.ref)),
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
                detail: "the stored password does not open with the configured master key"
              })
            ),
          StoreError: Effect.die
        })
      )
    return {
      open: (calendar) =>
        calendar.kind === "icloud" || calendar.kind === "caldav"
          ? caldav(calendar)
          : Effect.fail(
              new ProviderError.Transient({
                calendar: calendar.ref,
                detail: `this server has no provider for accounts of kind "${calendar.kind}"`
              })
            )
    }
  })

export const layer: Layer.Layer<CalendarProvider.ProviderRegistry, never, AccountClients> = Layer.effect(
  CalendarProvider.ProviderRegistry,
  make
)
