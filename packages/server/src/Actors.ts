/**
 * The sync engine as the server runs it: what one poll of a calendar is (SyncCycle with the
 * store and the stored credentials), what happens after it (next poll time, an account parked
 * on a refused password), and the Engine the API uses, over the actors hosted by the cluster.
 * At start every calendar in an active relationship gets its actor.
 */

import {
  CalendarActor,
  type CalendarProvider,
  type ProviderError,
  SyncCycle,
  SyncMetrics,
  SyncStore
} from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Cause, Context, Deferred, Duration, Effect, Exit, Layer, Metric, Option, Schema } from "effect"
import { ActorHost, CalendarPoller, layerSingleRunner, layerSocketRunner } from "./ActorHost.js"
import { isOAuthKind, services } from "./app/OAuthService.js"
import type { RunnerAddress } from "./Config.js"
import { Engine, EngineError } from "./Engine.js"
import * as PollFailure from "./PollFailure.js"
import * as Polls from "./Polls.js"
import { Accounts } from "./store/Accounts.js"
import * as WantedCalendars from "./WantedCalendars.js"

/**
 * Calendars that take part in an unpaused relationship of a user, at either end. A relationship
 * with no user was not made through this server (`almanac sync` on its database): never synced
 * here, and said so once at start (`unowned`).
 */
const wantedCalendars = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows =
    yield* sql`SELECT source_calendar_id AS id FROM relationships WHERE paused = ${0} AND user_id IS NOT NULL
    UNION SELECT target_calendar_id AS id FROM relationships WHERE paused = ${0} AND user_id IS NOT NULL`
  return new Set(
    (yield* Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String })))(rows)).map((r) => r.id)
  ) as ReadonlySet<string>
}).pipe(
  Effect.mapError((e) => new SyncStore.StoreError({ operation: "read relationships", detail: e.message }))
)

