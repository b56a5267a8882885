/**
 * The engine's providers in the server: for each calendar, a CalDAV provider over the client
 * AccountClients builds from its account's stored credentials — the same path free/busy and
 * bookings take. An account that needs re-authentication opens nothing, so its calendars park
 * instead of hammering a server that refuses them.
 */
import { CalendarProvider, ProviderError } from "@almanac/core"
import { CalDavProvider } from "@almanac/providers"
import { Effect, Layer } from "effect"
import { AccountClients } from "./app/AccountClients.js"

export const make: Effect.Effect<CalendarProvider.ProviderRegistry["Type"], never, AccountClients> =
  Effect.gen(function* () {
    const clients = yield* AccountClients
    return {
      open: (calendar) =>
        clients.clientFor(calendar.accountId).pipe(
          Effect.map((client) => CalDavProvider.make(client, calendar.url)),
          Effect.catchTags({
            NeedsReauth: (e) =>
              Effect.fail(new ProviderError.Unauthorized({ calendar: calendar.url, detail: e.detail })),
            // Until the Google provider is wired, its calendars are not polled: said, retried, never parked.
            Unsupported: (e) =>
              Effect.fail(new ProviderError.Transient({ calendar: calendar.url, detail: e.detail })),
            SecretUnreadable: () =>
              Effect.fail(
                new ProviderError.Unauthorized({
                  calendar: calendar.url,
                  detail: "the stored password does not open with the configured master key"
                })
              ),
            StoreError: Effect.die
          })
        )
    }
  })

export const layer: Layer.Layer<CalendarProvider.ProviderRegistry, never, AccountClients> = Layer.effect(
  CalendarProvider.ProviderRegistry,
  make
)
