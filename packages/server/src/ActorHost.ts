/**
 * The calendar actors hosted by @effect/cluster: each watched calendar is one `Calendar` entity
 * (entity id = calendar id) whose poll loop, `CalendarActor.make` from core, runs inside the
 * entity. The entity asks the cluster to keep it alive, so after a restart or a shard move the
 * cluster starts it again and the loop resumes without anyone calling `ensure`.
 *
 * What the cluster (0.60) does not do for us, and how this module covers it:
 * - A keep-alive is one persisted message that stays unprocessed. The storage loop reads
 *   unprocessed messages again once they are ten minutes old, and the entity manager answers a
 *   keep-alive it already holds at once, so after ten minutes of uptime the message counts as
 *   processed and a restart would no longer bring the calendar back. Each running entity's
 *   keep-alive message is therefore replaced every `keepAliveRefresh` (default 5 minutes), by one
 *   loop per runner (`refreshLoop`) rather than a fiber per entity: a sleeping fiber per idle
 *   calendar cost about 25 KiB of heap each (measured, 2,000 actors).
 * - A stale keep-alive (a crash between retire and its reply, a relationship removed while the
 *   process was down) would resurrect a calendar nobody wants: an entity that starts without
 *   being asked checks `CalendarPoller.wanted` first.
 * - Belt and braces: the server still calls `ensure` for every calendar in an active relationship
 *   at startup; that is cheap (no message for a calendar already running) and makes the
 *   database, not the cluster's message table, the source of truth.
 * - With several runners, shards move while runners run, and the keep-alive alone does not bring
 *   every calendar back: when a runner acquires a shard the storage delivers its unprocessed
 *   messages again, and an entity that already holds its keep-alive answers the copy at once,
 *   which marks the one persisted keep-alive processed. Seen in the multi-runner test: 3 of 12
 *   calendars running with no unprocessed keep-alive, so a SIGKILL of their runner left them
 *   unpolled. Each runner therefore sweeps (`sweepLoop`): a wanted calendar in a shard it holds
 *   whose actor is not running here gets an `ensure`.
 *
 * Shutdown: a poll in flight finishes (the call to `poll` is uninterruptible); sleeps and waits
 * are interrupted, so no new poll starts. The `onOutcome` of that last poll may not run.
 */
import { CalendarActor, type ProviderError, type SyncCycle, type SyncStore } from "@almanac/core"
import { Entity, EntityId, RunnerAddress, Sharding, SingleRunner } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { SqlClient } from "@effect/sql"
import { type ConfigError, Context, Duration, Effect, FiberHandle, Layer, Option, Ref, Schema } from "effect"

/** What the host needs from the rest of the server; the server provides it. */
export class CalendarPoller extends Context.Tag("@almanac/server/CalendarPoller")<
  CalendarPoller,
  {
    /** One poll of a calendar (the server wires SyncCycle.run with the store and providers). */
    readonly poll: (
      calendarId: string,
      reconcile: boolean,
      schedule: CalendarActor.PollSchedule
    ) => Effect.Effect<SyncCycle.CycleReport, ProviderError.PollError | SyncStore.StoreError>
    /** After each poll: the server records next poll time, parks accounts on Unauthorized, logs. */
    readonly onOutcome: (
      calendarId: string,
      outcome: CalendarActor.PollOutcome,
      wait: CalendarActor.Wait
    ) => Effect.Effect<void>
    /**
     * Whether the calendar still takes part in an active relationship. Asked only when an entity
     * starts without an `ensure` or `wake` (the cluster bringing it back after a restart); `false`
     * keeps it stopped and drops its keep-alive. A failure counts as wanted: polling a calendar
     * once too often is cheaper than silently dropping one.
     */
    readonly wanted: (calendarId: string) => Effect.Effect<boolean, SyncStore.StoreError>
    /**
     * When the calendar's previous run meant to poll next (epoch millis), if it recorded a time.
     * An actor started again keeps that time when it is still ahead, instead of a spread share.
     */
    readonly scheduledAt?: (calendarId: string) => Effect.Effect<Option.Option<number>, SyncStore.StoreError>
    /**
     * Several runners: every calendar in an active relationship, as last read (`fresh` false) or
     * read again from the database now (`fresh` true), for the sweep (see `sweepLoop`).
     */
    readonly wantedAll?: (fresh: boolean) => Effect.Effect<ReadonlySet<string>, SyncStore.StoreError>
  }
