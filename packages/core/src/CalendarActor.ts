/**
 * The calendar actor: one long-lived fiber per watched calendar. It polls on a cadence with
 * jitter, can be woken early, runs one poll at a time, and answers each kind of failure with its
 * one recovery (docs/design.md). The timing decisions are a pure function (`nextDelay`) so that they
 * can be tested exactly; the loop only sleeps and polls.
 */
import { Cause, Duration, Effect, Option, Queue, Random, Ref } from "effect"
import type { PollError } from "./ProviderError.js"
import type { CycleReport } from "./SyncCycle.js"
import * as SyncMetrics from "./SyncMetrics.js"
import type { StoreError } from "./SyncStore.js"

export interface ActorConfig {
  /** Time between polls of an idle, healthy calendar. */
  readonly interval: Duration.Duration
  /** Each wait is the interval times a factor drawn from [min, max], so calendars do not poll in lockstep. */
  readonly jitter: { readonly min: number; readonly max: number }
  /** First backoff after a transient failure; doubles on each further failure up to `maxBackoff`. */
  readonly backoff: Duration.Duration
  readonly maxBackoff: Duration.Duration
  /** How often a poll compares a complete listing with the links, to catch what a feed missed. */
  readonly reconcileEvery: Duration.Duration
}

export const defaultConfig: ActorConfig = {
  interval: Duration.minutes(10),
  jitter: { min: 0.8, max: 1.2 },
  backoff: Duration.seconds(30),
  maxBackoff: Duration.hours(1),
  reconcileEvery: Duration.hours(24)
}

/** How one poll ended, as the actor sees it. */
export type PollOutcome =
  | { readonly _tag: "Ok"; readonly report: CycleReport }
  | { readonly _tag: "Failed"; readonly error: PollError | StoreError }
  | { readonly _tag: "Defect"; readonly cause: string }

export type Wait =
  | { readonly _tag: "Sleep"; readonly delay: Duration.Duration }
  /** Parked: credentials refused. Only a wake (after re-authentication) resumes polling. */
  | { readonly _tag: "Park" }

const jitter = (d: Duration.Duration, min: number, max: number, random: number) =>
  Duration.millis(Math.round(Duration.toMillis(d) * (min + (max - min) * random)))

/** The wait after a poll that worked: the interval, jittered. */
export const cadence = (config: ActorConfig, random: number): Duration.Duration =>
  jitter(config.interval, config.jitter.min, config.jitter.max, random)

/**
 * What to do after a poll. `failures` counts consecutive failed polls including this one;
 * `random` is a number in [0, 1).
 */
export const nextDelay = (
  config: ActorConfig,
  outcome: PollOutcome,
  failures: number,
  random: number
): Wait => {
  const jittered = (d: Duration.Duration, min: number, max: number) => jitter(d, min, max, random)
  const backoff = () => {
    const exp = Duration.toMillis(config.backoff) * 2 ** Math.max(0, failures - 1)
    const capped = Math.min(exp, Duration.toMillis(config.maxBackoff))
    // "Full jitter" over the upper half: spread out, never shorter than half the step.
    return jittered(Duration.millis(capped), 0.5, 1)
  }
  switch (outcome._tag) {
    case "Ok":
      return { _tag: "Sleep", delay: cadence(config, random) }
    case "Defect":
      return { _tag: "Sleep", delay: backoff() }
    case "Failed": {
      const e = outcome.error
      switch (e._tag) {
        case "Unauthorized":
          return { _tag: "Park" }
        case "RateLimited":
          return {
            _tag: "Sleep",
            delay: e.retryAfterMillis === undefined ? backoff() : Duration.millis(e.retryAfterMillis)
          }
        case "TokenInvalid":
        case "Transient":
        case "StoreError":
          return { _tag: "Sleep", delay: backoff() }
      }
    }
  }
}

/** When the next poll comes if this one works, as the loop plans it. */
export interface PollSchedule {
  /**
   * When the next poll comes if this one works (epoch millis): the loop keeps to it, measured
   * from this poll's start, so the caller may record it with the poll's own write.
   */
  readonly nextIfOk: number
}

export interface ActorStatus {
  readonly polls: number
  readonly failures: number
  readonly parked: boolean
  readonly lastOutcome: Option.Option<PollOutcome>
}

