/**
 * Wall-clock timing and medians.
 */
import { performance } from "node:perf_hooks"
import { Effect } from "effect"

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const hi = sorted[mid] ?? Number.NaN
  const lo = sorted[mid - 1] ?? hi
  return sorted.length % 2 === 1 ? hi : (lo + hi) / 2
}

/** Runs `f` once and returns its result with the elapsed milliseconds. */
export const timeSync = <A>(f: () => A): { readonly value: A; readonly ms: number } => {
  const start = performance.now()
  const value = f()
  return { value, ms: performance.now() - start }
}

/** The effect with its elapsed wall milliseconds. */
export const timed = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<{ readonly value: A; readonly ms: number }, E, R> =>
  Effect.suspend(() => {
    const start = performance.now()
    return Effect.map(effect, (value) => ({ value, ms: performance.now() - start }))
  })
