/**
 * Google's `dateTime` + `timeZone` pairs in the terms of core's civil time and IANA zones (which
 * the iCalendar side uses too, so both read a wall time in a zone the same way): an instant to
 * the wall clock of a zone and back, and the RFC 3339 forms Google writes.
 */
import * as Civil from "@almanac/core/internal/Civil"
import * as Zone from "@almanac/core/internal/Zone"

export type Wall = Civil.Fields

/** Names Google accepts in `timeZone` are IANA names; `Intl` knows the same database. */
export const isKnown = (tzid: string): boolean => Zone.isIanaZone(tzid)

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
 * occurrence, as RFC 5545 §3.3.5 says; both are how Google reads such a time.
 */
export const wallToUtc = (tzid: string, wall: Wall): number | undefined => {
  const zone = Zone.intlZone(tzid)
  return zone === undefined ? undefined : Zone.wallToUtc(zone, toWallMs(wall))
}

export const utcToWall = (tzid: string, utcMs: number): Wall | undefined => {
  const zone = Zone.intlZone(tzid)
  return zone === undefined ? undefined : fromWallMs(Zone.utcToWall(zone, Math.floor(utcMs / 1000) * 1000))
}

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

export const formatDate = Civil.formatJCalDate
export const formatLocal = Civil.formatJCalDateTime
export const basicDate = Civil.formatBasicDate
export const basicDateTime = Civil.formatBasicDateTime

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

export const validWall = (w: Wall): boolean =>
  w.hour <= 23 && w.minute <= 59 && w.second <= 59 && w.year >= 1 && Civil.isValidDate(w.year, w.month, w.day)
