/**
 * The engine, the real SQL store (SQLite in memory) and the CalDAV provider over two new calendars
 * on the real Radicale, each seen through a client the test may give (a fake of some server's
 * behaviour that Radicale does not have) or as it is. One relationship, source → target, copying
 * everything as it is.
 */
import { randomUUID } from "node:crypto"
import type { CalDavClient, CalDavError } from "@almanac/caldav"
import {
  CalendarProvider,
  EventModel,
  Policy,
  type ProviderError,
  StoreMigrations,
  SyncCycle,
  SyncStore
} from "@almanac/core"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Option } from "effect"
import type { caldavServer } from "../../../../scripts/test-servers/context.js"
import { CalDavProvider, ICalCodec } from "../../src/index.js"

export interface Pair {
  readonly source: string
  readonly target: string
  /** One poll of the source calendar. */
  readonly poll: () => Effect.Effect<SyncCycle.CycleReport, ProviderError.PollError | SyncStore.StoreError>
  /** One poll of the target calendar (copies people edited or deleted there are put back). */
  readonly pollTarget: () => Effect.Effect<
    SyncCycle.CycleReport,
    ProviderError.PollError | SyncStore.StoreError
  >
  /** The summaries of the target's events, sorted. */
  readonly summaries: Effect.Effect<ReadonlyArray<string>, CalDavError.CalDavError | ICalCodec.BadItem>
}

export const event = (uid: string, summary: string): EventModel.EventResource =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid,
      start: EventModel.zoned("Europe/Berlin", 2026, 12, 14, 9),
      end: EventModel.zoned("Europe/Berlin", 2026, 12, 14, 10),
      summary: Option.some(summary)
    })
  )

/** Makes the two calendars, then runs `body` with the engine over them. */
export const withPair = <A, E>(
  server: ReturnType<typeof caldavServer>,
  real: CalDavClient.CalDavClientShape,
  seenAs: {
    readonly source?: (real: CalDavClient.CalDavClientShape) => CalDavClient.CalDavClientShape
    readonly target?: (real: CalDavClient.CalDavClientShape) => CalDavClient.CalDavClientShape
  },
  body: (pair: Pair) => Effect.Effect<A, E>
): Effect.Effect<A, E | CalDavError.CalDavError | SyncStore.StoreError> =>
  Effect.gen(function* () {
    const source = `${server.home}source-${randomUUID()}/`
    const target = `${server.home}copies-${randomUUID()}/`
    yield* real.mkcalendar(source, { displayName: "source" })
    yield* real.mkcalendar(target, { displayName: "copies" })
    const atSource = seenAs.source?.(real) ?? real
    const atTarget = seenAs.target?.(real) ?? real
    const registry: CalendarProvider.ProviderRegistry["Type"] = {
      open: (calendar) =>
        Effect.succeed(
          calendar.ref === source
            ? CalDavProvider.make(atSource, source)
            : CalDavProvider.make(atTarget, target)
        )
    }
    const layer = Layer.merge(
      SyncStore.layer.pipe(
        Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
        Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }).pipe(Layer.orDie))
      ),
      Layer.succeed(CalendarProvider.ProviderRegistry, registry)
    )
    return yield* Effect.gen(function* () {
      const store = yield* SyncStore.SyncStore
      yield* store.ensureAccount({
        id: "r",
        kind: "caldav",
        url: server.url,
        username: Option.some(server.user)
      })
      yield* store.ensureCalendar({ id: "A", accountId: "r", ref: source })
      yield* store.ensureCalendar({ id: "B", accountId: "r", ref: target })
      yield* store.saveRelationship({
        id: "a-to-b",
        sourceCalendarId: "A",
        targetCalendarId: "B",
        pairId: Option.none(),
        policy: Policy.SyncPolicy.make({ markPrivate: false, transp: "keep", attendees: false }),
        window: Option.none(),
        paused: false
      })
      const layerContext = yield* Effect.context<SyncStore.SyncStore | CalendarProvider.ProviderRegistry>()
      const summaries = Effect.gen(function* () {
        const listing = yield* real.listEtags(target)
        const got = yield* real.multiget(
          target,
          listing.map((i) => i.href)
        )
        const parsed = yield* Effect.forEach(got.found, (i) => ICalCodec.parse(i.data, { href: i.href }))
        return parsed.flatMap((r) => Option.toArray(Option.flatMap(r.master, (m) => m.summary))).sort()
      })
      return yield* body({
        source,
        target,
        poll: () =>
          SyncCycle.run("A", SyncCycle.defaultOptions(new Date())).pipe(Effect.provide(layerContext)),
        pollTarget: () =>
          SyncCycle.run("B", SyncCycle.defaultOptions(new Date())).pipe(Effect.provide(layerContext)),
        summaries
      })
    }).pipe(Effect.provide(layer))
  })
