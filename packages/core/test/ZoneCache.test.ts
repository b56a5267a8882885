/**
 * Evaluated VTIMEZONEs are kept by their content: the same definition in every object of a
 * calendar is expanded once (it was a fifth of a first sync's CPU), and two definitions of one
 * TZID that differ each keep their own offsets.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Ical from "../src/internal/Ical.js"
import * as Zone from "../src/internal/Zone.js"

const vtimezone = (standardOffset: string) => {
  const parsed = Ical.parse(
    [
      "BEGIN:VTIMEZONE",
      "TZID:Office",
      "BEGIN:STANDARD",
      "DTSTART:19701025T030000",
      "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
      "TZOFFSETFROM:+0200",
      `TZOFFSETTO:${standardOffset}`,
      "END:STANDARD",
      "BEGIN:DAYLIGHT",
      "DTSTART:19700329T020000",
      "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
      `TZOFFSETFROM:${standardOffset}`,
      "TZOFFSETTO:+0200",
      "END:DAYLIGHT",
      "END:VTIMEZONE",
      ""
    ].join("\r\n")
  )
  if (parsed._tag !== "Ok" || parsed.components[0] === undefined) throw new Error("no VTIMEZONE")
  return parsed.components[0]
}

const january = Date.UTC(2026, 0, 15, 12)

describe("evaluated time zones", () => {
  it("are evaluated once per definition, and kept apart by content, not TZID", () => {
    const first = Zone.fromVTimezone(vtimezone("+0100"))
    const again = Zone.fromVTimezone(vtimezone("+0100"))
    const other = Zone.fromVTimezone(vtimezone("+0000"))
    expect(first).toBeDefined()
    expect(again).toBe(first)
    expect(other).not.toBe(first)
    expect(first?.offsetAt(january)).toBe(3_600_000)
    expect(other?.offsetAt(january)).toBe(0)
  })
})
