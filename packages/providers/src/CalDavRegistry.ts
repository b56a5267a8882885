/**
 * Opens CalDAV providers for the calendars the engine watches: one caldav client per account
 * (its credentials, its request counts), one provider per calendar URL (the calendar's ref).
 */
import { CalDavClient } from "@almanac/caldav"
import { CalendarProvider, ProviderError } from "@almanac/core"
import type { HttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as CalDavProvider from "./CalDavProvider.js"

export interface Account {
  readonly id: string
  readonly options: CalDavClient.ClientOptions
}

export interface Registry {
  readonly registry: CalendarProvider.ProviderRegistry["Type"]
  /** The client of each account, for request counts. */
  readonly clients: ReadonlyMap<string, CalDavClient.CalDavClientShape>
}

export const make = (
  accounts: ReadonlyArray<Account>
): Effect.Effect<Registry, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const clients = new Map<string, CalDavClient.CalDavClientShape>()
    for (const account of accounts) clients.set(account.id, yield* CalDavClient.make(account.options))
    return {
      clients,
      registry: {
        open: (calendar) => {
          const client = clients.get(calendar.accountId)
          return client === undefined
            ? Effect.fail(
                new ProviderError.Unauthorized({
                  calendar: calendar.ref,
                  detail: `no credentials for account ${calendar.accountId}`
                })
              )
            : Effect.succeed(CalDavProvider.make(client, calendar.ref))
        }
      }
    }
  })

export const layer = (
  accounts: ReadonlyArray<Account>
): Layer.Layer<CalendarProvider.ProviderRegistry, never, HttpClient.HttpClient> =>
  Layer.effect(
    CalendarProvider.ProviderRegistry,
    Effect.map(make(accounts), (r) => r.registry)
  )
