/**
 * The engine on fakes: in-memory calendars behind a registry, the real SQL store on an in-memory
 * SQLite database, and helpers to build relationships and run polls.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Option } from "effect"
import {
  EventModel,
  MemoryProvider,
  Policy,
  type Relationship,
  StoreMigrations,
  SyncCycle,
  SyncStore
} from "../../src/index.js"

export type InMemoryCalendar = MemoryProvider.MemoryCalendar
export const Calendars = MemoryProvider.MemoryCalendars
export type Calendars = MemoryProvider.MemoryCalendars

export const storeLayer = SyncStore.layer.pipe(
  Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
  Layer.provideMerge(SqliteClient.layer({ filename: ":memory:" }).pipe(Layer.orDie))
)

export const engineLayer = (calendars: Calendars) =>
  Layer.merge(storeLayer, MemoryProvider.layerMemory(calendars))

export const policy = (overrides: Partial<Policy.SyncPolicy> = {}): Policy.SyncPolicy =>
  Policy.SyncPolicy.make({ markPrivate: false, transp: "keep", attendees: false, ...overrides })

/** Registers calendars `a` and `b` and a relationship a → b (and b → a when two-way). */
export const connect = (options: {
  readonly a: InMemoryCalendar
  readonly b: InMemoryCalendar
  readonly policy?: Policy.SyncPolicy
  readonly twoWay?: boolean
  readonly window?: Relationship.SyncWindow
}) =>
  Effect.gen(function* () {
    const store = yield* SyncStore.SyncStore
    yield* store.ensureAccount({ id: "acct", kind: "memory", url: "memory:", username: Option.none() })
    yield* store.ensureCalendar({ id: "A", accountId: "acct", ref: options.a.ref })
    yield* store.ensureCalendar({ id: "B", accountId: "acct", ref: options.b.ref })
    const forward: Relationship.Relationship = {
      id: "a-to-b",
      sourceCalendarId: "A",
      targetCalendarId: "B",
      pairId: options.twoWay ? Option.some("pair") : Option.none(),
      policy: options.policy ?? policy(),
      window: Option.fromNullable(options.window),
      paused: false
    }
    yield* store.saveRelationship(forward)
    if (options.twoWay) {
      yield* store.saveRelationship({
        ...forward,
        id: "b-to-a",
        sourceCalendarId: "B",
        targetCalendarId: "A"
      })
    }
  })

export const poll = (calendarId: "A" | "B", options: Partial<SyncCycle.CycleOptions> = {}) =>
  SyncCycle.run(calendarId, { ...SyncCycle.defaultOptions(new Date("2026-11-21T12:00:00Z")), ...options })

/** One sync: the source's poll, then the target's. */
export const syncBoth = (options: Partial<SyncCycle.CycleOptions> = {}) =>
  Effect.gen(function* () {
    const a = yield* poll("A", options)
    const b = yield* poll("B", options)
    return [a, b] as const
  })

let counter = 0
/** A simple timed event with a fresh UID. */
export const event = (summary: string, fields: Partial<EventModel.VEvent> = {}): EventModel.EventResource => {
  counter++
  return EventModel.makeResource(
    EventModel.makeEvent({
      uid: `event-${counter}@test`,
      start: EventModel.utc(2026, 11, 23, 9, 0),
      end: EventModel.utc(2026, 11, 23, 10, 0),
      summary: Option.some(summary),
      ...fields
    })
  )
}