>() {}

export interface ActorHostShape {
  /** Starts the actor of a calendar if it is not running (idempotent); survives restarts. */
  readonly ensure: (calendarId: string) => Effect.Effect<void>
  /** Poll now ("sync now", after re-authentication, after a relationship changes). Starts the actor if needed. */
  readonly wake: (calendarId: string) => Effect.Effect<void>
  /** The in-memory status of a running actor (CalendarActor.ActorStatus), none if not running here. */
  readonly status: (calendarId: string) => Effect.Effect<Option.Option<CalendarActor.ActorStatus>>
  /** Stop polling a calendar that no longer takes part in any relationship. Call it after the relationship is gone. */
  readonly retire: (calendarId: string) => Effect.Effect<void>
}
export class ActorHost extends Context.Tag("@almanac/server/ActorHost")<ActorHost, ActorHostShape>() {}

export interface HostOptions {
  /** How often a running entity replaces its keep-alive message; must stay well under ten minutes. */
  readonly keepAliveRefresh?: Duration.DurationInput
  /**
   * An actor started by `ensure` or by the cluster after a restart waits a fixed share of this
   * (drawn from its calendar id) before its first poll, so that many calendars started together
   * do not all poll at once. A calendar whose recorded next poll is still ahead (a restart
   * inside its interval) waits until then instead, at most this long. A `wake` polls at once.
   * None: the first poll is at once.
   */
  readonly firstPollSpread?: Duration.Duration
  /** How often answered keep-alive messages are deleted (also at start and at shutdown); default 10 minutes. */
  readonly pruneEvery?: Duration.DurationInput
  /**
   * Several runners: how often a runner looks for wanted calendars in the shards it holds whose
   * actors are not running here (default 2 s; see `sweepLoop`), and every how many of those
   * looks it reads the wanted set again from the database (default 30).
   */
  readonly sweepEvery?: Duration.DurationInput
  readonly sweepReloadEvery?: number
}

/**
 * A number in [0, 1) fixed by the calendar id (FNV-1a): the same calendar gets the same share of a
 * spread at every start, and calendars started together get different ones.
 */
export const spreadShare = (calendarId: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < calendarId.length; i++) {
    h ^= calendarId.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h / 0x1_0000_0000
}

/**
 * How long a starting actor waits before its first poll: until the next poll its previous run
 * recorded, when that is still ahead (a restart inside the interval: no poll early, none late;
 * recorded times are already spread), else its spread share. A recorded time that has passed
 * (the server was down) is overdue for many calendars at once, so those keep the spread.
 */
const firstDelayOf = (
  calendarId: string,
  share: number,
  options: HostOptions,
  poller: CalendarPoller["Type"]
): Effect.Effect<Duration.Duration | undefined> =>
  Effect.gen(function* () {
    if (options.firstPollSpread === undefined) return undefined
    const whole = Duration.toMillis(options.firstPollSpread)
    const spread = Math.floor(whole * share)
    const scheduled =
      poller.scheduledAt === undefined
        ? Option.none<number>()
        : yield* poller
            .scheduledAt(calendarId)
            .pipe(
              Effect.catchAll((e) =>
                Effect.as(
                  Effect.logDebug("could not read the recorded next poll", e.message),
                  Option.none<number>()
                )
              )
            )
    const ahead = Option.map(scheduled, (at) => at - Date.now())
    return Duration.millis(Option.isSome(ahead) && ahead.value > 0 ? Math.min(ahead.value, whole) : spread)
  })

/** The messages of a calendar entity. None is persisted: the keep-alive is what survives. */
export const CalendarEntity = Entity.make("Calendar", [
  Rpc.make("Ensure"),
  Rpc.make("Wake"),
  Rpc.make("Retire")
])

/** The actors running in this process, for `status` and a cheap `ensure`. */
class Running extends Context.Tag("@almanac/server/ActorHost/Running")<
  Running,
  Map<string, CalendarActor.Actor>
>() {}

/**
 * The keep-alive replacements of the entities running here, and when each is next due: the one
 * `refreshLoop` of the runner runs them.
 */
