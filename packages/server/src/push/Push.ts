/**
 * Push: providers tell the server that a calendar changed, and its actor polls at once instead of
 * at its next interval. Polling stays as it is — a lost notification, a channel that could not be
 * opened or a provider without push only means the change is found at the next poll.
 *
 * On only with a push address (ServerConfig.pushUrl: an https ALMANAC_PUBLIC_URL, or
 * ALMANAC_PUSH=on). A reconcile, at start and then every minute (and soon after a relationship or
 * an account changes), makes the open channels match the watched calendars of healthy Google and
 * Microsoft accounts: it opens what is missing, renews what expires within a third of its life
 * (at most 12 hours), and stops what is no longer wanted. A channel that could not be opened is
 * tried again after `retryAfter`, so a provider refusing the address is asked four times an hour,
 * not sixty. With push off, the channels an earlier run opened are stopped at start. One runner reconciles (the single-runner server); several would each open channels.
 *
 * A notification is believed only with the channel's secret (Google's channel token, Graph's
 * clientState), compared with the stored hash.
 */
import { SyncStore } from "@almanac/core"
import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Duration, Effect, Layer, Option, Queue, Redacted, Schema, type Scope } from "effect"
import { AccountClients } from "../app/AccountClients.js"
import type { ServerConfig } from "../Config.js"
import { Engine } from "../Engine.js"
import * as PushChannels from "../store/PushChannels.js"
import * as PushAdapters from "./PushAdapters.js"

export type GoogleState = "sync" | "exists" | "not_exists" | string

export interface GraphNotification {
  readonly subscriptionId: string
  readonly clientState: string | undefined
  /** Set on a lifecycle notification: reauthorizationRequired, subscriptionRemoved, missed. */
  readonly lifecycleEvent: string | undefined
}

/** What a notification led to, for the route's answer and the tests. */
export type Received = "woke" | "noted" | "unknown" | "refused"

export interface PushShape {
  /** Whether this server asks providers for push at all. */
  readonly enabled: boolean
  /** A relationship or an account changed: reconcile soon. */
  readonly soon: Effect.Effect<void>
  /** One reconcile now. */
  readonly reconcile: Effect.Effect<void>
  /** Stops and forgets the account's channels (before the account is removed). */
  readonly forget: (accountId: string) => Effect.Effect<void>
  readonly google: (message: {
    readonly channelId: string
    readonly token: string | undefined
    readonly state: GoogleState
  }) => Effect.Effect<Received>
  readonly microsoft: (notification: GraphNotification) => Effect.Effect<Received>
}

export class Push extends Context.Tag("@almanac/server/Push")<Push, PushShape>() {}

/** A watched calendar of a Google or Microsoft account that is not parked. */
const Watched = Schema.Struct({
  calendar_id: Schema.String,
  ref: Schema.String,
  account_id: Schema.String,
  kind: PushChannels.Provider
})
type Watched = typeof Watched.Type

export interface Options {
  /** Between two reconciles (default one minute). */
  readonly every?: Duration.DurationInput
  /** Before a channel that could not be opened is tried again (default 15 minutes). */
  readonly retryAfter?: Duration.DurationInput
}

const renewWithin = (c: PushChannels.Channel) =>
  Math.min(Duration.toMillis(Duration.hours(12)), (c.expiresAt - c.createdAt) / 3)

export type Adapters = Readonly<Record<PushChannels.Provider, PushAdapters.PushAdapter>>

