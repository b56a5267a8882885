/**
 * Free/busy and recurrence expansion, tried on generated calendars and rules.
 */
import { describe, expect, it } from "@effect/vitest"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as EventModel from "../src/EventModel.js"
import * as FreeBusy from "../src/FreeBusy.js"
import * as Recurrence from "../src/Recurrence.js"
import * as EventArbitraries from "./support/EventArbitraries.js"
import * as ReferenceExpander from "./support/ReferenceExpander.js"

const fc = FastCheck
const DAY = 86_400_000
const YEARS = { min: 2026, max: 2026 }

const window = fc
  .record({
    startDay: fc.integer({ min: 0, max: 364 }),
    days: fc.integer({ min: 1, max: 120 }),
    shift: fc.integer({ min: 0, max: 23 })
  })
  .map(({ startDay, days, shift }) => {
    const start = Date.UTC(2026, 0, 1) + startDay * DAY + shift * 3_600_000
    return { start: new Date(start), end: new Date(start + days * DAY) }
  })

const blocks = (e: EventModel.VEvent) =>
  !Option.contains(e.status, "CANCELLED") && !Option.contains(e.transp, "TRANSPARENT")

const neutralise = (
  r: EventModel.EventResource,
  how: "TRANSPARENT" | "CANCELLED"
): EventModel.EventResource => {
  const f = (e: EventModel.VEvent): EventModel.VEvent =>
    how === "CANCELLED"
      ? { ...e, status: Option.some("CANCELLED") }
      : { ...e, transp: Option.some("TRANSPARENT") }
  return { ...r, master: Option.map(r.master, f), overrides: r.overrides.map(f) }
}

describe("FreeBusy properties", () => {
  it.prop(
    "busy intervals are sorted, disjoint, non-empty and inside the window",
    [fc.array(EventArbitraries.resource(EventArbitraries.text(), YEARS), { maxLength: 6 }), window],
    ([resources, w]) => {
      const busy = FreeBusy.busy(resources, w)
      let previousEnd = Number.NEGATIVE_INFINITY
      for (const b of busy) {
        expect(b.start.getTime()).toBeGreaterThan(previousEnd)
        expect(b.end.getTime()).toBeGreaterThan(b.start.getTime())
        expect(b.start.getTime()).toBeGreaterThanOrEqual(w.start.getTime())
        expect(b.end.getTime()).toBeLessThanOrEqual(w.end.getTime())
        previousEnd = b.end.getTime()
      }
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "busy time is exactly the union of the opaque, confirmed instances, clipped to the window",
    [fc.array(EventArbitraries.resource(EventArbitraries.text(), YEARS), { maxLength: 6 }), window],
    ([resources, w]) => {
      const busy = FreeBusy.busy(resources, w)
      const covered = (t: number) => busy.some((b) => b.start.getTime() <= t && t < b.end.getTime())
      const ws = w.start.getTime()
      const we = w.end.getTime()
      for (const r of resources) {
        const seriesCancelled = Option.exists(r.master, (m) => Option.contains(m.status, "CANCELLED"))
        for (const i of Recurrence.instances(r, w)) {
          const s = Math.max(ws, i.start.getTime())
          const e = Math.min(we, i.end.getTime())
          if (e <= s) continue
          if (blocks(i.event) && !seriesCancelled) {
            expect(covered(s) && covered(e - 1)).toBe(true)
          }
        }
      }
      // Soundness: every busy interval starts at some blocking instance.
      for (const b of busy) {
        const t = b.start.getTime()
        const from = resources.some((r) =>
          Recurrence.instances(r, w).some(
            (i) => blocks(i.event) && Math.max(ws, i.start.getTime()) === t && i.end.getTime() > t
          )
        )
        expect(from).toBe(true)
      }
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "transparent and cancelled events never add busy time",
    [
      fc.array(
        fc.record({
          resource: EventArbitraries.resource(EventArbitraries.text(), YEARS),
          hide: fc.constantFrom(undefined, "TRANSPARENT" as const, "CANCELLED" as const)
        }),
        { maxLength: 6 }
      ),
      window
    ],
    ([entries, w]) => {
      const all = entries.map((e) => (e.hide === undefined ? e.resource : neutralise(e.resource, e.hide)))
      const visible = entries.filter((e) => e.hide === undefined).map((e) => e.resource)
      expect(FreeBusy.busy(all, w)).toEqual(FreeBusy.busy(visible, w))
    },
    EventArbitraries.propOptions()
  )
})

// ---------------------------------------------------------------------------------------------

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const

interface EndSpec {
  readonly count?: number
  readonly untilDays?: number
  readonly untilMinutes?: number
}

const simpleCase = fc
  .record({
    zone: fc.constantFrom("UTC", "Europe/Berlin", "America/New_York"),
    year: fc.integer({ min: 2020, max: 2028 }),
    dayOfYear: fc.integer({ min: 0, max: 364 }),
    // 05:00-22:59 keeps clear of DST gaps and overlaps, which the reference does not model.
    hour: fc.integer({ min: 5, max: 22 }),
    minute: fc.integer({ min: 0, max: 59 }),
    freq: fc.constantFrom<"DAILY" | "WEEKLY">("DAILY", "WEEKLY"),
    interval: fc.integer({ min: 1, max: 3 }),
    end: fc.oneof(
      fc.constant<EndSpec>({}),
      fc.integer({ min: 1, max: 40 }).map((count): EndSpec => ({ count })),
      fc
        .record({
          untilDays: fc.integer({ min: 0, max: 500 }),
          untilMinutes: fc.oneof(fc.integer({ min: -720, max: 720 }), fc.integer({ min: -90, max: 90 }))
        })
        .map((u): EndSpec => u)
    ),
    byday: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }), {
      nil: undefined
    }),
    windowFrom: fc.integer({ min: -20, max: 1500 }),
    windowDays: fc.integer({ min: 1, max: 60 })
  })
  .map((c) => {
    const d = new Date(Date.UTC(c.year, 0, 1) + c.dayOfYear * DAY)
    const start = {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: c.hour,
      minute: c.minute,
      zone: c.zone
    }
    const startWeekday = (d.getUTCDay() + 6) % 7
    // A start that does not match its own rule gives an undefined set (RFC 5545 3.8.5.3).
    const byday = c.byday === undefined ? undefined : [...new Set([...c.byday, startWeekday])].sort()
    const startInstant = ReferenceExpander.toInstant(
      c.zone,
      Date.UTC(start.year, start.month - 1, start.day, c.hour, c.minute)
    )
    // UNTIL up to half a day either side of an occurrence, where zone offsets decide.
    const until =
      c.end.untilDays === undefined
        ? undefined
        : // An UNTIL before DTSTART is degenerate (we keep DTSTART as the one instance); not generated.
          Math.max(startInstant, startInstant + c.end.untilDays * DAY + (c.end.untilMinutes ?? 0) * 60_000)
    const rule: ReferenceExpander.SimpleRule = {
      freq: c.freq,
      interval: c.interval,
      ...(c.end.count === undefined ? {} : { count: c.end.count }),
      ...(until === undefined ? {} : { until }),
      ...(byday === undefined ? {} : { byday })
    }
    // With UNTIL, half the windows straddle it, where a wrong comparison would show.
    const windowStart =
      until !== undefined && c.windowFrom % 2 === 0
        ? until - (c.windowFrom % c.windowDays) * DAY - DAY / 2
        : startInstant + c.windowFrom * DAY
    return {
      start,
      rule,
      window: { start: new Date(windowStart), end: new Date(windowStart + c.windowDays * DAY) }
    }
  })

