/** What every handler needs at its edge: store failures become a 500 whose detail stays in the log. */
import type { SyncStore } from "@almanac/core"
import { Effect, Option } from "effect"
import { InternalError } from "../ApiError.js"

export const orInternal = <A, E, R>(
  effect: Effect.Effect<A, E | SyncStore.StoreError, R>
): Effect.Effect<A, Exclude<E, SyncStore.StoreError> | InternalError, R> =>
  Effect.catchIf(
    effect,
    (e): e is SyncStore.StoreError =>
      typeof e === "object" && e !== null && "_tag" in e && e._tag === "StoreError",
    (e) =>
      Effect.logError("store failure", e.operation, e.detail).pipe(
        Effect.zipRight(
          Effect.fail(new InternalError({ message: `the server could not ${e.operation}; try again` }))
        )
      )
  ) as Effect.Effect<A, Exclude<E, SyncStore.StoreError> | InternalError, R>

export const iso = (millis: number): string => new Date(millis).toISOString()
export const isoOrNull = (millis: Option.Option<number>): string | null =>
  Option.match(millis, { onNone: () => null, onSome: iso })