export const make = (
  config: Pick<ServerConfig, "pushUrl">,
  adapters: Adapters,
  options: Options = {}
): Effect.Effect<PushShape, never, SqlClient.SqlClient | PushChannels.PushChannels | Engine | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const channels = yield* PushChannels.PushChannels
    const engine = yield* Engine
    const retryAfter = Duration.toMillis(Duration.decode(options.retryAfter ?? Duration.minutes(15)))
    const failedAt = new Map<string, number>()
    const lock = yield* Effect.makeSemaphore(1)
    const storeError = (e: { readonly message: string }) =>
      new SyncStore.StoreError({ operation: "read the watched calendars", detail: e.message })

    const watchedRows = SqlSchema.findAll({
      Request: Schema.Void,
      Result: Watched,
      execute: () =>
        sql`SELECT c.id AS calendar_id, c.url AS ref, a.id AS account_id, a.kind AS kind
          FROM calendars c JOIN accounts a ON a.id = c.account_id
          WHERE a.kind IN ('google', 'microsoft') AND a.status = 'ok'
            AND c.id IN (SELECT source_calendar_id FROM relationships WHERE paused = ${0}
                         UNION SELECT target_calendar_id FROM relationships WHERE paused = ${0})`
    })
    const watched = watchedRows(undefined).pipe(Effect.mapError(storeError))

    /** A channel's key: what one channel watches. */
    const keyOf = (provider: PushChannels.Provider, accountId: string, calendarId: string) =>
      adapters[provider].scope === "calendar"
        ? `${provider}:calendar:${calendarId}`
        : `${provider}:account:${accountId}`
    const channelKey = (c: PushChannels.Channel) =>
      keyOf(
        c.provider,
        c.accountId,
        Option.getOrElse(c.calendarId, () => "")
      )

    const close = (c: PushChannels.Channel) =>
      adapters[c.provider].close(c).pipe(
        Effect.catchAll((e) =>
          Effect.logDebug("could not stop a push channel; it expires by itself", e.message)
        ),
        Effect.zipRight(channels.remove(c.channelId))
      )

    const open = (base: string, w: Watched) =>
      Effect.gen(function* () {
        const adapter = adapters[w.kind]
        const key = keyOf(w.kind, w.account_id, w.calendar_id)
        const last = failedAt.get(key)
        if (last !== undefined && Date.now() - last < retryAfter) return false
        const secret = PushChannels.newSecret()
        const now = Date.now()
        const opened = yield* adapter
          .open({ accountId: w.account_id, calendarRef: w.ref }, `${base}${adapter.path}`, secret)
          .pipe(
            Effect.tapError((e) =>
              Effect.sync(() => failedAt.set(key, Date.now())).pipe(
                Effect.zipRight(
                  Effect.logWarning(
                    "push channel not opened; the calendar is polled as before",
                    e.message
                  ).pipe(Effect.annotateLogs({ account: w.account_id, calendar: w.calendar_id }))
                )
              )
            ),
            Effect.option
          )
        if (Option.isNone(opened)) return false
        failedAt.delete(key)
        yield* channels.add({
          channelId: opened.value.channelId,
          provider: w.kind,
          accountId: w.account_id,
          calendarId: adapter.scope === "calendar" ? Option.some(w.calendar_id) : Option.none(),
          resourceId: opened.value.resourceId,
          tokenHash: PushChannels.hashOf(Redacted.value(secret)),
          createdAt: now,
          expiresAt: opened.value.expiresAt
        })
        yield* Effect.logInfo("push channel opened").pipe(
          Effect.annotateLogs({ provider: w.kind, account: w.account_id, calendar: w.calendar_id })
        )
        return true
      })

    const reconcileWith = (base: string) =>
      Effect.gen(function* () {
        const wanted = yield* watched
        const existing = yield* channels.all
        const wantedByKey = new Map<string, Watched>()
        for (const w of wanted) {
          const key = keyOf(w.kind, w.account_id, w.calendar_id)
          if (!wantedByKey.has(key)) wantedByKey.set(key, w)
        }
        const existingByKey = new Map<string, Array<PushChannels.Channel>>()
        for (const c of existing) {
          const key = channelKey(c)
          if (!wantedByKey.has(key)) {
            yield* close(c)
            continue
          }
          existingByKey.set(key, [...(existingByKey.get(key) ?? []), c])
        }
        for (const [key, w] of wantedByKey) {
          const now = Date.now()
          const held = (existingByKey.get(key) ?? []).sort((a, b) => b.expiresAt - a.expiresAt)
          const [best, ...extra] = held
          for (const c of extra) yield* close(c)
          if (best !== undefined && best.expiresAt - now > renewWithin(best)) continue
          if (best !== undefined) {
            const renewed = yield* adapters[best.provider].renew(best).pipe(
              Effect.tapError((e) => Effect.logDebug("push channel not renewed in place", e.message)),
              Effect.option,
              Effect.map(Option.flatten)
            )
            if (Option.isSome(renewed)) {
              yield* channels.setExpiry(best.channelId, now, renewed.value)
              continue
            }
          }
          // A new channel first, then the old one stopped: no gap while both are open.
          const opened = yield* open(base, w)
          if (best !== undefined && (opened || best.expiresAt <= now)) yield* close(best)
        }
      })

    const reconcile = Option.match(config.pushUrl, {
      onNone: () => Effect.void,
      onSome: (base) =>
        lock
          .withPermits(1)(reconcileWith(base))
          .pipe(Effect.catchAll((e) => Effect.logWarning("push channels not reconciled", e.message)))
    })

    const soonQueue = yield* Queue.sliding<void>(1)
    if (Option.isSome(config.pushUrl)) {
      // Run by the schedule or by `soon`, whichever comes first.
      const tick = Effect.race(Effect.sleep(options.every ?? Duration.minutes(1)), Queue.take(soonQueue))
      yield* reconcile.pipe(Effect.zipRight(tick), Effect.forever, Effect.forkScoped)
    } else {
      // Push turned off (ALMANAC_PUSH=off, no https address any more): channels a run with push
      // opened are stopped once, so the providers stop posting; until then notifications still
      // carry their secrets and are answered as before.
      yield* lock
        .withPermits(1)(Effect.flatMap(channels.all, (all) => Effect.forEach(all, close, { discard: true })))
        .pipe(
          Effect.catchAll((e) => Effect.logWarning("could not stop the push channels", e.message)),
          Effect.forkScoped
        )
    }

    const wakeAccount = (accountId: string) =>
      Effect.gen(function* () {
        const rows = yield* watched
        for (const w of rows) if (w.account_id === accountId) yield* engine.syncNow(w.calendar_id)
      }).pipe(Effect.catchAll((e) => Effect.logWarning("could not wake an account's calendars", e.message)))

    const fromStore = <A>(effect: Effect.Effect<A, SyncStore.StoreError>, fallback: A) =>
      effect.pipe(
        Effect.catchAll((e) =>
          Effect.as(Effect.logWarning("push: the store did not answer", e.message), fallback)
        )
      )

    return {
      enabled: Option.isSome(config.pushUrl),
      soon: Queue.offer(soonQueue, undefined).pipe(Effect.asVoid),
      reconcile,
      forget: (accountId) =>
        lock
          .withPermits(1)(
            Effect.gen(function* () {
              for (const c of yield* channels.all) if (c.accountId === accountId) yield* close(c)
            })
          )
          .pipe(
            Effect.catchAll((e) => Effect.logWarning("could not stop the account's push channels", e.message))
          ),
      google: (message) =>
        Effect.gen(function* () {
          const channel = yield* fromStore(channels.byId(message.channelId), Option.none())
          if (Option.isNone(channel) || channel.value.provider !== "google") return "unknown" as const
          if (!PushChannels.matches(channel.value, message.token)) return "refused" as const
          // The first message says only that the channel works.
          if (message.state === "sync" || Option.isNone(channel.value.calendarId)) return "noted" as const
          // The poll runs in the actor; the answer goes back at once.
          yield* Effect.forkDaemon(engine.syncNow(channel.value.calendarId.value))
          return "woke" as const
        }),
      microsoft: (n) =>
        Effect.gen(function* () {
          const channel = yield* fromStore(channels.byId(n.subscriptionId), Option.none())
          if (Option.isNone(channel) || channel.value.provider !== "microsoft") return "unknown" as const
          if (!PushChannels.matches(channel.value, n.clientState)) return "refused" as const
          const accountId = channel.value.accountId
          if (n.lifecycleEvent === "subscriptionRemoved") {
            yield* fromStore(channels.remove(n.subscriptionId), undefined)
            yield* Queue.offer(soonQueue, undefined)
          } else if (n.lifecycleEvent === "reauthorizationRequired") {
            // Renewed at the next reconcile, which comes at once.
            yield* fromStore(
              channels.setExpiry(n.subscriptionId, channel.value.createdAt, Date.now()),
              undefined
            )
            yield* Queue.offer(soonQueue, undefined)
          }
          // A change, a missed one, or a gap while the subscription was down: a catch-up poll.
          yield* Effect.forkDaemon(wakeAccount(accountId))
          return "woke" as const
        })
    }
  })

export const layer = (
  config: Pick<ServerConfig, "pushUrl">,
  options?: Options
): Layer.Layer<Push, never, SqlClient.SqlClient | PushChannels.PushChannels | AccountClients | Engine> =>
  Layer.scoped(
    Push,
    Effect.flatMap(AccountClients, (clients) =>
      make(
        config,
        { google: PushAdapters.google(clients), microsoft: PushAdapters.microsoft(clients) },
        options
      )
    )
  )
