/**
 * Which exchanges may be sent again after a transient failure, and when. One transient fault
 * (a reset, a timeout, a 5xx, a 429/503 with a short Retry-After) used to end a whole poll; a
 * few bounded retries inside the request let the poll go on.
 *
 * Only requests whose repetition cannot change the outcome are retried: safe methods (GET,
 * PROPFIND, REPORT, …) and conditional writes. A conditional write whose first attempt landed
 * meets its own precondition on the second (412: If-None-Match: * finds the resource, If-Match
 * finds a new etag; a DELETE finds nothing, 404), which the engine reads as "already done" or as
 * a race it refetches. An unconditional write is never repeated: it could overwrite or duplicate.
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type { ProtocolError, Transient } from "../CalDavError.js"
import * as RetryAfter from "./retryAfter.js"

export interface RetryPolicy {
  /** Attempts per request, the first included; 1 turns retrying off. */
  readonly attempts: number
  /** Ceiling of the first backoff; it doubles on each retry, with full jitter (0 to the ceiling). */
  readonly baseDelay: Duration.Duration
  /** Longest Retry-After waited out within a request; a longer one is the caller's RateLimited. */
  readonly maxRetryAfter: Duration.Duration
}

export const defaultPolicy: RetryPolicy = {
  attempts: 3,
  baseDelay: Duration.millis(200),
  maxRetryAfter: Duration.seconds(10)
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS", "PROPFIND", "REPORT"])
const conditionalMethods = new Set(["PUT", "DELETE"])

/** Whether sending the request twice has the effect of sending it once (or fails its precondition). */
export const repeatable = (
  method: string,
  headers: Readonly<Record<string, string>> | undefined
): boolean => {
  const m = method.toUpperCase()
  if (safeMethods.has(m)) return true
  if (!conditionalMethods.has(m)) return false
  return Object.keys(headers ?? {}).some((k) => {
    const name = k.toLowerCase()
    return name === "if-match" || name === "if-none-match"
  })
}

/** Statuses that say "not now" rather than "not this": the same request may succeed later. */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504])

export const retryableStatus = (status: number): boolean => retryableStatuses.has(status)

/** An answer worth asking again for; carried through the retry, handed back when retries run out. */
export class RetryableAnswer<R> extends Data.TaggedError("RetryableAnswer")<{
  readonly response: R
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

export const answer = <R extends { readonly headers: Readonly<Record<string, string | undefined>> }>(
  response: R,
  now: number
): RetryableAnswer<R> =>
  new RetryableAnswer({ response, retryAfter: RetryAfter.parse(response.headers["retry-after"], now) })

export type Failure<R> = Transient | RetryableAnswer<R>

/** Whether to try again: a transport failure, or an answer whose Retry-After (if any) is short enough. */
export const worthRetrying =
  (policy: RetryPolicy) =>
  <R>(e: Failure<R> | ProtocolError): boolean => {
    if (e._tag === "Transient") return true
    if (e._tag !== "RetryableAnswer") return false
    return Option.match(e.retryAfter, {
      onNone: () => true,
      onSome: (d) => Duration.lessThanOrEqualTo(d, policy.maxRetryAfter)
    })
  }

/**
 * Exponential backoff with full jitter, at most `attempts - 1` retries, and never sooner than the
 * server's Retry-After (intersect takes the longer of the two delays).
 */
export const schedule = <R>(policy: RetryPolicy) =>
  Schedule.exponential(policy.baseDelay, 2).pipe(
    Schedule.jitteredWith({ min: 0, max: 1 }),
    Schedule.intersect(Schedule.recurs(Math.max(0, policy.attempts - 1))),
    Schedule.intersect(
      Schedule.identity<Failure<R> | ProtocolError>().pipe(
        Schedule.addDelay((e) =>
          e._tag === "RetryableAnswer" ? Option.getOrElse(e.retryAfter, () => Duration.zero) : Duration.zero
        )
      )
    )
  )
