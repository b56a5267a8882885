/**
 * A conditional write with its one retry, as docs/design.md gives every write: write against the
 * version we know; when that loses a race (EtagMismatch), read the item again and write against
 * the version now there, once. A second loss is the caller's conflict to record; an item gone by
 * the time we look again is the caller's to settle (`onGone`). Shared by the sync cycle and the
 * server's bookings, so the rule has one spelling.
 */
import { Effect, type Option } from "effect"
import type { EtagMismatch } from "./ProviderError.js"

export const retryOnce = <S, A, E, R, E2, R2, A3, E3, R3>(options: {
  /** The state we believe the item is in (its version, and whatever the write is computed from). */
  readonly known: S
  /** One conditional write against a state; EtagMismatch when the item is no longer in it. */
  readonly attempt: (state: S) => Effect.Effect<A, E | EtagMismatch, R>
  /** The item's state now, read again after a lost race; none when it is gone. */
  readonly refetch: Effect.Effect<Option.Option<S>, E2, R2>
  /** What to do when the refetch finds nothing. */
  readonly onGone: Effect.Effect<A3, E3, R3>
}): Effect.Effect<A | A3, E | E2 | E3 | EtagMismatch, R | R2 | R3> => {
  const again: Effect.Effect<A | A3, E | E2 | E3 | EtagMismatch, R | R2 | R3> = Effect.flatMap(
    options.refetch,
    (now): Effect.Effect<A | A3, E | E3 | EtagMismatch, R | R3> =>
      now._tag === "None" ? options.onGone : options.attempt(now.value)
  )
  const first: Effect.Effect<A | A3, E | E2 | E3 | EtagMismatch, R | R2 | R3> = options.attempt(options.known)
  return Effect.catchIf(first, isEtagMismatch, () => again)
}

const isEtagMismatch = (e: unknown): e is EtagMismatch =>
  typeof e === "object" && e !== null && "_tag" in e && e._tag === "EtagMismatch"
