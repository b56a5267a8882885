/**
 * Expansion of old series in a late window: the fast-forward (moving the start by whole rule
 * periods) must give the occurrences the full walk gives. Found by the Graph codec's laws.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Option from "effect/Option"
import * as EventModel from "../src/EventModel.js"
import * as Recurrence from "../src/Recurrence.js"

const starts = (rule: string, start: EventModel.DateValue, from: string, to: string) =>
  Recurrence.instances(
    EventModel.makeResource(
      EventModel.makeEvent({ uid: "ff@x", start, end: start, rrule: Option.some(rule) })
    ),
    { start: new Date(from), end: new Date(to) }
  )
    .map((i) => i.start.toISOString())
    .sort()

describe("a series that began long before the window", () => {
  const cases: ReadonlyArray<readonly [string, EventModel.DateValue]> = [
    ["FREQ=YEARLY;INTERVAL=3;BYMONTH=9;BYDAY=1MO", EventModel.utc(1974, 9, 2, 16)],
    ["FREQ=MONTHLY;BYDAY=-1FR", EventModel.utc(1990, 8, 31, 9)],
    ["FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1", EventModel.utc(1990, 10, 1, 9)],
    ["FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15", EventModel.utc(1990, 1, 15, 9)],
    ["FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", EventModel.zoned("Europe/Berlin", 1990, 1, 1, 9)]
  ]
  for (const [rule, start] of cases) {
    it(`finds each occurrence in a window just around it: ${rule}`, () => {
      const whole = starts(rule, start, "1970-01-01T00:00:00Z", "2031-01-01T00:00:00Z")
      const some = whole.filter((_, i) => i % Math.ceil(whole.length / 20) === 0)
      expect(some.length).toBeGreaterThan(10)
      for (const occurrence of some) {
        const at = Date.parse(occurrence)
        const around = (days: number) => new Date(at + days * 86_400_000).toISOString()
        expect([occurrence, starts(rule, start, around(-1), around(1))]).toEqual([occurrence, [occurrence]])
      }
    })
  }
})
