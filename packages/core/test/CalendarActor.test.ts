import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, Random, Ref, TestClock } from "effect"
import { CalendarActor, ProviderError, SyncCycle } from "../src/index.js"

const config: CalendarActor.ActorConfig = {
  interval: Duration.minutes(10),
  jitter: { min: 0.8, max: 1.2 },
  backoff: Duration.seconds(30),
  maxBackoff: Duration.minutes(30),
  reconcileEvery: Duration.hours(24)
}

const report = SyncCycle.unchangedReport("A")
const ok: CalendarActor.PollOutcome = { _tag: "Ok", report }
const transient: CalendarActor.PollOutcome = {
  _tag: "Failed",
  error: new ProviderError.Transient({ calendar: "A", detail: "reset" })
}
const millis = (w: CalendarActor.Wait) => (w._tag === "Sleep" ? Duration.toMillis(w.delay) : Number.NaN)

describe("nextDelay", () => {
  it("keeps a healthy calendar's wait inside the jitter bounds", () => {
    for (const r of [0, 0.25, 0.5, 0.999]) {
      const ms = millis(CalendarActor.nextDelay(config, ok, 0, r))
      expect(ms).toBeGreaterThanOrEqual(8 * 60_000)
      expect(ms).toBeLessThanOrEqual(12 * 60_000)
    }
    expect(millis(CalendarActor.nextDelay(config, ok, 0, 0))).toBe(8 * 60_000)
  })

  it("backs off exponentially with jitter, capped", () => {
    const upper = (failures: number) => millis(CalendarActor.nextDelay(config, transient, failures, 1))
    const lower = (failures: number) => millis(CalendarActor.nextDelay(config, transient, failures, 0))
    expect(upper(1)).toBe(30_000)
    expect(upper(2)).toBe(60_000)
    expect(upper(3)).toBe(120_000)
    expect(lower(3)).toBe(60_000)
    expect(upper(20)).toBe(30 * 60_000)
  })

  it("waits exactly as long as Retry-After says", () => {
    const limited: CalendarActor.PollOutcome = {
      _tag: "Failed",
      error: new ProviderError.RateLimited({ calendar: "A", retryAfterMillis: 120_000 })
    }
    expect(millis(CalendarActor.nextDelay(config, limited, 1, 0.3))).toBe(120_000)
  })

  it("parks on refused credentials", () => {
    const refused: CalendarActor.PollOutcome = {
      _tag: "Failed",
      error: new ProviderError.Unauthorized({ calendar: "A", detail: "401" })
    }
    expect(CalendarActor.nextDelay(config, refused, 1, 0.5)._tag).toBe("Park")
  })
})

