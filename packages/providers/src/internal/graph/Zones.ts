/**
 * Graph's time zones in the terms of core's civil time and IANA zones. Graph writes and accepts
 * Windows zone names everywhere (only a short list of IANA names besides, and Outlook desktop has
 * been seen to show events created with an IANA name in UTC, docs/providers.md D.9), so Almanac
 * writes Windows names and reads either. The Windows ⇄ IANA map is CLDR's, through core's Zone.
 */
import * as Zone from "@almanac/core/internal/Zone"
import { isUtc, utcToWall, type Wall } from "../WallTime.js"

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

/** The day whose midnight in `tzid` is nearest to an instant (all-day values, see GraphCodec). */
export const nearestDate = (
  tzid: string,
  utcMs: number
): Pick<Wall, "year" | "month" | "day"> | undefined => {
  const w = utcToWall(tzid, utcMs + 12 * 3_600_000)
  return w === undefined ? undefined : { year: w.year, month: w.month, day: w.day }
}
