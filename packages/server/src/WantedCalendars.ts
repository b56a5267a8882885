/**
 * Which calendars take part in an unpaused relationship, read once and shared. Every entity the
 * cluster starts asks whether its calendar is still wanted; with a query each, a start with N
 * calendars read the whole relationships table N times. Here the first question reads it and the
 * others wait for that answer; `reload` reads it again, and the engine calls it whenever a
 * relationship changes (`Engine.refresh`), so the set stays the database's.
 */
import { Effect } from "effect"

export interface WantedCalendars<E> {
  /** Whether the calendar is wanted, from the set read last (read now if never read; a failure is not kept). */
  readonly has: (calendarId: string) => Effect.Effect<boolean, E>
  /** Reads the set again, keeps it, and returns it. */
  readonly reload: Effect.Effect<ReadonlySet<string>, E>
  /** The set read last (read now if never read). */
  readonly current: Effect.Effect<ReadonlySet<string>, E>
}

export const make = <E>(load: Effect.Effect<ReadonlySet<string>, E>): Effect.Effect<WantedCalendars<E>> =>
  Effect.gen(function* () {
    const lock = yield* Effect.makeSemaphore(1)
    let current: ReadonlySet<string> | undefined
    const reload = load.pipe(
      Effect.tap((set) =>
        Effect.sync(() => {
          current = set
        })
      )
    )
    const read = Effect.suspend(() =>
      current === undefined
        ? // Those waiting on the lock find the set the first one read.
          lock.withPermits(1)(
            Effect.suspend(() => (current === undefined ? reload : Effect.succeed(current)))
          )
        : Effect.succeed(current)
    )
    return {
      has: (calendarId) => Effect.map(read, (set) => set.has(calendarId)),
      reload,
      current: read
    }
  })