describe("the actor loop under TestClock", () => {
  const start = (
    poll: (
      reconcile: boolean,
      schedule: CalendarActor.PollSchedule
    ) => Effect.Effect<SyncCycle.CycleReport, ProviderError.PollError>
  ) =>
    Effect.gen(function* () {
      const { actor, loop } = yield* CalendarActor.make({ calendarId: "A", config, poll })
      const fiber = yield* Effect.fork(loop.pipe(Effect.withRandom(Random.make("fixed-seed"))))
      return { actor, fiber }
    })

  it.effect("polls once per jittered interval, and a wake polls at once", () =>
    Effect.gen(function* () {
      const polls = yield* Ref.make<Array<number>>([])
      const { actor, fiber } = yield* start(() =>
        Effect.gen(function* () {
          const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
          yield* Ref.update(polls, (p) => [...p, now])
          return report
        })
      )
      yield* TestClock.adjust(Duration.hours(1))
      const times = yield* Ref.get(polls)
      // 60 minutes at 8 to 12 minutes apart: between 5 and 8 polls after the first.
      expect(times.length).toBeGreaterThanOrEqual(6)
      expect(times.length).toBeLessThanOrEqual(9)
      for (let i = 1; i < times.length; i++) {
        const gap = (times[i] ?? 0) - (times[i - 1] ?? 0)
        expect(gap).toBeGreaterThanOrEqual(8 * 60_000)
        expect(gap).toBeLessThanOrEqual(12 * 60_000)
      }
      const before = times.length
      yield* actor.wake
      yield* TestClock.adjust(Duration.millis(1))
      expect((yield* Ref.get(polls)).length).toBe(before + 1)
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect(
    "a poll is told when the next one comes if it works, and the next comes then, told it was due then",
    () =>
      Effect.gen(function* () {
        const seen = yield* Ref.make<Array<{ at: number; schedule: CalendarActor.PollSchedule }>>([])
        const { fiber } = yield* start((_, schedule) =>
          Effect.gen(function* () {
            const at = yield* Effect.clockWith((c) => c.currentTimeMillis)
            yield* Ref.update(seen, (s) => [...s, { at, schedule }])
            // The poll takes time; the cadence is kept from its start, not from its end.
            yield* Effect.sleep(Duration.seconds(7))
            return report
          })
        )
        yield* TestClock.adjust(Duration.hours(1))
        const polls = yield* Ref.get(seen)
        expect(polls.length).toBeGreaterThanOrEqual(5)
        for (let i = 1; i < polls.length; i++) {
          const previous = polls[i - 1]
          const current = polls[i]
          if (previous === undefined || current === undefined) throw new Error("no poll")
          const gap = previous.schedule.nextIfOk - previous.at
          expect(gap).toBeGreaterThanOrEqual(8 * 60_000)
          expect(gap).toBeLessThanOrEqual(12 * 60_000)
          expect(current.at).toBe(previous.schedule.nextIfOk)
        }
        yield* Fiber.interrupt(fiber)
      })
  )

  it.effect("waits out its first delay, and a wake in it is answered by one poll, not two", () =>
    Effect.gen(function* () {
      const times = yield* Ref.make<Array<number>>([])
      const poll = () =>
        Effect.gen(function* () {
          const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
          yield* Ref.update(times, (p) => [...p, now])
          return report
        })
      const late = yield* CalendarActor.make({
        calendarId: "A",
        config,
        poll,
        firstDelay: Duration.minutes(3)
      })
      const lateFiber = yield* Effect.fork(late.loop.pipe(Effect.withRandom(Random.make("fixed-seed"))))
      yield* TestClock.adjust(Duration.seconds(179))
      expect(yield* Ref.get(times)).toEqual([])
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Ref.get(times)).toEqual([180_000])
      yield* Fiber.interrupt(lateFiber)

      // Woken a minute into its first delay: it polls then, once.
      yield* Ref.set(times, [])
      const now = Effect.clockWith((c) => c.currentTimeMillis)
      const bStart = yield* now
      const woken = yield* CalendarActor.make({
        calendarId: "B",
        config,
        poll,
        firstDelay: Duration.minutes(3)
      })
      const wokenFiber = yield* Effect.fork(woken.loop.pipe(Effect.withRandom(Random.make("fixed-seed"))))
      yield* TestClock.adjust(Duration.minutes(1))
      yield* woken.actor.wake
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* Ref.get(times)).toEqual([bStart + 60_000])
      yield* Fiber.interrupt(wokenFiber)

      // Without a first delay, a wake before the loop runs is answered by its first poll, not by a second one.
      yield* Ref.set(times, [])
      const cStart = yield* now
      const eager = yield* CalendarActor.make({ calendarId: "C", config, poll })
      yield* eager.actor.wake
      const eagerFiber = yield* Effect.fork(eager.loop.pipe(Effect.withRandom(Random.make("fixed-seed"))))
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* Ref.get(times)).toEqual([cStart])
      yield* Fiber.interrupt(eagerFiber)
    })
  )

  it.effect("honours Retry-After, then resumes the cadence", () =>
    Effect.gen(function* () {
      const polls = yield* Ref.make<Array<number>>([])
      const { fiber } = yield* start(() =>
        Effect.gen(function* () {
          const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
          const n = (yield* Ref.updateAndGet(polls, (p) => [...p, now])).length
          return n === 1
            ? yield* Effect.fail(new ProviderError.RateLimited({ calendar: "A", retryAfterMillis: 90_000 }))
            : report
        })
      )
      yield* TestClock.adjust(Duration.seconds(89))
      expect((yield* Ref.get(polls)).length).toBe(1)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Ref.get(polls)).toEqual([0, 90_000])
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect("a parked calendar stays quiet until woken", () =>
    Effect.gen(function* () {
      const count = yield* Ref.make(0)
      const { actor, fiber } = yield* start(() =>
        Ref.updateAndGet(count, (n) => n + 1).pipe(
          Effect.flatMap((n) =>
            n === 1
              ? Effect.fail(new ProviderError.Unauthorized({ calendar: "A", detail: "401" }))
              : Effect.succeed(report)
          )
        )
      )
      yield* TestClock.adjust(Duration.days(2))
      expect(yield* Ref.get(count)).toBe(1)
      expect((yield* actor.status).parked).toBe(true)
      yield* actor.wake
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Ref.get(count)).toBe(2)
      expect((yield* actor.status).parked).toBe(false)
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect("a defect is survived with backoff and never ends the loop", () =>
    Effect.gen(function* () {
      const count = yield* Ref.make(0)
      const { actor, fiber } = yield* start(() =>
        Ref.updateAndGet(count, (n) => n + 1).pipe(
          Effect.flatMap((n) => (n <= 2 ? Effect.die(new Error("bug")) : Effect.succeed(report)))
        )
      )
      yield* TestClock.adjust(Duration.minutes(3))
      expect(yield* Ref.get(count)).toBe(3)
      const status = yield* actor.status
      expect(status.failures).toBe(0)
      expect(Option.map(status.lastOutcome, (o) => o._tag)).toEqual(Option.some("Ok"))
      yield* Fiber.interrupt(fiber)
    })
  )

  it.effect("asks for a full reconcile on the first poll and then once per reconcile period", () =>
    Effect.gen(function* () {
      const asks = yield* Ref.make<Array<boolean>>([])
      const { fiber } = yield* start((reconcile) =>
        Ref.update(asks, (a) => [...a, reconcile]).pipe(Effect.as(report))
      )
      yield* TestClock.adjust(Duration.hours(25))
      const seen = yield* Ref.get(asks)
      expect(seen[0]).toBe(true)
      expect(seen.filter(Boolean).length).toBe(2)
      yield* Fiber.interrupt(fiber)
    })
  )
})