const unownedRelationships = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT COUNT(*) AS n FROM relationships WHERE user_id IS NULL`
  // PostgreSQL answers a COUNT as a string (a bigint).
  const [row] = yield* Schema.decodeUnknown(
    Schema.Array(Schema.Struct({ n: Schema.Union(Schema.Number, Schema.NumberFromString) }))
  )(rows)
  return row?.n ?? 0
}).pipe(
  Effect.mapError((e) => new SyncStore.StoreError({ operation: "count relationships", detail: e.message }))
)

/** The wanted set shared by the poller (asked by every entity that starts) and the engine. */
class Wanted extends Context.Tag("@almanac/server/Actors/Wanted")<
  Wanted,
  WantedCalendars.WantedCalendars<SyncStore.StoreError>
>() {}

const wantedLayer = Layer.effect(
  Wanted,
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    WantedCalendars.make(wantedCalendars.pipe(Effect.provideService(SqlClient.SqlClient, sql)))
  )
)

/**
 * How many calendars the start-up loop ensures before it yields to everything else (the HTTP
 * server answers meanwhile); the loop runs in the background.
 */
const startupBatch = 50

/**
 * The state each calendar's last poll left it in, for the `almanac_calendars` gauge. The gauge is
 * set from the whole map after every change, so a calendar moving between states is never counted
 * twice and a retired calendar drops out.
 */
class CalendarStates {
  private readonly states = new Map<string, SyncMetrics.CalendarState>()
  set(calendarId: string, state: SyncMetrics.CalendarState | undefined): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (state === undefined) this.states.delete(calendarId)
      else this.states.set(calendarId, state)
      const counts = new Map<SyncMetrics.CalendarState, number>(SyncMetrics.calendarStates.map((s) => [s, 0]))
      for (const s of this.states.values()) counts.set(s, (counts.get(s) ?? 0) + 1)
      return Effect.forEach(counts, ([s, n]) => Metric.set(SyncMetrics.calendarsIn(s), n), { discard: true })
    })
  }
}

/**
 * How late this poll began against the next poll time the previous one recorded (the database's,
 * so lateness across a restart counts too). A poll woken early (sync now, a relationship change)
 * was not scheduled then and is not measured.
 */
const measureLateness = (calendarId: string) =>
  Effect.gen(function* () {
    const scheduled = yield* Effect.flatMap(SyncStore.SyncStore, (s) => s.nextPollAt(calendarId))
    if (Option.isNone(scheduled)) return
    const lateMillis = Date.now() - scheduled.value
    if (lateMillis >= 0) yield* Metric.update(SyncMetrics.pollLateness, lateMillis / 1000)
  }).pipe(Effect.catchAll((e) => Effect.logDebug("could not measure the poll's lateness", e.message)))

/** A person's confirmation of a mass deletion, waiting for the calendar's next poll to use it. */
type Confirmations = Map<string, Deferred.Deferred<SyncCycle.CycleReport, EngineError>>

/**
 * Each poll's outcome as one structured line: the calendar and its account, the outcome, the
 * counts, the requests it made and how long it took. A failure is this line at warning level
 * (the actor does not log it again); a defect is logged once, with its cause, by the actor.
 */
const logPoll = (
  calendarId: string,
  accountId: Option.Option<string>,
  tracked: Polls.Tracked<SyncCycle.CycleReport, ProviderError.PollError | SyncStore.StoreError>
): Effect.Effect<void> => {
  const base = {
    calendar: calendarId,
    account: Option.getOrElse(accountId, () => "?"),
    requests: tracked.requests,
    ms: tracked.millis
  }
  if (Exit.isSuccess(tracked.exit)) {
    const r = tracked.exit.value
    return Effect.logInfo("poll").pipe(
      Effect.annotateLogs({
        ...base,
        outcome: r.outcome,
        fullResync: r.fullResync,
        created: r.created,
        updated: r.updated,
        deleted: r.deleted,
        unchanged: r.unchanged,
        conflicts: r.conflicts,
        quarantined: r.quarantined,
        missing: r.missing,
        halted: r.halted.length > 0
      })
    )
  }
  const failure = Cause.failureOption(tracked.exit.cause)
  if (Option.isNone(failure)) return Effect.void
  const e = failure.value
  return Effect.logWarning("poll").pipe(
    Effect.annotateLogs({ ...base, outcome: "failed", error: e._tag, detail: "detail" in e ? e.detail : "" })
  )
}

const pollerLayer = (
  confirmations: Confirmations,
  states: CalendarStates,
  polls: Polls.PollsShape,
  /**
   * Several runners: a relationship made through another runner reloads only that runner's wanted
   * set, so a calendar missing from this one's is read again before its actor (moved here from a
   * runner that died) is dropped as unwanted.
   */
  shared: boolean
) =>
  Layer.effect(
    CalendarPoller,
    Effect.gen(function* () {
      const accounts = yield* Accounts
      const wantedSet = yield* Wanted
      const context = yield* Effect.context<SyncStore.SyncStore | CalendarProvider.ProviderRegistry>()
      // When each calendar's current poll began: its refusal parks the account only if the account
      // has not resumed since (see Accounts.park).
      const pollStarts = new Map<string, number>()
      // The next polls the previous run recorded, read once when the first actor starts; each
      // calendar takes its own once, so an actor started later in this run gets the spread.
      const recorded = yield* Effect.cached(
        Effect.flatMap(SyncStore.SyncStore, (s) => s.nextPolls).pipe(
          Effect.map((m) => new Map(m)),
          Effect.provide(context)
        )
      )
      return {
        poll: (calendarId, reconcile, schedule) =>
          Effect.gen(function* () {
            pollStarts.set(calendarId, Date.now())
            yield* measureLateness(calendarId)
            const confirmation = confirmations.get(calendarId)
            confirmations.delete(calendarId)
            const options = {
              ...SyncCycle.defaultOptions(new Date()),
              reconcile,
              confirmDeletes: confirmation !== undefined,
              nextPollAt: schedule.nextIfOk
            }
            const calendar = yield* Effect.flatMap(SyncStore.SyncStore, (s) => s.calendar(calendarId)).pipe(
              Effect.option,
              Effect.map(Option.flatten)
            )
            const tracked = yield* polls.track(calendarId, SyncCycle.run(calendarId, options)).pipe(
              Effect.tap((t) =>
                confirmation === undefined
                  ? Effect.void
                  : Deferred.complete(
                      confirmation,
                      t.exit._tag === "Success"
                        ? Effect.succeed(t.exit.value)
                        : Effect.fail(
                            new EngineError({
                              message: "the confirmed poll failed; see the calendar's status"
                            })
                          )
                    )
              )
            )
            yield* logPoll(
              calendarId,
              Option.map(calendar, (c) => c.accountId),
              tracked
            )
            return yield* tracked.exit
          }).pipe(Effect.provide(context)),
        onOutcome: (calendarId, outcome, wait) =>
          Effect.gen(function* () {
            const store = yield* Effect.provide(SyncStore.SyncStore, context)
            // A poll that worked recorded itself and its next time in one write (an idle poll
            // is one statement); a failed one is recorded here, in words, so the status never
            // shows an old success while polls fail.
            if (outcome._tag !== "Ok") {
              yield* store.recordFailure(calendarId, { at: Date.now(), error: PollFailure.words(outcome) })
              yield* store.setNextPoll(
                calendarId,
                wait._tag === "Sleep"
                  ? Option.some(Date.now() + Duration.toMillis(wait.delay))
                  : Option.none()
              )
            }
            yield* states.set(calendarId, SyncMetrics.stateOf(outcome))
            if (outcome._tag === "Failed" && outcome.error._tag === "Unauthorized") {
              const refusedRef = outcome.error.calendar
              const detail = outcome.error.detail
              // The refusal may come from a target written in this poll (another account, even
              // another provider): the account parked is the one holding the calendar that refused.
              // A CalDAV refusal names the calendar's URL; an OAuth token source names the account.
              const names = (c: SyncStore.CalendarRecord) =>
                c.ref === refusedRef || c.accountId === refusedRef
              const refusing = yield* Effect.provide(
                Effect.gen(function* () {
                  const s = yield* SyncStore.SyncStore
                  const own = yield* s.calendar(calendarId)
                  if (Option.isNone(own) || names(own.value)) return own
                  const { asSource, asTarget } = yield* s.relationshipsOf(calendarId)
                  const partners = [
                    ...asSource.map((r) => r.targetCalendarId),
                    ...asTarget.map((r) => r.sourceCalendarId)
                  ]
                  for (const id of partners) {
                    const partner = yield* s.calendar(id)
                    if (Option.isSome(partner) && names(partner.value)) return partner
                  }
                  return own
                }),
                context
              )
              // Already parked, or resumed since this poll began: left as it is, and not said again.
              const parked = Option.isSome(refusing)
                ? yield* accounts.park(
                    refusing.value.accountId,
                    isOAuthKind(refusing.value.kind)
                      ? `${services[refusing.value.kind].label} refused Almanac's access (${detail})`
                      : refusing.value.kind === "ics"
                        ? `the feed refused access (${detail})`
                        : `the calendar server refused the password (${detail})`,
                    pollStarts.get(calendarId) ?? Date.now()
                  )
                : true
              if (parked)
                yield* Effect.logWarning(
                  "account parked: its credentials were refused; re-authenticate to resume"
                ).pipe(
                  Effect.annotateLogs(
                    "account",
                    Option.match(refusing, { onNone: () => "?", onSome: (c) => c.accountId })
                  )
                )
            }
          }).pipe(
            Effect.catchAll((e) => Effect.logError("could not record a poll's outcome", e.message)),
            Effect.annotateLogs("calendar", calendarId)
          ),
        wanted: (calendarId) =>
          shared
            ? Effect.flatMap(wantedSet.has(calendarId), (has) =>
                has ? Effect.succeed(true) : Effect.map(wantedSet.reload, (set) => set.has(calendarId))
              )
            : wantedSet.has(calendarId),
        ...(shared ? { wantedAll: (fresh: boolean) => (fresh ? wantedSet.reload : wantedSet.current) } : {}),
        scheduledAt: (calendarId) =>
          Effect.map(recorded, (m) => {
            const at = m.get(calendarId)
            m.delete(calendarId)
            return Option.fromNullable(at)
          })
      }
    })
  )