class KeepAlives extends Context.Tag("@almanac/server/ActorHost/KeepAlives")<
  KeepAlives,
  Map<string, { readonly replace: Effect.Effect<void>; at: number }>
>() {}

// Long enough for the entity manager to answer the old keep-alive before the new one arrives.
// In the other order it would answer the new one at once (it still holds a keep-alive), then
// the old one, and leave none pending.
const keepAliveGap = Duration.millis(200)

/** How long an entity made without a message (resumed from its keep-alive) waits before it starts. */
const unaskedStartDelay = Duration.millis(250)

const behaviour = (config: CalendarActor.ActorConfig, options: HostOptions) =>
  CalendarEntity.toLayer(
    Effect.gen(function* () {
      const address = yield* Entity.CurrentAddress
      const calendarId: string = address.entityId
      // Handlers and forked fibers do not inherit the build's annotations: each effect carries them.
      const annotated = Effect.annotateLogs({ calendar: calendarId, module: "ActorHost" })
      const poller = yield* CalendarPoller
      const running = yield* Running
      // Keep-alive needs the entity's own context (its address and latch) wherever it is called.
      const entityContext = yield* Effect.context<Sharding.Sharding | Entity.CurrentAddress>()
      const keepAlive = (enabled: boolean) =>
        Entity.keepAlive(enabled).pipe(
          Effect.provide(entityContext),
          // Polling goes on without it; only the resume after a restart is lost.
          Effect.catchAllCause((cause) => Effect.logWarning("could not set the keep-alive", enabled, cause)),
          annotated
        )
      const lock = yield* Effect.makeSemaphore(1)
      const handle = yield* FiberHandle.make<void, never>()
      const awaitingFirstPoll = yield* Ref.make(false)

      const share = spreadShare(calendarId)
      const firstDelay = yield* firstDelayOf(calendarId, share, options, poller)
      const { actor, loop } = yield* CalendarActor.make({
        calendarId,
        config,
        firstDelay,
        poll: (reconcile, schedule) =>
          Ref.set(awaitingFirstPoll, false).pipe(
            Effect.zipRight(poller.poll(calendarId, reconcile, schedule)),
            Effect.uninterruptible
          ),
        onOutcome: (outcome, wait) =>
          poller
            .onOutcome(calendarId, outcome, wait)
            .pipe(Effect.catchAllCause((cause) => Effect.logError("onOutcome failed", cause)))
      })

      const keepAlives = yield* KeepAlives
      const every = Duration.toMillis(Duration.decode(options.keepAliveRefresh ?? Duration.minutes(5)))
      // Under the entity's lock, so that a retire (which drops the keep-alive) never runs between
      // the two halves, and a calendar retired meanwhile gets none back.
      const replace = lock
        .withPermits(1)(
          Effect.suspend(() =>
            Option.isNone(FiberHandle.unsafeGet(handle))
              ? Effect.void
              : keepAlive(false).pipe(
                  Effect.zipRight(Effect.sleep(keepAliveGap)),
                  Effect.zipRight(keepAlive(true))
                )
          )
        )
        .pipe(
          // Cut between the two, the calendar would have no keep-alive at all.
          Effect.uninterruptible
        )
      const refreshing = { replace, at: 0 }

      /** Starts loop and keep-alive unless running; true when this call started them. */
      const start = lock.withPermits(1)(
        Effect.gen(function* () {
          if (Option.isSome(FiberHandle.unsafeGet(handle))) return false
          yield* keepAlive(true)
          yield* Ref.set(awaitingFirstPoll, true)
          yield* FiberHandle.run(handle, loop)
          running.set(calendarId, actor)
          // The first replacement comes after a share of the period from half to all of it, so
          // that calendars started together do not all write their keep-alives at the same moment.
          refreshing.at = Date.now() + Math.floor(every * (0.5 + share / 2))
          keepAlives.set(calendarId, refreshing)
          yield* Effect.logDebug("calendar actor started")
          return true
        }).pipe(annotated)
      )

      const stop = lock.withPermits(1)(
        Effect.gen(function* () {
          // Waits for a poll in flight: the poll is uninterruptible.
          yield* FiberHandle.clear(handle)
          yield* keepAlive(false)
          if (running.get(calendarId) === actor) running.delete(calendarId)
          if (keepAlives.get(calendarId) === refreshing) keepAlives.delete(calendarId)
          yield* Effect.logInfo("calendar retired")
        }).pipe(annotated)
      )

      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          if (running.get(calendarId) === actor) running.delete(calendarId)
          if (keepAlives.get(calendarId) === refreshing) keepAlives.delete(calendarId)
        })
      )

      // An entity starts for a message to it or, after a restart, for its pending keep-alive.
      // Only the database knows whether the calendar is still wanted.
      const wanted = yield* poller.wanted(calendarId).pipe(
        Effect.catchAll((error) =>
          Effect.logWarning("could not tell whether the calendar is wanted; polling it", error._tag).pipe(
            Effect.as(true)
          )
        ),
        annotated
      )
      // A message that made this entity (ensure, wake, retire) is handled just after it is made
      // and decides; only an entity no message made (the cluster resuming it from its keep-alive)
      // starts on its own, a moment later. Started here at once, a loop could finish its first
      // poll before the wake that made the entity is handled, which then polled a second time.
      let handled = false
      const handling = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.suspend(() => {
          handled = true
          return effect
        })
      if (wanted)
        yield* Effect.sleep(unaskedStartDelay).pipe(
          Effect.zipRight(Effect.suspend(() => (handled ? Effect.void : Effect.asVoid(start)))),
          Effect.forkScoped
        )
      else yield* keepAlive(false)

      return CalendarEntity.of({
        Ensure: () => handling(start.pipe(Effect.asVoid)),
        Wake: () =>
          handling(
            Effect.gen(function* () {
              const started = yield* start
              // A loop that has not begun its first poll will poll anyway: now, or, while it waits
              // out its first delay, when woken (the loop counts that wake as its first poll's).
              const awaiting = yield* Ref.get(awaitingFirstPoll)
              if (awaiting ? firstDelay !== undefined : !started) yield* actor.wake
            })
          ),
        Retire: () => handling(stop)
      })
    }),
    // Never reaped for idleness: a watched calendar receives no messages for hours.
    { maxIdleTime: Duration.infinity }
  )

