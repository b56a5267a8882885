/**
 * RFC 5545 RRULE ⇄ Graph `patternedRecurrence`, for what both can say, exactly.
 *
 * A series is read in its own zone: the pattern's days are days there, and so are the range's
 * `startDate` and `endDate` (Graph's `recurrenceTimeZone`). Each direction gives one spelling,
 * so that rule → pattern → rule is the rule `normalize` keeps (the content hash sees the text).
 * What a pattern cannot say is refused with a reason a person can read; nothing is approximated.
 *
 * Two Outlook habits are modelled rather than refused (MS-OXOCAL, and Outlook's documented
 * RecurrencePattern.DayOfMonth): a monthly repeat on day 29–31 falls on the last day of shorter
 * months, and a yearly one on 29 February falls on the 28th in other years. iCalendar says those
 * as `BYMONTHDAY=28,29,30;BYSETPOS=-1` (or `BYMONTHDAY=-1` for 31); a plain `BYMONTHDAY=31`, which
 * skips short months, is refused.
 */
import * as Civil from "@almanac/core/internal/Civil"
import * as Either from "effect/Either"
import * as Zones from "./Zones.js"

// Structural copies of GraphCodec's wire types (the codec's Schemas check the real ones).
export type Day = "sunday" | "monday" | "tuesday" | "wednesday" | "thursday" | "friday" | "saturday"
export type Index = "first" | "second" | "third" | "fourth" | "last"

export interface Pattern {
  readonly type:
    | "daily"
    | "weekly"
    | "absoluteMonthly"
    | "relativeMonthly"
    | "absoluteYearly"
    | "relativeYearly"
  readonly interval: number
  readonly month?: number | undefined
  readonly dayOfMonth?: number | undefined
  readonly daysOfWeek?: ReadonlyArray<Day> | undefined
  readonly firstDayOfWeek?: Day | undefined
  readonly index?: Index | undefined
}

export interface Range {
  readonly type: "endDate" | "noEnd" | "numbered"
  readonly startDate: string
  readonly endDate?: string | null | undefined
  readonly numberOfOccurrences?: number | undefined
  readonly recurrenceTimeZone?: string | null | undefined
}

export interface Recurrence {
  readonly pattern: Pattern
  readonly range: Range
}

/**
 * Where a series starts: its first start's wall time in its zone (`zone` is an IANA name, or
 * undefined for an all-day series, whose days are no zone's).
 */
export interface Start {
  readonly wall: Civil.Fields
  readonly allDay: boolean
  readonly zone: string
}

type Code = "SU" | "MO" | "TU" | "WE" | "TH" | "FR" | "SA"
const CODES: ReadonlyArray<Code> = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]
const DAYS: ReadonlyArray<Day> = [
  "sunday",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday"
]
/** Monday first, the order Almanac writes BYDAY and daysOfWeek in. */
const WEEK_ORDER = [1, 2, 3, 4, 5, 6, 0]

const dayNumber = (d: Day): number => DAYS.indexOf(d)
const codeNumber = (c: string): number => CODES.indexOf(c as Code)

const INDEXES: ReadonlyArray<readonly [Index, number]> = [
  ["first", 1],
  ["second", 2],
  ["third", 3],
  ["fourth", 4],
  ["last", -1]
]
const indexOf = (n: number): Index | undefined => INDEXES.find(([, v]) => v === n)?.[0]
const ordinalOf = (i: Index): number => INDEXES.find(([k]) => k === i)?.[1] ?? 1

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
]

const weekday = (f: Pick<Civil.Fields, "year" | "month" | "day">): number =>
  new Date(Civil.toWallMs({ ...f, hour: 0, minute: 0, second: 0 })).getUTCDay()

const plusDays = (
  f: Pick<Civil.Fields, "year" | "month" | "day">,
  days: number
): Pick<Civil.Fields, "year" | "month" | "day"> => {
  const w = Civil.fromWallMs(Civil.toWallMs({ ...f, hour: 0, minute: 0, second: 0 }) + days * Civil.DAY_MS)
  return { year: w.year, month: w.month, day: w.day }
}

