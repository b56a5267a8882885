/**
 * The Graph fake's expander of `patternedRecurrence` (part of the FAKE, not of Almanac): the
 * dates a pattern and range give, as Graph documents them (recurrencepattern, recurrencerange,
 * outlook-schedule-recurring-events; docs/providers.md B.4). Dates only: the fake puts each
 * occurrence at the master's wall time in the master's zone.
 *
 * Choices where the documentation is silent, said here once:
 * - absoluteMonthly/absoluteYearly on a day the month lacks (31 in April, 29 February) fall on
 *   the month's last day, as Outlook warns when such a series is made ("the occurrence will fall
 *   on the last day of the month").
 * - A relative pattern with several daysOfWeek picks the index-th of all matching days of the
 *   month ("the event falls on the first day that satisfies the pattern" for `first`).
 * - `numbered` counts occurrences from the range's startDate, cancelled ones included.
 */

export interface CivilDate {
  readonly year: number
  readonly month: number
  readonly day: number
}

export const DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"] as const
export type Day = (typeof DAYS)[number]
const INDEXES = ["first", "second", "third", "fourth", "last"] as const
type Index = (typeof INDEXES)[number]
const PATTERNS = [
  "daily",
  "weekly",
  "absoluteMonthly",
  "relativeMonthly",
  "absoluteYearly",
  "relativeYearly"
] as const
type PatternType = (typeof PATTERNS)[number]

export interface Pattern {
  readonly type: PatternType
  readonly interval: number
  readonly daysOfWeek: ReadonlyArray<Day>
  readonly dayOfMonth: number
  readonly month: number
  readonly index: Index
  readonly firstDayOfWeek: Day
}

export interface Range {
  readonly type: "endDate" | "noEnd" | "numbered"
  readonly startDate: CivilDate
  readonly endDate: CivilDate | undefined
  readonly numberOfOccurrences: number
}

export interface Recurrence {
  readonly pattern: Pattern
  readonly range: Range
}

const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

export const parseDate = (text: unknown): CivilDate | undefined => {
  if (typeof text !== "string") return undefined
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (m === null) return undefined
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }
  const back = new Date(Date.UTC(d.year, d.month - 1, d.day))
  return back.getUTCFullYear() === d.year && back.getUTCMonth() === d.month - 1 && back.getUTCDate() === d.day
    ? d
    : undefined
}

export const formatDate = (d: CivilDate): string =>
  `${String(d.year).padStart(4, "0")}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`

/** Days since 1970-01-01. */
export const dayNumber = (d: CivilDate): number => Date.UTC(d.year, d.month - 1, d.day) / 86_400_000
export const fromDayNumber = (n: number): CivilDate => {
  const t = new Date(n * 86_400_000)
  return { year: t.getUTCFullYear(), month: t.getUTCMonth() + 1, day: t.getUTCDate() }
}
const weekday = (n: number): number => (((n + 4) % 7) + 7) % 7
const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** The recurrence as Graph would take it, or the reason it would refuse it (400). */
export const parse = (u: unknown): Recurrence | string => {
  if (!isObject(u) || !isObject(u.pattern) || !isObject(u.range))
    return "recurrence needs a pattern and a range"
  const p = u.pattern
  const r = u.range
  const type = PATTERNS.find((t) => t === p.type)
  if (type === undefined) return `unsupported pattern type ${String(p.type)}`
  if (typeof p.interval !== "number" || !Number.isInteger(p.interval) || p.interval < 1)
    return "pattern.interval must be a positive integer"
  const days = p.daysOfWeek ?? []
  if (!Array.isArray(days)) return "pattern.daysOfWeek must be a list"
  const daysOfWeek: Array<Day> = []
  for (const d of days) {
    const found = DAYS.find((x) => x === d)
    if (found === undefined) return `unsupported day ${String(d)}`
    daysOfWeek.push(found)
  }
  const index = INDEXES.find((x) => x === (p.index ?? "first"))
  if (index === undefined) return `unsupported index ${String(p.index)}`
  const firstDayOfWeek = DAYS.find((x) => x === (p.firstDayOfWeek ?? "sunday"))
  if (firstDayOfWeek === undefined) return `unsupported firstDayOfWeek ${String(p.firstDayOfWeek)}`
  const dayOfMonth = typeof p.dayOfMonth === "number" ? p.dayOfMonth : 0
  const month = typeof p.month === "number" ? p.month : 0
  const needsDays = type === "weekly" || type === "relativeMonthly" || type === "relativeYearly"
  if (needsDays && daysOfWeek.length === 0) return `${type} needs daysOfWeek`
  if ((type === "absoluteMonthly" || type === "absoluteYearly") && !(dayOfMonth >= 1 && dayOfMonth <= 31))
    return `${type} needs dayOfMonth 1-31`
  if ((type === "absoluteYearly" || type === "relativeYearly") && !(month >= 1 && month <= 12))
    return `${type} needs month 1-12`
  const rangeType = r.type === "endDate" || r.type === "noEnd" || r.type === "numbered" ? r.type : undefined
  if (rangeType === undefined) return `unsupported range type ${String(r.type)}`
  const startDate = parseDate(r.startDate)
  if (startDate === undefined) return "range.startDate must be a date"
  const endDate = parseDate(r.endDate)
  if (rangeType === "endDate" && (endDate === undefined || dayNumber(endDate) < dayNumber(startDate)))
    return "range.endDate must be a date on or after startDate"
  const count = r.numberOfOccurrences
  if (rangeType === "numbered" && !(typeof count === "number" && Number.isInteger(count) && count >= 1))
    return "range.numberOfOccurrences must be a positive integer"
  return {
    pattern: { type, interval: p.interval, daysOfWeek, dayOfMonth, month, index, firstDayOfWeek },
    range: {
      type: rangeType,
      startDate,
      endDate: rangeType === "endDate" ? endDate : undefined,
      numberOfOccurrences: typeof count === "number" ? count : 0
    }
  }
}