const makeHost = Effect.gen(function* () {
  const running = yield* Running
  const client = yield* CalendarEntity.client
  const call = (calendarId: string, rpc: "Ensure" | "Wake" | "Retire") =>
    client(calendarId)[rpc]().pipe(
      // Mailbox full or storage failure: the cluster itself is broken, not this calendar.
      Effect.orDie,
      Effect.annotateLogs("calendar", calendarId)
    )
  return ActorHost.of({
    ensure: (calendarId) => (running.has(calendarId) ? Effect.void : call(calendarId, "Ensure")),
    wake: (calendarId) => call(calendarId, "Wake"),
    status: (calendarId) => {
      const actor = running.get(calendarId)
      return actor === undefined ? Effect.succeedNone : Effect.asSome(actor.status)
    },
    retire: (calendarId) => call(calendarId, "Retire")
  })
})

/** The entity, its behaviour layer, and the host service, over any Sharding (SingleRunner on SQLite by default). */
export const layer = (
  config: CalendarActor.ActorConfig,
  options: HostOptions = {}
): Layer.Layer<ActorHost, never, Sharding.Sharding | CalendarPoller> =>
  Layer.merge(
    Layer.effect(ActorHost, makeHost),
    refreshLoop(Duration.toMillis(Duration.decode(options.keepAliveRefresh ?? Duration.minutes(5))))
  ).pipe(
    Layer.provide(behaviour(config, options)),
    Layer.provide(
      Layer.merge(
        Layer.sync(Running, () => new Map()),
        Layer.sync(KeepAlives, () => new Map())
      )
    )
  )

/**
 * Replaces the keep-alives that are due, a few at a time (each holds its entity's lock for the
 * gap between its two halves), and schedules each again a period later. Checked four times a
 * period, at least every second.
 */
const refreshLoop = (every: number): Layer.Layer<never, never, KeepAlives> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const keepAlives = yield* KeepAlives
      const tick = Duration.millis(Math.max(10, Math.min(1000, Math.floor(every / 4))))
      const refreshDue = Effect.suspend(() => {
        const now = Date.now()
        const due = [...keepAlives.values()].filter((k) => k.at <= now)
        for (const k of due) k.at = now + every
        return Effect.forEach(due, (k) => k.replace, { concurrency: 64, discard: true })
      })
      yield* Effect.sleep(tick).pipe(Effect.zipRight(refreshDue), Effect.forever, Effect.forkScoped)
    }).pipe(Effect.annotateLogs("module", "ActorHost"))
  )

