/**
 * Reading the instants and zones that API clients send. `new Date(text)` alone accepts too much
 * (February 30 rolls over into March, a missing offset silently means the server's zone), and a
 * booking tool that sent either would book the wrong time; so an instant must be ISO 8601 with
 * `Z` or an offset, and every field must be in range.
 */
import { Either } from "effect"
import type { Field, RequestProblem } from "./SchedulingError.js"

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})$/i

const DAY_MS = 86_400_000

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** `text` as an instant, or the problem with it, naming `field`. */
export const instant = (field: Field, text: string | undefined): Either.Either<Date, RequestProblem> => {
  if (text === undefined || text.trim() === "") return Either.left({ reason: "Required", field })
  const m = ISO.exec(text.trim())
  if (m === null) return Either.left({ reason: "NotAnInstant", field, given: text })
  const [, y, mo, d, h, mi, s, frac, offset] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s ?? "0")
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return Either.left({ reason: "NotARealTime", field, given: text })
  let offsetMinutes = 0
  if (offset !== undefined && offset.toUpperCase() !== "Z") {
    const oh = Number(offset.slice(1, 3))
    const om = Number(offset.slice(4, 6))
    if (oh > 18 || om > 59) return Either.left({ reason: "NotAnOffset", field, given: offset })
    offsetMinutes = (offset.startsWith("-") ? -1 : 1) * (oh * 60 + om)
  }
  const millis = Math.round(Number(`0.${frac ?? "0"}`) * 1000)
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offsetMinutes * 60_000
  return Either.right(new Date(utc))
}

/** Whether the platform knows the IANA zone. */
export const isZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

export interface Window {
  readonly start: Date
  readonly end: Date
}

/**
 * A time range: both ends valid, the end after the start, and at most `maxDays` long; every
 * problem at once, so a client fixes them in one go.
 */
export const window = (
  startText: string | undefined,
  endText: string | undefined,
  maxDays: number
): Either.Either<Window, ReadonlyArray<RequestProblem>> => {
  const start = instant("start", startText)
  const end = instant("end", endText)
  const problems: Array<RequestProblem> = []
  if (Either.isLeft(start)) problems.push(start.left)
  if (Either.isLeft(end)) problems.push(end.left)
  if (Either.isRight(start) && Either.isRight(end)) {
    const span = end.right.getTime() - start.right.getTime()
    if (span <= 0) problems.push({ reason: "EndNotAfterStart", field: "end" })
    else if (span > maxDays * DAY_MS) problems.push({ reason: "RangeTooLong", field: "end", maxDays })
    if (problems.length === 0) return Either.right({ start: start.right, end: end.right })
  }
  return Either.left(problems)
}
