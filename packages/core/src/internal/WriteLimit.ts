/**
 * How many writes may be in flight to one target server at once, learnt from how it answers
 * (issue 13). A fixed 4 queues on a server that takes one write at a time and starves one that
 * takes many, so the limit moves as TCP's congestion window does:
 *
 * - it starts at 1 and doubles after each window of writes whose mean latency stayed within
 *   `growth` × the best window mean seen (slow start), then grows by 1 a window;
 * - a window whose mean latency grew past that (writes queue on the server) takes 1 off, or, in
 *   slow start, goes back to half;
 * - an overload answer (429, 503, 5xx, a timeout: the caller says which) halves it at once.
 *
 * A window is max(limit, `window`) writes, so a decision rests on more than one answer. Writes
 * started before the last change saw the old limit: they neither count nor halve it again (the
 * epoch). The gate is Effect's Semaphore, resized with the limit.
 */
import { Clock, Effect, Exit } from "effect"
import { globalValue } from "effect/GlobalValue"

export interface Settings {
  readonly start: number
  readonly min: number
  readonly max: number
  /** A window mean latency above growth × the best window mean means the server is queueing. */
  readonly growth: number
  /** Fewest writes a decision rests on. */
  readonly window: number
}

export const defaultSettings: Settings = { start: 1, min: 1, max: 32, growth: 1.5, window: 8 }

interface State {
  readonly limit: number
  readonly inFlight: number
  /** Bumped at every change of the limit; a write remembers the epoch it started in. */
  readonly epoch: number
  readonly slowStart: boolean
  /** Best window mean latency (ms): what "latency grew" is measured against. */
  readonly baseline: number | undefined
  readonly count: number
  readonly sum: number
}

export interface WriteLimit {
  readonly limit: Effect.Effect<number>
  readonly inFlight: Effect.Effect<number>
  /**
   * Runs one write under a permit. `overloaded` says whether its outcome is the server pushing
   * back (429/503/5xx/timeout); other failures (a lost race, a refusal) say nothing of capacity.
   */
  readonly run: <A, E, R>(
    write: Effect.Effect<A, E, R>,
    overloaded: (exit: Exit.Exit<A, E>) => boolean
  ) => Effect.Effect<A, E, R>
}

const changed = (s: State, settings: Settings, limit: number, slowStart: boolean): State => ({
  ...s,
  limit: Math.min(settings.max, Math.max(settings.min, limit)),
  slowStart,
  epoch: s.epoch + 1,
  count: 0,
  sum: 0
})

/** The state after a write that started in `epoch` came back after `latency` ms. */
const settle = (
  state: State,
  settings: Settings,
  epoch: number,
  latency: number,
  overloaded: boolean
): State => {
  const s = { ...state, inFlight: state.inFlight - 1 }
  if (epoch !== s.epoch) return s
  if (overloaded) return changed(s, settings, Math.floor(s.limit / 2), false)
  const count = s.count + 1
  const sum = s.sum + latency
  if (count < Math.max(s.limit, settings.window)) return { ...s, count, sum }
  const mean = sum / count
  if (s.baseline !== undefined && mean > settings.growth * s.baseline) {
    // At the floor the server is slower in itself, not from our writes: learn its new speed.
    if (s.limit <= settings.min) return { ...changed(s, settings, s.limit, false), baseline: mean }
    return changed(s, settings, s.slowStart ? Math.floor(s.limit / 2) : s.limit - 1, false)
  }
  const baseline = s.baseline === undefined ? mean : Math.min(s.baseline, mean)
  return { ...changed(s, settings, s.slowStart ? s.limit * 2 : s.limit + 1, s.slowStart), baseline }
}

const initial = (settings: Settings): State => ({
  limit: settings.start,
  inFlight: 0,
  epoch: 0,
  slowStart: true,
  baseline: undefined,
  count: 0,
  sum: 0
})

export const make = (settings: Settings = defaultSettings): Effect.Effect<WriteLimit> =>
  Effect.map(Effect.makeSemaphore(settings.start), (gate): WriteLimit => {
    let state = initial(settings)
    // The gate's permits follow the limit; a lowered limit leaves fewer free than are taken,
    // so new writers wait until enough are back (Semaphore.resize), and nothing is cancelled.
    const settled = (epoch: number, latency: number, overloaded: boolean) =>
      Effect.suspend(() => {
        const before = state.limit
        state = settle(state, settings, epoch, latency, overloaded)
        return Effect.zipRight(
          gate.release(1),
          state.limit === before ? Effect.void : gate.resize(state.limit)
        )
      })
    return {
      limit: Effect.sync(() => state.limit),
      inFlight: Effect.sync(() => state.inFlight),
      run: (write, overloaded) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            yield* restore(gate.take(1))
            const epoch = state.epoch
            state = { ...state, inFlight: state.inFlight + 1 }
            const started = yield* Clock.currentTimeMillis
            const exit = yield* Effect.exit(restore(write))
            const latency = (yield* Clock.currentTimeMillis) - started
            yield* settled(epoch, latency, !Exit.isInterrupted(exit) && overloaded(exit))
            return yield* exit
          })
        )
    }
  })

/** Servers remembered at most; the oldest is forgotten first (it starts again from `start`). */
const maxHosts = 256

const hosts = globalValue(Symbol.for("almanac/core/WriteLimit/hosts"), () => new Map<string, WriteLimit>())

/** The one limit for a server in this process, shared by every calendar written there. */
export const forHost = (host: string): Effect.Effect<WriteLimit> =>
  Effect.suspend(() => {
    const known = hosts.get(host)
    if (known !== undefined) return Effect.succeed(known)
    return Effect.map(make(), (limit) => {
      const raced = hosts.get(host)
      if (raced !== undefined) return raced
      if (hosts.size >= maxHosts) {
        const oldest = hosts.keys().next()
        if (oldest.done !== true) hosts.delete(oldest.value)
      }
      hosts.set(host, limit)
      return limit
    })
  })