export interface Actor {
  /** Poll now instead of waiting (a webhook, an API call, a re-authentication). */
  readonly wake: Effect.Effect<void>
  readonly status: Effect.Effect<ActorStatus>
}

/**
 * Runs the poll loop of one calendar until interrupted. `poll` receives whether this poll should
 * reconcile against a complete listing. Defects are caught here, logged with the calendar id, and
 * retried with backoff: one broken calendar never takes down another.
 */
export const make = (options: {
  readonly calendarId: string
  readonly config: ActorConfig
  readonly poll: (
    reconcile: boolean,
    schedule: PollSchedule
  ) => Effect.Effect<CycleReport, PollError | StoreError>
  readonly onOutcome?: (outcome: PollOutcome, wait: Wait) => Effect.Effect<void>
  /**
   * How long the loop waits before its first poll (none: it polls at once). A wake cuts it short.
   * Many actors started together spread their first polls this way instead of polling at once.
   */
  readonly firstDelay?: Duration.Duration | undefined
}): Effect.Effect<{ readonly actor: Actor; readonly loop: Effect.Effect<never> }> =>
  Effect.gen(function* () {
    const { calendarId, config } = options
    const wakes = yield* Queue.sliding<void>(1)
    const state = yield* Ref.make<ActorStatus>({
      polls: 0,
      failures: 0,
      parked: false,
      lastOutcome: Option.none()
    })
    const lastReconcile = yield* Ref.make<number>(Number.NEGATIVE_INFINITY)

    const pollOnce = Effect.gen(function* () {
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const reconcile = now - (yield* Ref.get(lastReconcile)) >= Duration.toMillis(config.reconcileEvery)
      const random = yield* Random.next
      const nextIfOk = now + Duration.toMillis(cadence(config, random))
      const schedule: PollSchedule = { nextIfOk }
      const outcome: PollOutcome = yield* options.poll(reconcile, schedule).pipe(
        Effect.map((report): PollOutcome => ({ _tag: "Ok", report })),
        Effect.catchAll((error) => Effect.succeed<PollOutcome>({ _tag: "Failed", error })),
        Effect.catchAllDefect((defect) =>
          Effect.succeed<PollOutcome>({ _tag: "Defect", cause: Cause.pretty(Cause.die(defect)) })
        )
      )
      yield* SyncMetrics.countPoll(outcome)
      if (outcome._tag === "Ok" && reconcile) yield* Ref.set(lastReconcile, now)
      const previous = yield* Ref.get(state)
      const failures = outcome._tag === "Ok" ? 0 : previous.failures + 1
      const after = yield* Effect.clockWith((c) => c.currentTimeMillis)
      // A poll that worked keeps to the time it announced; a failure waits from its end.
      const wait: Wait =
        outcome._tag === "Ok"
          ? { _tag: "Sleep", delay: Duration.millis(Math.max(0, nextIfOk - after)) }
          : nextDelay(config, outcome, failures, random)
      yield* Ref.set(state, {
        polls: previous.polls + 1,
        failures,
        parked: wait._tag === "Park",
        lastOutcome: Option.some(outcome)
      })
      // A failure is the caller's to report (onOutcome has it, in its words): logged here too, it
      // would be printed twice. A defect has no words but its cause, so it is logged here, once.
      if (outcome._tag === "Defect") yield* Effect.logError("calendar actor defect", outcome.cause)
      if (options.onOutcome) yield* options.onOutcome(outcome, wait)
      return wait
    }).pipe(Effect.annotateLogs("calendar", calendarId))

    const waitFor = (wait: Wait) =>
      wait._tag === "Park" ? Queue.take(wakes) : Effect.race(Effect.sleep(wait.delay), Queue.take(wakes))

    const polling: Effect.Effect<never> = pollOnce.pipe(Effect.flatMap(waitFor), Effect.forever)
    // A wake that came before the first poll is answered by it, not by a second poll right after.
    const beforeFirst =
      options.firstDelay === undefined || Duration.toMillis(options.firstDelay) <= 0
        ? Queue.takeAll(wakes)
        : Effect.zipRight(waitFor({ _tag: "Sleep", delay: options.firstDelay }), Queue.takeAll(wakes))
    const loop: Effect.Effect<never> = Effect.zipRight(beforeFirst, polling)

    return {
      actor: {
        wake: Queue.offer(wakes, undefined).pipe(Effect.asVoid),
        status: Ref.get(state)
      },
      loop
    }
  })
