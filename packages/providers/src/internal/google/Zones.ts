/**
 * Google's `dateTime` + `timeZone` pairs: Google writes and accepts IANA names only. Wall times,
 * zones and date-time texts are `WallTime`'s, shared with the Graph codec (and read as the
 * iCalendar side reads them); here is what is Google's own: which names it knows, and the RFC
 * 3339 form with an offset that it writes.
 */
import * as Zone from "@almanac/core/internal/Zone"
import { formatLocal, fromWallMs, toWallMs, utcToWall } from "../WallTime.js"

export {
  basicDate,
  basicDateTime,
  formatDate,
  formatInstant,
  formatLocal,
  fromWallMs,
  isUtc,
  type ParsedDateTime,
  parseDate,
  parseDateTime,
  toWallMs,
  utcToWall,
  validWall,
  type Wall,
  wallToUtc
} from "../WallTime.js"

/** Names Google accepts in `timeZone` are IANA names; `Intl` knows the same database. */
export const isKnown = (tzid: string): boolean => Zone.isIanaZone(tzid)

const pad = (n: number, width = 2): string => String(n).padStart(width, "0")

/** RFC 3339 with the zone's offset at that instant (`Z` for UTC). */
export const formatRfc3339 = (tzid: string, utcMs: number): string => {
  const wall = utcToWall(tzid, utcMs) ?? fromWallMs(utcMs)
  const offsetMin = Math.round((toWallMs(wall) - Math.floor(utcMs / 1000) * 1000) / 60_000)
  if (offsetMin === 0) return `${formatLocal(wall)}Z`
  const sign = offsetMin < 0 ? "-" : "+"
  const abs = Math.abs(offsetMin)
  return `${formatLocal(wall)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}