/**
 * Several runners: starts the actors of wanted calendars whose shards this runner holds but which
 * are not running here (a keep-alive answered by the cluster, see the module's comment). Every
 * `every` it checks the wanted set as last read; a calendar found is checked against the set read
 * again before it is started (another runner may have retired it), and every `reloadEvery` looks
 * the set is read again anyway (relationships made through other runners). Cheap when all is
 * well: a hash per wanted calendar, no SQL, no message.
 */
export const sweepLoop = (
  every: Duration.DurationInput,
  reloadEvery: number
): Layer.Layer<never, never, Sharding.Sharding | ActorHost | CalendarPoller> =>
  Layer.scopedDiscard(
    Effect.gen(function* () {
      const sharding = yield* Sharding.Sharding
      const host = yield* ActorHost
      const poller = yield* CalendarPoller
      const wantedAll = poller.wantedAll
      if (wantedAll === undefined) return
      const held = (calendarId: string) => {
        const entityId = EntityId.make(calendarId)
        return sharding.hasShardId(sharding.getShardId(entityId, CalendarEntity.getShardGroup(entityId)))
      }
      const strays = (wanted: ReadonlySet<string>) =>
        Effect.filter([...wanted].filter(held), (id) => Effect.map(host.status(id), Option.isNone))
      let looks = 0
      const sweep = Effect.gen(function* () {
        looks = (looks + 1) % Math.max(1, reloadEvery)
        const found = yield* strays(yield* wantedAll(looks === 0))
        if (found.length === 0) return
        const fresh = looks === 0 ? new Set(found) : yield* wantedAll(true)
        const start = found.filter((id) => fresh.has(id))
        if (start.length === 0) return
        yield* Effect.logInfo(
          `starting ${start.length} calendar(s) of this runner's shards whose actors were not running`
        ).pipe(Effect.annotateLogs("calendars", start.slice(0, 20).join(",")))
        yield* Effect.forEach(start, (id) => host.ensure(id), { concurrency: 4, discard: true })
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning("the sweep of this runner's calendars failed", cause)
        ),
        Effect.annotateLogs("module", "ActorHost")
      )
      yield* Effect.sleep(every).pipe(Effect.zipRight(sweep), Effect.forever, Effect.forkScoped)
    })
  )

/**
 * Deletes the Calendar keep-alive messages the cluster has answered, with their replies. Each
 * refresh and each start leaves one behind, and the cluster never deletes a processed message:
 * without this the tables grow by a row per calendar every few minutes. An answered keep-alive is
 * never read again (the storage only re-reads unprocessed messages) and nobody awaits its reply.
 */
export const pruneAnsweredKeepAlives: Effect.Effect<void, never, SqlClient.SqlClient> = Effect.gen(
  function* () {
    const sql = yield* SqlClient.SqlClient
    // The storage writes booleans as 1/0 where the dialect has none (SQLite, SQL Server).
    const yes = sql.onDialectOrElse({
      sqlite: () => sql.literal("1"),
      mssql: () => sql.literal("1"),
      orElse: () => sql.literal("TRUE")
    })
    const answered = sql`entity_type = ${CalendarEntity.type} AND tag = ${KeepAliveTag} AND processed = ${yes}`
    yield* sql.withTransaction(
      sql`DELETE FROM cluster_replies WHERE request_id IN (SELECT request_id FROM cluster_messages WHERE ${answered})`.pipe(
        Effect.zipRight(sql`DELETE FROM cluster_messages WHERE ${answered}`)
      )
    )
  }
).pipe(
  Effect.catchAllCause((cause) => Effect.logWarning("could not delete answered keep-alive messages", cause)),
  Effect.annotateLogs("module", "ActorHost")
)

const KeepAliveTag = Entity.KeepAliveRpc._tag

/**
 * Prunes once the cluster's storage is there (after its migrations: a statement prepared against a
 * missing table stays failed in the client's cache) and then every `every`.
 */
