/**
 * The polls running in this process, as the status shows them (phase, items done of the total,
 * since when), and what one poll cost for its log line: the requests of every client the poll
 * opened (its own calendar's and its targets', CalDAV or Google), counted through a fiber-local
 * list that ServerRegistry adds each client to.
 */
import { SyncProgress } from "@almanac/core"
import { Effect, type Exit, FiberRef, Option } from "effect"

export interface InProgress {
  readonly startedAt: number
  readonly phase: SyncProgress.Progress["phase"]
  readonly done: number
  readonly total: number
}

/** What a poll asks of a client it opened: how many requests it made (CalDAV and Google clients count). */
export interface Counted {
  readonly stats: Effect.Effect<{ readonly requests: number }>
}

/** The clients opened inside the current poll; null outside one. */
export const openedClients = FiberRef.unsafeMake<Array<Counted> | null>(null)

export interface PollsShape {
  /** The poll of this calendar running now, if any. */
  readonly current: (calendarId: string) => Effect.Effect<Option.Option<InProgress>>
  /**
   * Runs a poll with its progress recorded (and cleared when it ends, however it ends); returns
   * how it ended with the requests it made and how long it took.
   */
  readonly track: <A, E, R>(
    calendarId: string,
    poll: Effect.Effect<A, E, R>
  ) => Effect.Effect<Tracked<A, E>, never, R>
}

export interface Tracked<A, E> {
  readonly exit: Exit.Exit<A, E>
  readonly requests: number
  readonly millis: number
}

export const make = (): PollsShape => {
  const running = new Map<string, InProgress>()
  const listener: SyncProgress.SyncProgressShape = {
    report: (p) =>
      Effect.sync(() => {
        const startedAt = running.get(p.calendarId)?.startedAt ?? Date.now()
        running.set(p.calendarId, { startedAt, phase: p.phase, done: p.done, total: p.total })
      })
  }
  return {
    current: (calendarId) => Effect.sync(() => Option.fromNullable(running.get(calendarId))),
    track: (calendarId, poll) =>
      Effect.gen(function* () {
        const clients: Array<Counted> = []
        const started = Date.now()
        running.set(calendarId, { startedAt: started, phase: "list", done: 0, total: 0 })
        const requests = Effect.map(
          Effect.forEach(clients, (c) => c.stats),
          (all) => all.reduce((n, s) => n + s.requests, 0)
        )
        const exit = yield* poll.pipe(
          Effect.locally(openedClients, clients),
          Effect.provideService(SyncProgress.SyncProgress, listener),
          Effect.ensuring(Effect.sync(() => running.delete(calendarId))),
          Effect.exit
        )
        return { exit, requests: yield* requests, millis: Date.now() - started }
      })
  }
}
