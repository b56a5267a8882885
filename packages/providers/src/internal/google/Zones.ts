/**
 * IANA zone arithmetic on `Intl`, for Google's `dateTime` + `timeZone` pairs: an instant to the
 * wall clock of a zone and back. Core keeps its own zone code internal; this is the little the
 * Google codec (and its test fake) needs.
 */

export interface Wall {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
}

const formatters = new Map<string, Intl.DateTimeFormat | null>()

const formatterFor = (tzid: string): Intl.DateTimeFormat | null => {
  const cached = formatters.get(tzid)
  if (cached !== undefined) return cached
  let made: Intl.DateTimeFormat | null
  try {
    made = new Intl.DateTimeFormat("en-US", {
      timeZone: tzid,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      era: "short"
    })
  } catch {
    made = null
  }
  formatters.set(tzid, made)
  return made
}

/** Names Google accepts in `timeZone` are IANA names; `Intl` knows the same database. */
export const isKnown = (tzid: string): boolean => formatterFor(tzid) !== null

const UTC_NAMES = new Set([
  "UTC",
  "ETC/UTC",
  "GMT",
  "ETC/GMT",
  "Z",
  "ZULU",
  "ETC/ZULU",
  "UNIVERSAL",
  "ETC/UNIVERSAL"
])

/** Zones that are UTC under another name: their times are kept as UTC times. */
export const isUtc = (tzid: string): boolean => UTC_NAMES.has(tzid.trim().toUpperCase())

export const toWallMs = (w: Wall): number => {
  const d = new Date(0)
  d.setUTCFullYear(w.year, w.month - 1, w.day)
  d.setUTCHours(w.hour, w.minute, w.second, 0)
  return d.getTime()
}

export const fromWallMs = (ms: number): Wall => {
  const d = new Date(ms)
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds()
  }
}

/** The zone's offset from UTC at an instant, in milliseconds (whole seconds). */
const offsetAt = (format: Intl.DateTimeFormat, utcMs: number): number => {
  const instant = Math.floor(utcMs / 1000) * 1000
  const parts: Record<string, string> = {}
  for (const p of format.formatToParts(new Date(instant))) parts[p.type] = p.value
  const year = Number(parts.year) * (parts.era === "BC" || parts.era === "B" ? -1 : 1)
  const wall = toWallMs({
    year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second)
  })
  return wall - instant
}

const DAY = 86_400_000

/**
 * The instant of a wall time in a zone. A time in a gap (the hour skipped in spring) is read with
 * the offset before the gap and a time in a fold (the hour repeated in autumn) is its first
 * occurrence, as RFC 5545 §3.3.5 says; both are how Google reads such a time.
 */
export const wallToUtc = (tzid: string, wall: Wall): number | undefined => {
  const format = formatterFor(tzid)
  if (format === null) return undefined
  const w = toWallMs(wall)
  const before = offsetAt(format, w - DAY)
  const after = offsetAt(format, w + DAY)
  const valid = [...new Set([before, after])].filter((o) => offsetAt(format, w - o) === o)
  if (valid.length === 0) return w - before
  return w - Math.max(...valid)
}

export const utcToWall = (tzid: string, utcMs: number): Wall | undefined => {
  const format = formatterFor(tzid)
  if (format === null) return undefined
  return fromWallMs(Math.floor(utcMs / 1000) * 1000 + offsetAt(format, utcMs))
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

export const formatDate = (w: Pick<Wall, "year" | "month" | "day">): string =>
  `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`

export const formatLocal = (w: Wall): string =>
  `${formatDate(w)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`

export const basicDate = (w: Pick<Wall, "year" | "month" | "day">): string =>
  `${pad(w.year, 4)}${pad(w.month)}${pad(w.day)}`

export const basicDateTime = (w: Wall): string =>
  `${basicDate(w)}T${pad(w.hour)}${pad(w.minute)}${pad(w.second)}`

/** RFC 3339 with the zone's offset at that instant (`Z` for UTC). */
export const formatRfc3339 = (tzid: string, utcMs: number): string => {
  const wall = utcToWall(tzid, utcMs) ?? fromWallMs(utcMs)
  const offsetMin = Math.round((toWallMs(wall) - Math.floor(utcMs / 1000) * 1000) / 60_000)
  if (offsetMin === 0) return `${formatLocal(wall)}Z`
  const sign = offsetMin < 0 ? "-" : "+"
  const abs = Math.abs(offsetMin)
  return `${formatLocal(wall)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/

export interface ParsedDateTime {
  readonly wall: Wall
  /** Offset in minutes when the text had one (`Z` is 0). */
  readonly offsetMinutes: number | undefined
}

export const parseDateTime = (text: string): ParsedDateTime | undefined => {
  const m = RFC3339.exec(text.trim())
  if (m === null) return undefined
  const wall = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6])
  }
  if (!validWall(wall)) return undefined
  if (m[7] !== undefined) return { wall, offsetMinutes: 0 }
  if (m[8] !== undefined) {
    const minutes = Number(m[9]) * 60 + Number(m[10])
    return { wall, offsetMinutes: m[8] === "-" ? -minutes : minutes }
  }
  return { wall, offsetMinutes: undefined }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

export const parseDate = (text: string): Pick<Wall, "year" | "month" | "day"> | undefined => {
  const m = DATE.exec(text.trim())
  if (m === null) return undefined
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }
  return validWall({ ...d, hour: 0, minute: 0, second: 0 }) ? d : undefined
}

export const validWall = (w: Wall): boolean => {
  if (w.year < 1 || w.month < 1 || w.month > 12 || w.day < 1 || w.hour > 23 || w.minute > 59 || w.second > 59)
    return false
  const dim = new Date(Date.UTC(2000, w.month, 0))
  dim.setUTCFullYear(w.year, w.month, 0)
  return w.day <= dim.getUTCDate()
}