const toText = (rule: ReferenceExpander.SimpleRule): string => {
  const untilText =
    rule.until === undefined
      ? undefined
      : `UNTIL=${new Date(rule.until).toISOString().replace(/[-:]/g, "").slice(0, 15)}Z`
  return [
    `FREQ=${rule.freq}`,
    rule.interval === 1 ? undefined : `INTERVAL=${rule.interval}`,
    rule.count === undefined ? undefined : `COUNT=${rule.count}`,
    untilText,
    rule.byday === undefined ? undefined : `BYDAY=${rule.byday.map((d) => WEEKDAYS[d]).join(",")}`
  ]
    .filter((x) => x !== undefined)
    .join(";")
}

const HOUR = 3_600_000

describe("recurrence expansion agrees with a reference expander", () => {
  it.prop(
    "DAILY/WEEKLY with INTERVAL, COUNT/UNTIL and BYDAY, in UTC and in zones",
    [simpleCase],
    ([c]) => {
      const s = c.start
      const start =
        s.zone === "UTC"
          ? EventModel.utc(s.year, s.month, s.day, s.hour, s.minute)
          : EventModel.zoned(s.zone, s.year, s.month, s.day, s.hour, s.minute)
      const endWall = new Date(Date.UTC(s.year, s.month - 1, s.day, s.hour + 1, s.minute))
      const end = EventModel.withFields(start, {
        year: endWall.getUTCFullYear(),
        month: endWall.getUTCMonth() + 1,
        day: endWall.getUTCDate(),
        hour: endWall.getUTCHours(),
        minute: endWall.getUTCMinutes(),
        second: 0
      })
      const resource = EventModel.makeResource(
        EventModel.makeEvent({ uid: "ref", start, end, rrule: Option.some(toText(c.rule)) })
      )
      const ws = c.window.start.getTime()
      const we = c.window.end.getTime()
      const expected = ReferenceExpander.expand(c.rule, s, we)
        .filter((t) => t + HOUR > ws)
        .map((t) => new Date(t).toISOString())
      const actual = (r: EventModel.EventResource) =>
        Recurrence.instances(r, c.window)
          .map((i) => i.start.getTime())
          .sort((a, b) => a - b)
          .map((t) => new Date(t).toISOString())
      // Through the iCalendar codec too: providers/test/CodecProperties expands what it reads back.
      expect(actual(resource)).toEqual(expected)
    },
    EventArbitraries.propOptions()
  )
})
