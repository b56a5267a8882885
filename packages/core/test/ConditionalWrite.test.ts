import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { ConditionalWrite, ProviderError } from "../src/index.js"

/** An item whose version moves under us `races` times before a write can land. */
const item = (races: number, gone = false) => {
  let version = "v1"
  let left = races
  const tried: Array<string> = []
  return {
    tried,
    write: (at: string) =>
      Effect.suspend(() => {
        tried.push(at)
        if (at !== version || left > 0) {
          if (left > 0) {
            left--
            version = `${version}'`
          }
          return Effect.fail(new ProviderError.EtagMismatch({ ref: "r" }))
        }
        return Effect.succeed(`written at ${at}`)
      }),
    current: Effect.sync(() => (gone ? Option.none() : Option.some(version)))
  }
}

describe("ConditionalWrite.retryOnce", () => {
  it.effect("writes at the known version when nothing moved", () =>
    Effect.gen(function* () {
      const i = item(0)
      const r = yield* ConditionalWrite.retryOnce({
        known: "v1",
        attempt: i.write,
        refetch: i.current,
        onGone: Effect.succeed("gone")
      })
      expect(r).toBe("written at v1")
      expect(i.tried).toEqual(["v1"])
    })
  )

  it.effect("after a lost race, reads the version again and retries once", () =>
    Effect.gen(function* () {
      const i = item(1)
      const r = yield* ConditionalWrite.retryOnce({
        known: "v1",
        attempt: i.write,
        refetch: i.current,
        onGone: Effect.succeed("gone")
      })
      expect(r).toBe("written at v1'")
      expect(i.tried).toEqual(["v1", "v1'"])
    })
  )

  it.effect("a second lost race is the caller's EtagMismatch, with no third try", () =>
    Effect.gen(function* () {
      const i = item(2)
      const e = yield* Effect.flip(
        ConditionalWrite.retryOnce({
          known: "v1",
          attempt: i.write,
          refetch: i.current,
          onGone: Effect.succeed("gone")
        })
      )
      expect(e._tag).toBe("EtagMismatch")
      expect(i.tried).toHaveLength(2)
    })
  )

  it.effect("an item gone when read again is settled by onGone", () =>
    Effect.gen(function* () {
      const i = item(1, true)
      const r = yield* ConditionalWrite.retryOnce({
        known: "v1",
        attempt: i.write,
        refetch: i.current,
        onGone: Effect.succeed("gone")
      })
      expect(r).toBe("gone")
      expect(i.tried).toEqual(["v1"])
    })
  )
})