const pruneLoop = (every: Duration.DurationInput) =>
  Layer.scopedDiscard(
    Effect.zipRight(
      Sharding.Sharding,
      pruneAnsweredKeepAlives.pipe(Effect.zipRight(Effect.sleep(every)), Effect.forever, Effect.forkScoped)
    )
  )

/** Prunes at shutdown: built before the runner, so it runs once the entities have stopped. */
const pruneAtShutdown = Layer.scopedDiscard(Effect.addFinalizer(() => pruneAnsweredKeepAlives))

/** A runner that could not join its cluster (its address taken, not this machine's), in words. */
export class RunnerError extends Schema.TaggedError<RunnerError>()("RunnerError", {
  message: Schema.String
}) {}

/**
 * The cluster's timings for several runners, the same on every runner. A runner that dies (SIGKILL,
 * a lost machine) stops refreshing its heartbeat and its shard locks; the others drop it from the
 * shard assignment once its heartbeat is `shardLockExpiration` old (sooner if the health check,
 * every `runnerHealthCheckInterval`, finds it not answering), then take its shards. On PostgreSQL
 * the locks are advisory locks of the runner's own connection: PostgreSQL releases them as that
 * connection drops, and no two runners ever hold one shard. About 35 s + 3 s from a runner's death
 * to its calendars' actors starting elsewhere; each then polls when its recorded next poll comes.
 */
export const multiRunnerTimings = {
  shardLockRefreshInterval: Duration.seconds(10),
  shardLockExpiration: Duration.seconds(35),
  refreshAssignmentsInterval: Duration.seconds(3),
  runnerHealthCheckInterval: Duration.seconds(15)
} as const

/**
 * One of several runners sharing the SQL database in context (PostgreSQL): the calendars' shards
 * split among the runners registered there, messages to an entity elsewhere sent over the cluster's
 * socket protocol to `address`, where this runner listens. The socket runner's modules load only
 * here, so a single runner never loads them.
 */
export const layerSocketRunner = (
  config: CalendarActor.ActorConfig,
  address: { readonly host: string; readonly port: number },
  options: HostOptions = {}
): Layer.Layer<ActorHost, ConfigError.ConfigError | RunnerError, SqlClient.SqlClient | CalendarPoller> =>
  Layer.merge(
    Layer.provideMerge(
      sweepLoop(options.sweepEvery ?? Duration.seconds(2), options.sweepReloadEvery ?? 30),
      layer(config, options)
    ),
    pruneLoop(options.pruneEvery ?? Duration.minutes(10))
  ).pipe(
    Layer.provide(
      Layer.unwrapEffect(
        Effect.map(
          Effect.promise(() => import("@effect/platform-node/NodeClusterSocket")),
          (NodeClusterSocket) =>
            NodeClusterSocket.layer({
              storage: "sql",
              shardingConfig: {
                ...multiRunnerTimings,
                runnerAddress: Option.some(RunnerAddress.make(address.host, address.port)),
                runnerListenAddress: Option.none()
              }
            })
        )
      ).pipe(
        Layer.mapError((e): ConfigError.ConfigError | RunnerError =>
          e._tag === "SocketServerError"
            ? new RunnerError({
                message: `cannot listen on the runner address ${address.host}:${address.port} (ALMANAC_RUNNER_ADDRESS): ${e.message}`
              })
            : e
        ),
        Layer.provideMerge(pruneAtShutdown)
      )
    )
  )

/** Convenience: single runner with SQL storage over the SqlClient in context. */
export const layerSingleRunner = (
  config: CalendarActor.ActorConfig,
  options: HostOptions = {}
): Layer.Layer<ActorHost, ConfigError.ConfigError, SqlClient.SqlClient | CalendarPoller> =>
  Layer.merge(layer(config, options), pruneLoop(options.pruneEvery ?? Duration.minutes(10))).pipe(
    Layer.provide(
      // Settings in code: the environment's generic HOST and PORT belong to other programs.
      SingleRunner.layer({
        runnerStorage: "sql",
        // A runner address is what makes this process host entities rather than only call them.
        shardingConfig: {
          runnerAddress: Option.some(RunnerAddress.make("localhost", 34431)),
          runnerListenAddress: Option.none()
        }
      }).pipe(Layer.provideMerge(pruneAtShutdown))
    )
  )
