import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export const parse = (value: string | undefined, now: number): Option.Option<Duration.Duration> => {
  if (value === undefined) return Option.none()
  const v = value.trim()
  if (/^\d+$/.test(v)) return Option.some(Duration.seconds(Number(v)))
  const at = Date.parse(v)
  if (Number.isNaN(at)) return Option.none()
  return Option.some(Duration.millis(Math.max(0, at - now)))
}
