/**
 * A deliberately simple recurrence expander for a subset of RFC 5545 (FREQ=DAILY or WEEKLY,
 * INTERVAL, COUNT or UNTIL, BYDAY without ordinals, WKST=MO), walking day by day. It shares
 * no code with the engine, zone arithmetic included.
 */

export interface SimpleRule {
  readonly freq: "DAILY" | "WEEKLY"
  readonly interval: number
  readonly count?: number
  /** UNTIL as an instant (ms). */
  readonly until?: number
  /** 0 = Monday ... 6 = Sunday */
  readonly byday?: ReadonlyArray<number>
}

export interface SimpleStart {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  /** "UTC" or an IANA zone */
  readonly zone: string
}

const DAY = 86_400_000

const formats = new Map<string, Intl.DateTimeFormat>()

const formatFor = (zone: string): Intl.DateTimeFormat => {
  const existing = formats.get(zone)
  if (existing !== undefined) return existing
  const f = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric"
  })
  formats.set(zone, f)
  return f
}

const offsetOf = (zone: string, utc: number): number => {
  if (zone === "UTC") return 0
  const parts = formatFor(zone).formatToParts(new Date(utc))
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0)
  return Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second")) - utc
}

/** Wall time in a zone to an instant (times inside a DST gap are not expected here). */
export const toInstant = (zone: string, wall: number): number => {
  let guess = wall - offsetOf(zone, wall)
  guess = wall - offsetOf(zone, guess)
  return guess
}

const weekday = (dayNumber: number): number => (((dayNumber + 3) % 7) + 7) % 7 // 1970-01-01 was a Thursday

/** Start instants of every occurrence starting before `end` (ms), in order. */
export const expand = (rule: SimpleRule, start: SimpleStart, end: number): ReadonlyArray<number> => {
  const startDay = Math.floor(Date.UTC(start.year, start.month - 1, start.day) / DAY)
  const weekStart = startDay - weekday(startDay)
  const timeOfDay = (start.hour * 60 + start.minute) * 60_000
  const days = rule.byday ?? (rule.freq === "WEEKLY" ? [weekday(startDay)] : undefined)
  const out: Array<number> = []
  for (let d = startDay; ; d++) {
    const instant = toInstant(start.zone, d * DAY + timeOfDay)
    if (instant >= end) break
    if (rule.until !== undefined && instant > rule.until) break
    if (rule.count !== undefined && out.length >= rule.count) break
    const inPeriod =
      rule.freq === "DAILY"
        ? (d - startDay) % rule.interval === 0
        : Math.floor((d - weekStart) / 7) % rule.interval === 0
    if (inPeriod && (days === undefined || days.includes(weekday(d)))) out.push(instant)
  }
  return out
}
