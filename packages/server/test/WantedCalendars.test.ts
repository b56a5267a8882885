/**
 * The wanted set behind the question every starting entity asks: one read for many questions,
 * read again on `reload`, and a failed read not kept.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Ref } from "effect"
import * as WantedCalendars from "../src/WantedCalendars.js"

describe("WantedCalendars", () => {
  it.effect("answers a thousand concurrent questions with one read", () =>
    Effect.gen(function* () {
      const reads = yield* Ref.make(0)
      const wanted = yield* WantedCalendars.make(
        Ref.update(reads, (n) => n + 1).pipe(
          // Yields, so the other questions arrive while the read is under way.
          Effect.zipRight(Effect.yieldNow()),
          Effect.as(new Set(["a", "b"]) as ReadonlySet<string>)
        )
      )
      const ids = Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? "a" : i % 3 === 1 ? "b" : `x${i}`))
      const answers = yield* Effect.forEach(ids, (id) => wanted.has(id), { concurrency: "unbounded" })
      expect(yield* Ref.get(reads)).toBe(1)
      expect(answers.filter((a) => a).length).toBe(667)
    })
  )

  it.effect("reload reads again and later answers use the new set", () =>
    Effect.gen(function* () {
      const sets = yield* Ref.make<Array<ReadonlySet<string>>>([new Set(["a"]), new Set(["b"])])
      const reads = yield* Ref.make(0)
      const wanted = yield* WantedCalendars.make(
        Ref.update(reads, (n) => n + 1).pipe(
          Effect.zipRight(Ref.modify(sets, ([first, ...rest]) => [first ?? new Set<string>(), rest]))
        )
      )
      expect(yield* wanted.has("a")).toBe(true)
      expect(yield* wanted.has("b")).toBe(false)
      yield* wanted.reload
      expect(yield* wanted.has("a")).toBe(false)
      expect(yield* wanted.has("b")).toBe(true)
      expect(yield* Ref.get(reads)).toBe(2)
    })
  )

  it.effect("a failed read is not kept: the next question reads again", () =>
    Effect.gen(function* () {
      const reads = yield* Ref.make(0)
      const wanted = yield* WantedCalendars.make(
        Ref.updateAndGet(reads, (n) => n + 1).pipe(
          Effect.flatMap((n) => (n === 1 ? Effect.fail("down" as const) : Effect.succeed(new Set(["a"]))))
        )
      )
      expect(yield* Effect.flip(wanted.has("a"))).toBe("down")
      expect(yield* wanted.has("a")).toBe(true)
      expect(yield* Ref.get(reads)).toBe(2)
    })
  )
})
