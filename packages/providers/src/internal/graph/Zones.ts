/**
 * Graph's time zones in the terms of core's civil time and IANA zones. Graph writes and accepts
 * Windows zone names everywhere (only a short list of IANA names besides, and Outlook desktop has
 * been seen to show events created with an IANA name in UTC, docs/providers.md D.9), so Almanac
 * writes Windows names and reads either. The Windows ⇄ IANA map is CLDR's, through core's Zone.
 */
import * as Civil from "@almanac/core/internal/Civil"
import * as Zone from "@almanac/core/internal/Zone"

export type Wall = Civil.Fields

const UTC_NAMES = new Set([
  "UTC",
  "ETC/UTC",
  "ETC/GMT",
  "GMT",
  "Z",
  "ZULU",
  "ETC/ZULU",
  "UNIVERSAL",
  "ETC/UNIVERSAL"
])

/** Zones that are UTC under another name (Windows calls UTC "UTC" as well). */
export const isUtc = (name: string): boolean => UTC_NAMES.has(name.trim().toUpperCase())

/** The IANA zone for a zone name as Graph writes it: a Windows name, an IANA name or UTC. */
export const ianaOf = (name: string): string | undefined => {
  const n = name.trim()
  if (isUtc(n)) return "UTC"
  const fromWindows = Zone.windowsToIana(n)
  if (fromWindows !== undefined) return isUtc(fromWindows) ? "UTC" : fromWindows
  return Zone.isIanaZone(n) ? n : undefined
}

/** The Windows name Almanac writes for a zone (IANA or Windows), if CLDR has one. */
export const windowsOf = (tzid: string): string | undefined => {
  const n = tzid.trim()
  if (isUtc(n)) return "UTC"
  if (Zone.windowsToIana(n) !== undefined) return n
  return Zone.ianaToWindows(n)
}

/**
 * The zone a time in `tzid` comes back in after Graph held it: the IANA zone of its Windows zone
 * (Europe/Amsterdam is written "W. Europe Standard Time" and read back as Europe/Berlin), "UTC"
 * for UTC, undefined for a zone Graph has no name for.
 */
export const canonical = (tzid: string): string | undefined => {
  const windows = windowsOf(tzid)
  if (windows === undefined) return undefined
  const iana = ianaOf(windows)
  return iana !== undefined && Zone.isIanaZone(iana) ? iana : undefined
}

export const toWallMs = Civil.toWallMs
export const fromWallMs = Civil.fromWallMs

/** The instant of a wall time in an IANA zone (gap: the offset before it; fold: the first). */
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

/** The day whose midnight in `tzid` is nearest to an instant (all-day values, see GraphCodec). */
export const nearestDate = (
  tzid: string,
  utcMs: number
): Pick<Wall, "year" | "month" | "day"> | undefined => {
  const w = utcToWall(tzid, utcMs + 12 * 3_600_000)
  return w === undefined ? undefined : { year: w.year, month: w.month, day: w.day }
}

const GRAPH_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/

export interface ParsedDateTime {
  readonly wall: Wall
  /** Offset in minutes when the text had one (`Z` is 0). */
  readonly offsetMinutes: number | undefined
}

/** `2026-12-01T10:00:00.0000000` (Graph's dateTime) or an ISO 8601 instant (`originalStart`). */
export const parseDateTime = (text: string): ParsedDateTime | undefined => {
  const m = GRAPH_DATE_TIME.exec(text.trim())
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