/** The index-th (or last) day of a month whose weekday is one of `days`. */
const relativeDay = (
  year: number,
  month: number,
  days: ReadonlyArray<Day>,
  index: Index
): number | undefined => {
  const first = dayNumber({ year, month, day: 1 })
  const matching: Array<number> = []
  for (let i = 0; i < daysIn(year, month); i++)
    if (days.includes(DAYS[weekday(first + i)] ?? "sunday")) matching.push(first + i)
  return index === "last" ? matching[matching.length - 1] : matching[INDEXES.indexOf(index)]
}

/** Candidate day numbers of the pattern, in order, unbounded (the caller stops). */
function* candidates(rec: Recurrence): Generator<number> {
  const { pattern: p, range } = rec
  const start = dayNumber(range.startDate)
  const { year: y0, month: m0 } = range.startDate
  switch (p.type) {
    case "daily":
      for (let k = 0; ; k++) yield start + k * p.interval
    case "weekly": {
      const fdw = DAYS.indexOf(p.firstDayOfWeek)
      const week0 = start - ((weekday(start) - fdw + 7) % 7)
      for (let w = 0; ; w++)
        for (let i = 0; i < 7; i++) {
          const n = week0 + w * 7 * p.interval + i
          if (p.daysOfWeek.includes(DAYS[weekday(n)] ?? "sunday")) yield n
        }
    }
    case "absoluteMonthly":
    case "relativeMonthly":
      for (let k = 0; ; k++) {
        const months = m0 - 1 + k * p.interval
        const year = y0 + Math.floor(months / 12)
        const month = (months % 12) + 1
        const n =
          p.type === "absoluteMonthly"
            ? dayNumber({ year, month, day: Math.min(p.dayOfMonth, daysIn(year, month)) })
            : relativeDay(year, month, p.daysOfWeek, p.index)
        if (n !== undefined) yield n
      }
    case "absoluteYearly":
    case "relativeYearly":
      for (let k = 0; ; k++) {
        const year = y0 + k * p.interval
        const n =
          p.type === "absoluteYearly"
            ? dayNumber({ year, month: p.month, day: Math.min(p.dayOfMonth, daysIn(year, p.month)) })
            : relativeDay(year, p.month, p.daysOfWeek, p.index)
        if (n !== undefined) yield n
      }
  }
}

/** The series' dates up to `until` (inclusive), in order, as the range bounds them. */
export const dates = (rec: Recurrence, until: CivilDate): ReadonlyArray<CivilDate> => {
  const start = dayNumber(rec.range.startDate)
  const last = Math.min(
    dayNumber(until),
    rec.range.endDate === undefined ? Number.POSITIVE_INFINITY : dayNumber(rec.range.endDate)
  )
  const out: Array<CivilDate> = []
  let counted = 0
  for (const n of candidates(rec)) {
    if (n > last) break
    if (n < start) continue
    counted += 1
    if (rec.range.type === "numbered" && counted > rec.range.numberOfOccurrences) break
    out.push(fromDayNumber(n))
    // A guard against a runaway loop in the fake itself; no test series comes near it.
    if (out.length > 20_000) break
  }
  return out
}