/** The day of `month` that is the `ordinal`-th (1..4, or -1 for the last) of `days`. */
const relativeDay = (
  year: number,
  month: number,
  days: ReadonlySet<number>,
  ordinal: number
): number | undefined => {
  const matching: Array<number> = []
  for (let d = 1; d <= Civil.daysInMonth(year, month); d++) {
    if (days.has(weekday({ year, month, day: d }))) matching.push(d)
  }
  return ordinal === -1 ? matching[matching.length - 1] : matching[ordinal - 1]
}

/** Outlook's absolute day: the day, or the month's last when it has fewer days. */
const outlookDay = (year: number, month: number, dayOfMonth: number): number =>
  Math.min(dayOfMonth, Civil.daysInMonth(year, month))

// ---------------------------------------------------------------------------------------------
// RRULE → pattern

interface Parts {
  readonly freq: string
  readonly interval: number
  readonly count: number | undefined
  readonly until: string | undefined
  readonly byday: ReadonlyArray<{ readonly ordinal: number | undefined; readonly day: number }> | undefined
  readonly bymonthday: ReadonlyArray<number> | undefined
  readonly bymonth: ReadonlyArray<number> | undefined
  readonly bysetpos: ReadonlyArray<number> | undefined
  readonly wkst: number | undefined
}

const KNOWN = new Set([
  "FREQ",
  "INTERVAL",
  "COUNT",
  "UNTIL",
  "BYDAY",
  "BYMONTHDAY",
  "BYMONTH",
  "BYSETPOS",
  "WKST"
])

const UNSAYABLE: Record<string, string> = {
  BYHOUR: "Outlook cannot repeat an event at several hours of a day",
  BYMINUTE: "Outlook cannot repeat an event at several minutes of an hour",
  BYSECOND: "Outlook cannot repeat an event at several seconds of a minute",
  BYWEEKNO: "Outlook cannot repeat an event in numbered weeks of the year",
  BYYEARDAY: "Outlook cannot repeat an event on numbered days of the year"
}

const FREQ_UNSAYABLE: Record<string, string> = {
  HOURLY: "Outlook cannot repeat an event every hour",
  MINUTELY: "Outlook cannot repeat an event every minute",
  SECONDLY: "Outlook cannot repeat an event every second"
}

const integers = (text: string): ReadonlyArray<number> | undefined => {
  const out = text.split(",").map((x) => (/^[+-]?\d+$/.test(x.trim()) ? Number(x.trim()) : Number.NaN))
  return out.every(Number.isInteger) ? out : undefined
}

const parse = (rule: string): Either.Either<Parts, string> => {
  const map = new Map<string, string>()
  for (const part of rule.split(";")) {
    const p = part.trim()
    if (p === "") continue
    const eq = p.indexOf("=")
    if (eq <= 0) return Either.left(`"${p}" in the rule is not NAME=VALUE`)
    const name = p.slice(0, eq).toUpperCase()
    if (map.has(name)) return Either.left(`the rule has ${name} twice`)
    map.set(name, p.slice(eq + 1).toUpperCase())
  }
  for (const name of map.keys()) {
    if (KNOWN.has(name)) continue
    return Either.left(UNSAYABLE[name] ?? `Outlook has no equivalent of ${name} in a repeating rule`)
  }
  const freq = map.get("FREQ")
  if (freq === undefined) return Either.left("the rule has no FREQ")
  const intervalText = map.get("INTERVAL") ?? "1"
  const interval = /^\d+$/.test(intervalText) ? Number(intervalText) : Number.NaN
  if (!Number.isInteger(interval) || interval < 1)
    return Either.left(`INTERVAL=${intervalText} is not a count`)
  const countText = map.get("COUNT")
  const count = countText === undefined ? undefined : /^\d+$/.test(countText) ? Number(countText) : Number.NaN
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    return Either.left(`COUNT=${countText} is not a count`)
  }
  const until = map.get("UNTIL")
  if (count !== undefined && until !== undefined) {
    return Either.left("the rule has both COUNT and UNTIL, which RFC 5545 forbids")
  }
  let byday: Array<{ ordinal: number | undefined; day: number }> | undefined
  const bydayText = map.get("BYDAY")
  if (bydayText !== undefined) {
    byday = []
    for (const raw of bydayText.split(",")) {
      const m = /^([+-]?\d{1,2})?(SU|MO|TU|WE|TH|FR|SA)$/.exec(raw.trim())
      if (m === null) return Either.left(`BYDAY value "${raw}" is not a weekday`)
      byday.push({ ordinal: m[1] === undefined ? undefined : Number(m[1]), day: codeNumber(m[2] ?? "") })
    }
  }
  const listOf = (name: string): Either.Either<ReadonlyArray<number> | undefined, string> => {
    const text = map.get(name)
    if (text === undefined) return Either.right(undefined)
    const values = integers(text)
    return values === undefined
      ? Either.left(`${name}=${text} is not a list of numbers`)
      : Either.right(values)
  }
  return Either.gen(function* () {
    const wkstText = map.get("WKST")
    const wkst = wkstText === undefined ? undefined : codeNumber(wkstText)
    if (wkst !== undefined && wkst < 0) return yield* Either.left(`WKST=${wkstText} is not a weekday`)
    return {
      freq,
      interval,
      count,
      until,
      byday,
      bymonthday: yield* listOf("BYMONTHDAY"),
      bymonth: yield* listOf("BYMONTH"),
      bysetpos: yield* listOf("BYSETPOS"),
      wkst
    }
  })
}

