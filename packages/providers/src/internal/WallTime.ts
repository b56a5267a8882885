/**
 * Wall times in zones, and the date-time texts of JSON calendar APIs (Google's RFC 3339, Graph's
 * `dateTime`), in the terms of core's civil time and IANA zones — which the iCalendar side uses
 * too, so every codec reads a wall time in a zone the same way. What differs per service (which
 * zone names it writes) stays in `google/Zones` and `graph/Zones`.
 */
import * as Civil from "@almanac/core/internal/Civil"
import * as Zone from "@almanac/core/internal/Zone"

export type Wall = Civil.Fields

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

export const toWallMs = Civil.toWallMs
export const fromWallMs = Civil.fromWallMs

/**
 * The instant of a wall time in a zone. A time in a gap (the hour skipped in spring) is read with
 * the offset before the gap and a time in a fold (the hour repeated in autumn) is its first
 * occurrence, as RFC 5545 §3.3.5 says; Google and Graph read such times the same way.
 */
export const wallToUtc = (tzid: string, wall: Wall): number | undefined => {
  if (isUtc(tzid)) return toWallMs(wall)
  const zone = Zone.intlZone(tzid)
  return zone === undefined ? undefined : Zone.wallToUtc(zone, toWallMs(wall))
}

export const utcToWall = (tzid: string, utcMs: number): Wall | undefined => {
  const t = Math.floor(utcMs / 1000) * 1000
  if (isUtc(tzid)) return fromWallMs(t)
  const zone = Zone.intlZone(tzid)
  return zone === undefined ? undefined : fromWallMs(Zone.utcToWall(zone, t))
}

/** RFC 3339 and Graph's `dateTime` (`2026-12-01T10:00:00.0000000`), with or without an offset. */
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/

export interface ParsedDateTime {
  readonly wall: Wall
  /** Offset in minutes when the text had one (`Z` is 0). */
  readonly offsetMinutes: number | undefined
}

export const parseDateTime = (text: string): ParsedDateTime | undefined => {
  const m = DATE_TIME.exec(text.trim())
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

export const validWall = (w: Wall): boolean =>
  w.hour <= 23 && w.minute <= 59 && w.second <= 59 && w.year >= 1 && Civil.isValidDate(w.year, w.month, w.day)

export const formatDate = Civil.formatJCalDate
export const formatLocal = Civil.formatJCalDateTime
export const basicDate = Civil.formatBasicDate
export const basicDateTime = Civil.formatBasicDateTime

/** An instant as `YYYY-MM-DDTHH:MM:SSZ`. */
export const formatInstant = (utcMs: number): string => `${formatLocal(fromWallMs(utcMs))}Z`
