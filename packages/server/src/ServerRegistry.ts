/**
 * The engine's providers in the server: for each calendar, a CalDAV client built from its
 * account's stored credentials. Clients are kept per account and rebuilt when the password
 * changes (re-authentication). An account that needs re-authentication opens nothing, so its
 * calendars park instead of hammering a server that refuses them.
 */
import { CalDavClient } from "@almanac/caldav"
import { CalendarProvider, ProviderError } from "@almanac/core"
import { CalDavProvider } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { type Duration, Effect, Layer, Option, Redacted, Ref } from "effect"
import { Accounts } from "./store/Accounts.js"

interface Cached {
  readonly password: string
  readonly client: CalDavClient.CalDavClientShape
}

export const make = (options: {
  readonly timeout: Duration.DurationInput
  readonly checkUrl?: CalDavClient.ClientOptions["checkUrl"]
}): Effect.Effect<CalendarProvider.ProviderRegistry["Type"], never, Accounts | HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const accounts = yield* Accounts
    const context = yield* Effect.context<HttpClient.HttpClient>()
    const cache = yield* Ref.make(new Map<string, Cached>())

    const refuse = (url: string, detail: string) =>
      Effect.fail(new ProviderError.Unauthorized({ calendar: url, detail }))

    return {
      open: (calendar) =>
        Effect.gen(function* () {
          const account = yield* accounts.byId(calendar.accountId).pipe(Effect.orDie)
          if (Option.isNone(account)) return yield* refuse(calendar.url, "the account was removed")
          if (account.value.status === "needs-reauth")
            return yield* refuse(calendar.url, "the account needs its password again")
          const opened = yield* accounts
            .password(calendar.accountId)
            .pipe(Effect.catchTag("StoreError", Effect.die), Effect.either)
          if (opened._tag === "Left")
            return yield* refuse(
              calendar.url,
              "the stored password does not open with the configured master key"
            )
          const password = opened.right
          if (Option.isNone(password))
            return yield* refuse(calendar.url, "the account has no stored password")
          const plain = Redacted.value(password.value)
          const cached = (yield* Ref.get(cache)).get(account.value.id)
          const client =
            cached !== undefined && cached.password === plain
              ? cached.client
              : yield* CalDavClient.make({
                  auth: { user: account.value.username, password: password.value },
                  timeout: options.timeout,
                  checkUrl: options.checkUrl
                }).pipe(Effect.provide(context))
          yield* Ref.update(cache, (m) => new Map(m).set(account.value.id, { password: plain, client }))
          return CalDavProvider.make(client, calendar.url)
        })
    }
  })

export const layer = (options: Parameters<typeof make>[0]) =>
  Layer.effect(CalendarProvider.ProviderRegistry, make(options))