const sortedDays = (days: Iterable<number>): ReadonlyArray<Day> => {
  const set = new Set(days)
  return WEEK_ORDER.filter((d) => set.has(d)).map((d) => DAYS[d] as Day)
}

/** The last days of a month Outlook means by an absolute day of 29–31: `28,…,d;BYSETPOS=-1`. */
const clampedDay = (bymonthday: ReadonlyArray<number>, bysetpos: ReadonlyArray<number> | undefined) => {
  if (bymonthday.length === 1 && bymonthday[0] === -1 && bysetpos === undefined) return 31
  if (bysetpos === undefined || bysetpos.length !== 1 || bysetpos[0] !== -1) return undefined
  const sorted = [...bymonthday].sort((a, b) => a - b)
  const last = sorted[sorted.length - 1] ?? 0
  if (last < 29 || last > 31) return undefined
  const expected = Array.from({ length: last - 27 }, (_, i) => 28 + i)
  return sameJson(sorted, expected) ? last : undefined
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

interface Relative {
  readonly index: Index
  readonly days: ReadonlyArray<number>
}

/** BYDAY=2TU, or BYDAY=MO,TU,…;BYSETPOS=n: the n-th of a set of days in the month. */
const relativeOf = (p: Parts): Either.Either<Relative | undefined, string> => {
  if (p.byday === undefined) {
    // BYSETPOS with BYMONTHDAY is the absolute branch's (Outlook's last day of shorter months).
    return p.bysetpos === undefined || p.bymonthday !== undefined
      ? Either.right(undefined)
      : Either.left("BYSETPOS without weekdays to pick from, which Outlook cannot say")
  }
  const ordinals = p.byday.map((d) => d.ordinal)
  if (p.bysetpos === undefined) {
    if (p.byday.length !== 1 || ordinals[0] === undefined) {
      return Either.left(
        ordinals.some((o) => o !== undefined)
          ? "Outlook can repeat an event monthly on one numbered weekday only (like the second Tuesday)"
          : "Outlook cannot repeat an event on every such weekday of a month; a weekly repeat can"
      )
    }
    const index = indexOf(ordinals[0])
    if (index === undefined) {
      return Either.left(
        `Outlook can number a weekday of the month first to fourth, or last, not ${ordinals[0]}`
      )
    }
    return Either.right({ index, days: [p.byday[0]?.day ?? 0] })
  }
  if (ordinals.some((o) => o !== undefined)) {
    return Either.left("Outlook cannot combine numbered weekdays with BYSETPOS")
  }
  if (p.bysetpos.length !== 1)
    return Either.left("Outlook can pick one position of a month's days, not several")
  const index = indexOf(p.bysetpos[0] ?? 0)
  if (index === undefined) {
    return Either.left(
      `Outlook can pick the first to fourth, or the last, of a month's days, not ${p.bysetpos[0]}`
    )
  }
  return Either.right({ index, days: p.byday.map((d) => d.day) })
}

const untilDate = (
  until: string,
  start: Start
): Either.Either<Pick<Civil.Fields, "year" | "month" | "day">, string> => {
  const stamp = Civil.parseStamp(until)
  if (stamp === undefined) return Either.left(`UNTIL=${until} is not a date or time`)
  const f = stamp.fields
  const day = { year: f.year, month: f.month, day: f.day }
  if (start.allDay || !stamp.hasTime) return Either.right(day)
  // The last day with an occurrence at or before UNTIL: the day of UNTIL in the series' zone,
  // or the day before when that day's occurrence would start after UNTIL.
  const untilMs = stamp.utc ? Civil.toWallMs(f) : Zones.wallToUtc(start.zone, f)
  if (untilMs === undefined) return Either.left(`the zone ${start.zone} is not known`)
  const local = Zones.utcToWall(start.zone, untilMs)
  if (local === undefined) return Either.left(`the zone ${start.zone} is not known`)
  const localDay = { year: local.year, month: local.month, day: local.day }
  const occurrence = Zones.wallToUtc(start.zone, {
    ...localDay,
    hour: start.wall.hour,
    minute: start.wall.minute,
    second: start.wall.second
  })
  return Either.right(occurrence !== undefined && occurrence > untilMs ? plusDays(localDay, -1) : localDay)
}

const dayKey = (f: Pick<Civil.Fields, "year" | "month" | "day">): number =>
  Civil.toWallMs({ ...f, hour: 0, minute: 0, second: 0 })

/**
 * The pattern of `rule` for a series starting at `start`, with the range written in
 * `rangeZone` (the Windows name of the series' zone). Refused, with the reason, when a pattern
 * cannot say the rule, or when the series' first start is not one of the pattern's days (Outlook
 * would begin the series on the next such day instead).
 */
export const toRecurrence = (
  rule: string,
  start: Start,
  rangeZone: string
): Either.Either<Recurrence, string> =>
  Either.gen(function* () {
    const p = yield* parse(rule)
    const s = start.wall
    const startDay = { year: s.year, month: s.month, day: s.day }
    const freqReason = FREQ_UNSAYABLE[p.freq]
    if (freqReason !== undefined) return yield* Either.left(freqReason)
    const noMonthDay = (what: string) =>
      p.bymonthday === undefined
        ? Either.right(undefined)
        : Either.left(`Outlook cannot ${what} on days of the month`)
    const noMonth = (what: string) =>
      p.bymonth === undefined
        ? Either.right(undefined)
        : Either.left(`Outlook cannot ${what} in chosen months only`)
    let pattern: Pattern
    let onPattern: boolean
    switch (p.freq) {
      case "DAILY": {
        yield* noMonthDay("repeat an event daily")
        yield* noMonth("repeat an event daily")
        if (p.byday !== undefined || p.bysetpos !== undefined) {
          return yield* Either.left(
            "Outlook cannot repeat an event daily on chosen weekdays; a weekly repeat can"
          )
        }
        pattern = { type: "daily", interval: p.interval }
        onPattern = true
        break
      }
      case "WEEKLY": {
        yield* noMonthDay("repeat an event weekly")
        yield* noMonth("repeat an event weekly")
        if (p.bysetpos !== undefined)
          return yield* Either.left("Outlook cannot pick positions in a weekly repeat")
        if (p.byday?.some((d) => d.ordinal !== undefined)) {
          return yield* Either.left("numbered weekdays (like 2TU) mean nothing in a weekly repeat")
        }
        const days = p.byday === undefined ? [weekday(startDay)] : p.byday.map((d) => d.day)
        pattern = {
          type: "weekly",
          interval: p.interval,
          daysOfWeek: sortedDays(days),
          firstDayOfWeek: DAYS[p.wkst ?? 1] as Day
        }
        onPattern = days.includes(weekday(startDay))
        break
      }
      case "MONTHLY": {
        yield* noMonth("repeat an event monthly")
        const relative = yield* relativeOf(p)
        if (relative !== undefined) {
          if (p.bymonthday !== undefined) {
            return yield* Either.left("Outlook cannot combine weekdays and days of the month")
          }
          pattern = {
            type: "relativeMonthly",
            interval: p.interval,
            daysOfWeek: sortedDays(relative.days),
            index: relative.index
          }
          onPattern =
            relativeDay(s.year, s.month, new Set(relative.days), ordinalOf(relative.index)) === s.day
          break
        }
        const bymonthday = p.bymonthday ?? [s.day]
        const clamped = clampedDay(bymonthday, p.bysetpos)
        const day =
          clamped ?? (bymonthday.length === 1 && p.bysetpos === undefined ? bymonthday[0] : undefined)
        if (day === undefined)
          return yield* Either.left("Outlook can repeat an event monthly on one day of the month only")
        if (day < 1)
          return yield* Either.left("Outlook cannot count days from the end of the month, except the last")
        if (clamped === undefined && day > 28) {
          return yield* Either.left(
            `Outlook repeats a monthly event on day ${day} on the last day of shorter months, where this rule skips them`
          )
        }
        pattern = { type: "absoluteMonthly", interval: p.interval, dayOfMonth: day }
        onPattern = outlookDay(s.year, s.month, day) === s.day
        break
      }
      case "YEARLY": {
        if (p.bymonth !== undefined && p.bymonth.length !== 1) {
          return yield* Either.left("Outlook can repeat an event yearly in one month only")
        }
        const month = p.bymonth?.[0] ?? s.month
        if (month < 1 || month > 12) return yield* Either.left(`BYMONTH=${month} is not a month`)
        if (p.byday !== undefined && p.bymonth === undefined) {
          return yield* Either.left("Outlook cannot repeat an event on numbered weekdays of the year")
        }
        const relative = yield* relativeOf(p)
        if (relative !== undefined) {
          if (p.bymonthday !== undefined) {
            return yield* Either.left("Outlook cannot combine weekdays and days of the month")
          }
          pattern = {
            type: "relativeYearly",
            interval: p.interval,
            month,
            daysOfWeek: sortedDays(relative.days),
            index: relative.index
          }
          onPattern =
            s.month === month &&
            relativeDay(s.year, s.month, new Set(relative.days), ordinalOf(relative.index)) === s.day
          break
        }
        const bymonthday = p.bymonthday ?? [s.day]
        const clamped = month === 2 ? clampedDay(bymonthday, p.bysetpos) : undefined
        const day =
          clamped ?? (bymonthday.length === 1 && p.bysetpos === undefined ? bymonthday[0] : undefined)
        if (day === undefined || (clamped !== undefined && clamped !== 29)) {
          return yield* Either.left("Outlook can repeat an event yearly on one day of one month only")
        }
        if (day < 1 || day > Civil.daysInMonth(2000, month)) {
          return yield* Either.left(`${MONTHS[month - 1]} has no day ${day}`)
        }
        if (clamped === undefined && month === 2 && day === 29) {
          return yield* Either.left(
            "Outlook repeats a yearly event on 29 February on the 28th in other years, where this rule skips them"
          )
        }
        pattern = { type: "absoluteYearly", interval: p.interval, month, dayOfMonth: day }
        onPattern = s.month === month && outlookDay(s.year, month, day) === s.day
        break
      }
      default:
        return yield* Either.left(`FREQ=${p.freq} is not a frequency`)
    }
    // WKST is dropped outside a weekly rule: with the parts allowed here it changes nothing there.
    if (!onPattern) {
      return yield* Either.left(
        "the series' first time is not one of its repeating days; Outlook would move the series to the next such day"
      )
    }
    const startDate = Zones.formatDate(startDay)
    const base = { startDate, recurrenceTimeZone: rangeZone }
    let range: Range
    if (p.count !== undefined) range = { type: "numbered", numberOfOccurrences: p.count, ...base }
    else if (p.until !== undefined) {
      const end = yield* untilDate(p.until, start)
      if (dayKey(end) < dayKey(startDay)) return yield* Either.left("the rule ends before the series begins")
      range = { type: "endDate", endDate: Zones.formatDate(end), ...base }
    } else range = { type: "noEnd", ...base }
    return { pattern, range }
  })

// ---------------------------------------------------------------------------------------------
// pattern → RRULE

const codesOf = (days: ReadonlyArray<Day>): ReadonlyArray<string> =>
  WEEK_ORDER.filter((d) => days.includes(DAYS[d] as Day)).map((d) => CODES[d] as string)

const relativeParts = (index: Index, days: ReadonlyArray<Day>): ReadonlyArray<string> => {
  const codes = codesOf(days)
  return codes.length === 1
    ? [`BYDAY=${ordinalOf(index)}${codes[0]}`]
    : [`BYDAY=${codes.join(",")}`, `BYSETPOS=${ordinalOf(index)}`]
}

const absoluteDayParts = (day: number): ReadonlyArray<string> =>
  day === 31
    ? ["BYMONTHDAY=-1"]
    : day >= 29
      ? [`BYMONTHDAY=${Array.from({ length: day - 27 }, (_, i) => 28 + i).join(",")}`, "BYSETPOS=-1"]
      : [`BYMONTHDAY=${day}`]

/**
 * The RRULE of a pattern, for a series starting at `start` (its wall time in its zone). The
 * range's end date becomes an UNTIL at the end of that day in the series' zone (a DATE for an
 * all-day series). Refused, with the reason, when Graph's pattern is not one a person could have
 * made (a weekly pattern without days, a day the month does not have).
 */
export const toRule = (recurrence: Recurrence, start: Start): Either.Either<string, string> =>
  Either.gen(function* () {
    const { pattern, range } = recurrence
    if (!Number.isInteger(pattern.interval) || pattern.interval < 1) {
      return yield* Either.left(`the pattern's interval ${pattern.interval} is not a count`)
    }
    const parts: Array<string> = []
    const days = pattern.daysOfWeek ?? []
    const needDays = () =>
      days.length === 0
        ? Either.left(`a ${pattern.type} pattern without days of the week`)
        : Either.right(days)
    const monthOf = () =>
      pattern.month !== undefined &&
      Number.isInteger(pattern.month) &&
      pattern.month >= 1 &&
      pattern.month <= 12
        ? Either.right(pattern.month)
        : Either.left(`a ${pattern.type} pattern whose month ${pattern.month} is not a month`)
    const dayOf = (max: number) =>
      pattern.dayOfMonth !== undefined &&
      Number.isInteger(pattern.dayOfMonth) &&
      pattern.dayOfMonth >= 1 &&
      pattern.dayOfMonth <= max
        ? Either.right(pattern.dayOfMonth)
        : Either.left(`a ${pattern.type} pattern whose day ${pattern.dayOfMonth} is not a day of the month`)
    switch (pattern.type) {
      case "daily":
        parts.push("FREQ=DAILY")
        break
      case "weekly": {
        parts.push("FREQ=WEEKLY", `BYDAY=${codesOf(yield* needDays()).join(",")}`)
        const first = pattern.firstDayOfWeek ?? "sunday"
        if (first !== "monday") parts.push(`WKST=${CODES[dayNumber(first)]}`)
        break
      }
      case "absoluteMonthly":
        parts.push("FREQ=MONTHLY", ...absoluteDayParts(yield* dayOf(31)))
        break
      case "relativeMonthly":
        parts.push("FREQ=MONTHLY", ...relativeParts(pattern.index ?? "first", yield* needDays()))
        break
      case "absoluteYearly": {
        const month = yield* monthOf()
        const day = yield* dayOf(Civil.daysInMonth(2000, month))
        parts.push(
          "FREQ=YEARLY",
          `BYMONTH=${month}`,
          ...(month === 2 && day === 29 ? ["BYMONTHDAY=28,29", "BYSETPOS=-1"] : [`BYMONTHDAY=${day}`])
        )
        break
      }
      case "relativeYearly":
        parts.push(
          "FREQ=YEARLY",
          `BYMONTH=${yield* monthOf()}`,
          ...relativeParts(pattern.index ?? "first", yield* needDays())
        )
        break
    }
    if (pattern.interval > 1) parts.splice(1, 0, `INTERVAL=${pattern.interval}`)
    switch (range.type) {
      case "noEnd":
        break
      case "numbered": {
        const n = range.numberOfOccurrences
        if (n === undefined || !Number.isInteger(n) || n < 1) {
          return yield* Either.left(`a numbered range of ${n} occurrences`)
        }
        parts.push(`COUNT=${n}`)
        break
      }
      case "endDate": {
        const end =
          range.endDate === undefined || range.endDate === null ? undefined : Zones.parseDate(range.endDate)
        if (end === undefined)
          return yield* Either.left(`the range's end date "${range.endDate}" is not a date`)
        if (start.allDay) {
          parts.push(`UNTIL=${Zones.basicDate(end)}`)
          break
        }
        const last = Zones.wallToUtc(start.zone, { ...end, hour: 23, minute: 59, second: 59 })
        if (last === undefined) return yield* Either.left(`the zone ${start.zone} is not known`)
        parts.push(`UNTIL=${Zones.basicDateTime(Zones.fromWallMs(last))}Z`)
        break
      }
    }
    return parts.join(";")
  })