const engineLayer = (confirmations: Confirmations, states: CalendarStates, polls: Polls.PollsShape) =>
  Layer.scoped(
    Engine,
    Effect.gen(function* () {
      const host = yield* ActorHost
      const wantedSet = yield* Wanted
      // One read of the relationships for the whole start; the entities starting ask this set.
      const startup = [...(yield* wantedSet.reload.pipe(Effect.orDie))]
      const unowned = yield* unownedRelationships.pipe(Effect.orDie)
      if (unowned > 0)
        yield* Effect.logWarning(
          `ignoring ${unowned} relationship(s) this server did not create (no user: made by \`almanac sync\` on this database?); they are never synced here`
        )
      // In the background and in batches: the HTTP server answers while the calendars start.
      yield* Effect.gen(function* () {
        for (let i = 0; i < startup.length; i += startupBatch) {
          yield* Effect.forEach(startup.slice(i, i + startupBatch), (id) => host.ensure(id), {
            discard: true,
            concurrency: 4
          })
          yield* Effect.yieldNow()
        }
        yield* Effect.logInfo(`watching ${startup.length} calendar(s)`)
      }).pipe(Effect.forkScoped)
      return {
        refresh: (calendarId) =>
          wantedSet.reload.pipe(
            Effect.flatMap((set) =>
              set.has(calendarId)
                ? host.wake(calendarId)
                : Effect.zipRight(host.retire(calendarId), states.set(calendarId, undefined))
            ),
            Effect.catchAll((e) => Effect.logError("could not refresh a calendar's actor", e.message)),
            Effect.annotateLogs("calendar", calendarId)
          ),
        syncNow: (calendarId) => host.wake(calendarId),
        inProgress: polls.current,
        confirmDeletes: (calendarId) =>
          Effect.gen(function* () {
            const done = yield* Deferred.make<SyncCycle.CycleReport, EngineError>()
            confirmations.set(calendarId, done)
            yield* host.wake(calendarId)
            return yield* Deferred.await(done).pipe(
              Effect.timeoutFail({
                duration: Duration.minutes(5),
                onTimeout: () =>
                  new EngineError({ message: "the confirmed poll did not finish within 5 minutes" })
              })
            )
          })
      }
    })
  )

/**
 * Engine over cluster-hosted actors: a single runner on the server's own database, or, with a
 * runner address (PostgreSQL only, Config.load checks), one of several runners sharing it.
 */
export const layer = (config: {
  readonly pollInterval: Duration.Duration
  readonly runner?: Option.Option<RunnerAddress>
}) => {
  const confirmations: Confirmations = new Map()
  const states = new CalendarStates()
  const polls = Polls.make()
  const runner = config.runner ?? Option.none()
  const actorConfig: CalendarActor.ActorConfig = {
    ...CalendarActor.defaultConfig,
    interval: config.pollInterval
  }
  return engineLayer(confirmations, states, polls).pipe(
    // Calendars started together (a restart) spread their first polls over one interval.
    Layer.provide(
      Option.match(runner, {
        onNone: () => layerSingleRunner(actorConfig, { firstPollSpread: config.pollInterval }),
        onSome: (address) => layerSocketRunner(actorConfig, address, { firstPollSpread: config.pollInterval })
      })
    ),
    Layer.provide(
      Layer.provideMerge(pollerLayer(confirmations, states, polls, Option.isSome(runner)), wantedLayer)
    )
  )
}
