/**
 * Hostile and malformed calendar objects through the iCalendar codec and free/busy: each one is
 * read whole or refused whole with a reason a person can read (the engine quarantines a refused
 * item and syncs the rest; see CalDavSync.test.ts for that end to end), in bounded work.
 *
 * Work is bounded by counts, never by a clock (a loaded machine must not fail these): the codec
 * refuses before parsing what it will not read, and expansion generates at most `maxInstances`
 * occurrences per series and says where it stopped.
 */

import { EventModel, FreeBusy, Recurrence } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ICalCodec from "../src/ICalCodec.js"
import { at, parseOrThrow, vcalendar } from "./support/Fixtures.js"

const HREF = "/cal/hostile.ics"

/** The reason a BadItem gives; fails the test when the object was read. */
const refused = (text: string): string => {
  const r = ICalCodec.parseEither(text, { href: HREF })
  if (Either.isRight(r)) throw new Error("expected the object to be refused")
  expect(r.left._tag).toBe("BadItem")
  expect(r.left.ref).toBe(HREF)
  return r.left.reason
}

const event = (uid: string | undefined, ...lines: ReadonlyArray<string>): ReadonlyArray<string> => [
  "BEGIN:VEVENT",
  ...(uid === undefined ? [] : [`UID:${uid}`]),
  "DTSTAMP:20260101T000000Z",
  ...lines,
  "END:VEVENT"
]

const plain = (uid: string, start = "20260302T090000Z", end = "20260302T100000Z") =>
  event(uid, `DTSTART:${start}`, `DTEND:${end}`, "SUMMARY:Planning")

const WEEK = { start: at("2026-03-02T00:00:00Z"), end: at("2026-03-09T00:00:00Z") }

describe("objects that are refused whole, with a reason", () => {
  it("an object with no UID", () => {
    expect(refused(vcalendar(...event(undefined, "DTSTART:20260302T090000Z")))).toBe("VEVENT without UID")
  })

  it("two VEVENTs with different UIDs: neither is copied, and the reason names both", () => {
    const reason = refused(vcalendar(...plain("first"), ...plain("second")))
    expect(reason).toContain("2 different UIDs")
    expect(reason).toContain('"first"')
    expect(reason).toContain('"second"')
    // The second being an override changes nothing: the UIDs still differ.
    expect(
      refused(
        vcalendar(
          ...plain("first"),
          ...event("second", "RECURRENCE-ID:20260302T090000Z", "DTSTART:20260302T110000Z")
        )
      )
    ).toContain("different UIDs")
  })

  it("a VEVENT with a UID beside one without: the missing one is named", () => {
    expect(refused(vcalendar(...plain("a"), ...event(undefined, "DTSTART:20260302T090000Z")))).toContain(
      '("a", none)'
    )
  })

  it("two masters of one UID: which one is the event would be a guess", () => {
    expect(
      refused(vcalendar(...plain("twice"), ...plain("twice", "20260303T090000Z", "20260303T100000Z")))
    ).toBe('two VEVENTs for UID "twice" without RECURRENCE-ID (two masters)')
  })

  it("two overrides of one instance with the same SEQUENCE; a higher SEQUENCE supersedes", () => {
    const override = (summary: string, seq: number) =>
      event(
        "series",
        "RECURRENCE-ID:20260303T090000Z",
        "DTSTART:20260303T110000Z",
        "DTEND:20260303T120000Z",
        `SEQUENCE:${seq}`,
        `SUMMARY:${summary}`
      )
    const master = event(
      "series",
      "DTSTART:20260302T090000Z",
      "DTEND:20260302T100000Z",
      "RRULE:FREQ=DAILY;COUNT=5"
    )
    expect(refused(vcalendar(...master, ...override("one", 1), ...override("other", 1)))).toContain(
      "same SEQUENCE"
    )
    const r = parseOrThrow(vcalendar(...master, ...override("old", 1), ...override("new", 2)))
    expect(r.overrides.map((o) => Option.getOrUndefined(o.summary))).toEqual(["new"])
  })

  it("DTEND before DTSTART is quarantined, not repaired: a swapped or zero-length event would be a guess", () => {
    expect(refused(vcalendar(...plain("backwards", "20260302T100000Z", "20260302T090000Z")))).toBe(
      "VEVENT backwards ends before it starts (DTEND 20260302T090000Z, DTSTART 20260302T100000Z)"
    )
    expect(refused(vcalendar(...event("negative", "DTSTART:20260302T100000Z", "DURATION:-PT1H")))).toContain(
      "a negative DURATION"
    )
    // Compared as instants: 10:00 in Berlin (UTC+1 in March) is 09:00Z, so 08:30Z is before it…
    expect(
      refused(
        vcalendar(...event("zoned", "DTSTART;TZID=Europe/Berlin:20260302T100000", "DTEND:20260302T083000Z"))
      )
    ).toContain("ends before it starts")
    // …and 09:30Z is after it, although 09:30 is before 10:00 on the wall.
    expect(
      parseOrThrow(
        vcalendar(...event("zoned", "DTSTART;TZID=Europe/Berlin:20260302T100000", "DTEND:20260302T093000Z"))
      ).uid
    ).toBe("zoned")
    // An end equal to the start is a legal zero-length event.
    expect(parseOrThrow(vcalendar(...plain("instant", "20260302T100000Z", "20260302T100000Z"))).uid).toBe(
      "instant"
    )
  })

  it("an override that ends before it starts takes its series with it (one object, one item)", () => {
    expect(
      refused(
        vcalendar(
          ...event("s", "DTSTART:20260302T090000Z", "DTEND:20260302T100000Z", "RRULE:FREQ=DAILY;COUNT=3"),
          ...event(
            "s",
            "RECURRENCE-ID:20260303T090000Z",
            "DTSTART:20260303T110000Z",
            "DTEND:20260303T100000Z"
          )
        )
      )
    ).toContain("ends before it starts")
  })

  it("an unknown TZID with no VTIMEZONE: read as floating or UTC would move the meeting", () => {
    expect(refused(vcalendar(...event("mars", "DTSTART;TZID=Mars/Olympus_Mons:20260302T090000")))).toBe(
      'unknown time zone "Mars/Olympus_Mons" with no VTIMEZONE'
    )
  })

  it("an endless FREQ=SECONDLY rule, and rules as dense in disguise", () => {
    const rule = (r: string) =>
      vcalendar(...event("dense", "DTSTART:20260302T090000Z", "DURATION:PT1S", `RRULE:${r}`))
    expect(refused(rule("FREQ=SECONDLY"))).toBe(
      "VEVENT dense repeats up to 86400 times a day (RRULE FREQ=SECONDLY); rules more frequent than once a minute are refused"
    )
    expect(refused(rule("FREQ=MINUTELY;BYSECOND=0,30"))).toContain("2880 times a day")
    const hours = Array.from({ length: 24 }, (_, i) => i).join(",")
    const minutes = Array.from({ length: 60 }, (_, i) => i).join(",")
    expect(refused(rule(`FREQ=DAILY;BYHOUR=${hours};BYMINUTE=${minutes};BYSECOND=0,30`))).toContain(
      "2880 times a day"
    )
    expect(refused(rule(`FREQ=HOURLY;BYMINUTE=${minutes};BYSECOND=0,30`))).toContain("2880 times a day")
    // Once a minute is the most allowed: it can be copied, and free/busy expands it within its budget.
    expect(parseOrThrow(rule("FREQ=MINUTELY")).uid).toBe("dense")
    expect(parseOrThrow(rule("FREQ=SECONDLY;INTERVAL=60")).uid).toBe("dense")
    expect(parseOrThrow(rule("FREQ=DAILY;BYHOUR=9,10,11;BYMINUTE=0,30")).uid).toBe("dense")
  })

  it("an object over 1 MB (a 2 MB DESCRIPTION) is refused before it is parsed", () => {
    const description = `DESCRIPTION:${"x".repeat(2 * 1_048_576)}`
    expect(refused(vcalendar(...event("big", "DTSTART:20260302T090000Z", description)))).toBe(
      "the calendar object is 2.0 MB; Almanac reads objects up to 1.0 MB"
    )
    // Just under the bound is read, its text kept whole.
    const under = `DESCRIPTION:${"y".repeat(ICalCodec.MAX_OBJECT_CHARS - 1_000)}`
    const r = parseOrThrow(vcalendar(...event("under", "DTSTART:20260302T090000Z", under)))
    expect(Option.getOrThrow(Option.flatMap(r.master, (m) => m.description))).toHaveLength(
      ICalCodec.MAX_OBJECT_CHARS - 1_000
    )
  })

  it("bytes that were not UTF-8 (the CalDAV client marks them with NUL) are not copied damaged", () => {
    expect(
      refused(vcalendar(...event("latin1", "DTSTART:20260302T090000Z", "SUMMARY:Caf\u0000 au lait")))
    ).toBe("the calendar object contains bytes that are not UTF-8 (or a NUL); it is not copied damaged")
    // U+FFFD is a character like any other (a Google event may hold one): it is kept.
    const r = parseOrThrow(vcalendar(...event("fffd", "DTSTART:20260302T090000Z", "SUMMARY:Caf\uFFFD")))
    expect(Option.getOrThrow(Option.flatMap(r.master, (m) => m.summary))).toBe("Caf\uFFFD")
  })

  it("a VTODO in an event calendar is not an event, and says so", () => {
    expect(refused(vcalendar("BEGIN:VTODO", "UID:task", "SUMMARY:Buy milk", "END:VTODO"))).toBe(
      "the calendar object holds VTODO, not an event; Almanac syncs events only"
    )
    expect(refused(vcalendar(...plain("mixed"), "BEGIN:VTODO", "UID:mixed", "END:VTODO"))).toBe(
      "the calendar object holds VEVENT and VTODO; a calendar object holds one kind of component"
    )
    expect(refused(vcalendar("BEGIN:VJOURNAL", "UID:j", "END:VJOURNAL"))).toContain("VJOURNAL, not an event")
  })

  it("a reason stays short whatever the hostile value (a 100 KB UID with no DTSTART)", () => {
    const uid = "u".repeat(100_000)
    const reason = refused(vcalendar(...event(uid)))
    expect(reason.length).toBeLessThan(400)
    expect(reason).toContain("(100000 characters)")
    expect(reason).toContain("without DTSTART")
  })
})

describe("objects that are read, as documented", () => {
  it("a 100 KB unfolded line is read whole (folding is lenient on read, enforced on write)", () => {
    const long = "z".repeat(100_000)
    const r = parseOrThrow(vcalendar(...event("long-line", "DTSTART:20260302T090000Z", `LOCATION:${long}`)))
    expect(Option.getOrThrow(Option.flatMap(r.master, (m) => m.location))).toBe(long)
    const written = ICalCodec.serialize(r)
    expect(Math.max(...written.split("\r\n").map((l) => Buffer.byteLength(l)))).toBeLessThanOrEqual(75)
    expect(parseOrThrow(written)).toEqual(r)
  })

  it("an override with no master (an invitation to one instance, RFC 4791 4.1) is synced as it is", () => {
    const r = parseOrThrow(
      vcalendar(
        ...event(
          "orphan",
          "RECURRENCE-ID:20260303T090000Z",
          "DTSTART:20260303T110000Z",
          "DTEND:20260303T120000Z",
          "SUMMARY:Just this one"
        )
      )
    )
    expect(Option.isNone(r.master)).toBe(true)
    expect(r.overrides).toHaveLength(1)
    expect(FreeBusy.busy([r], WEEK).map((b) => [b.start.toISOString(), b.end.toISOString()])).toEqual([
      ["2026-03-03T11:00:00.000Z", "2026-03-03T12:00:00.000Z"]
    ])
    expect(parseOrThrow(ICalCodec.serialize(r))).toEqual(r)
  })

  it("COUNT=1000000 is copied as written; free/busy far into it is cut and says so", () => {
    const text = vcalendar(
      ...event(
        "million",
        "DTSTART:20000101T090000Z",
        "DTEND:20000101T100000Z",
        "RRULE:FREQ=DAILY;COUNT=1000000"
      )
    )
    const r = parseOrThrow(text)
    expect(Option.getOrThrow(Option.flatMap(r.master, (m) => m.rrule))).toBe("FREQ=DAILY;COUNT=1000000")
    // COUNT counts from the first occurrence, so it cannot be fast-forwarded: 5000 days from
    // 2000 end in 2013, long before the window. Nothing in the window is known, and the answer
    // says so rather than reading as free.
    const report = FreeBusy.report([r], WEEK)
    expect(report.busy).toEqual([])
    expect(report.cut.map((c) => [c.uid, c.cut.reason, c.cut.until.toISOString()])).toEqual([
      ["million", "budget", WEEK.start.toISOString()]
    ])
    // Inside a sync window it counts as present: not knowing is no reason to leave it uncopied.
    expect(FreeBusy.occursWithin(r, WEEK)).toBe(true)
    // The budget is the bound: a larger one reaches the window, and the answer is complete.
    const enough = FreeBusy.report([r], WEEK, { maxInstances: 10_000 })
    expect(enough.cut).toEqual([])
    expect(enough.busy).toHaveLength(7)
  })
})

describe("free/busy expansion is bounded by a count and says where it stopped", () => {
  // Built directly: the codec refuses SECONDLY, but expansion must hold its bound on its own.
  const secondly = EventModel.makeResource(
    EventModel.makeEvent({
      uid: "every-second",
      start: EventModel.utc(2000, 1, 1, 0, 0, 0),
      end: EventModel.utc(2000, 1, 1, 0, 0, 1),
      rrule: Option.some("FREQ=SECONDLY")
    })
  )

  it("an endless SECONDLY series over a week: at most maxInstances occurrences, and the cut is reported", () => {
    const expansion = Recurrence.expand(secondly, WEEK)
    expect(expansion.instances.length).toBeLessThanOrEqual(Recurrence.DEFAULT_MAX_INSTANCES)
    expect(Option.isSome(expansion.cut)).toBe(true)
    const until = Option.getOrThrow(expansion.cut).until.getTime()
    // Fast-forwarded to the window's start in UTC: the budget is spent inside the window.
    expect(until).toBeGreaterThan(WEEK.start.getTime())
    expect(until).toBeLessThan(WEEK.start.getTime() + Recurrence.DEFAULT_MAX_INSTANCES * 1_000)
    // What is shown before the cut is exact: every second busy, none after the cut.
    for (const i of expansion.instances) expect(i.start.getTime()).toBeLessThanOrEqual(until)
    const report = FreeBusy.report([secondly], WEEK)
    expect(report.cut).toHaveLength(1)
    expect(FreeBusy.cutReason(Option.getOrThrow(expansion.cut))).toMatch(
      /^it repeats more than 5000 times up to the end of the window; busy time is shown only until 2026-03-02T01:2/
    )
  })

  it("the budget bounds the work whatever the window: a year of it costs no more than a week", () => {
    const year = { start: at("2026-01-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") }
    const expansion = Recurrence.expand(secondly, year, { maxInstances: 100 })
    expect(expansion.instances.length).toBeLessThanOrEqual(100)
    expect(Option.getOrThrow(expansion.cut).limit).toBe(100)
  })

  it("a series that fits its budget is not reported as cut", () => {
    const minutely = parseOrThrow(
      vcalendar(
        ...event(
          "m",
          "DTSTART;TZID=Europe/Berlin:20000101T000000",
          "DURATION:PT30S",
          "RRULE:FREQ=MINUTELY;INTERVAL=5"
        )
      )
    )
    const day = { start: at("2026-03-02T00:00:00Z"), end: at("2026-03-03T00:00:00Z") }
    const report = FreeBusy.report([minutely], day)
    expect(report.cut).toEqual([])
    expect(report.busy).toHaveLength(288)
  })

  it("a transparent series that is cut blocks no time, so nothing is reported for it", () => {
    const transparent = EventModel.makeResource({
      ...Option.getOrThrow(secondly.master),
      transp: Option.some("TRANSPARENT")
    })
    expect(FreeBusy.report([transparent], WEEK)).toEqual({ busy: [], cut: [] })
  })

  it("a cut names the resource by its position, so an answer can say which calendar object it was", () => {
    const normal = parseOrThrow(vcalendar(...plain("normal")))
    const report = FreeBusy.report([normal, secondly, normal], WEEK)
    expect(report.cut.map((c) => [c.index, c.uid])).toEqual([[1, "every-second"]])
    expect(report.busy[0]?.start.toISOString()).toBe("2026-03-02T00:00:00.000Z")
  })
})

describe("a hostile corpus in bounded memory", () => {
  it("refusing and reading every case a hundred times keeps no memory", () => {
    const corpus = [
      vcalendar(...event(undefined, "DTSTART:20260302T090000Z")),
      vcalendar(...plain("a"), ...plain("b")),
      vcalendar(...plain("backwards", "20260302T100000Z", "20260302T090000Z")),
      vcalendar(...event("mars", "DTSTART;TZID=Mars/Olympus_Mons:20260302T090000")),
      vcalendar(...event("dense", "DTSTART:20260302T090000Z", "RRULE:FREQ=SECONDLY")),
      vcalendar(...event("big", "DTSTART:20260302T090000Z", `DESCRIPTION:${"x".repeat(2 * 1_048_576)}`)),
      vcalendar(...event("nul", "DTSTART:20260302T090000Z", "SUMMARY:\u0000")),
      vcalendar(...event("long", "DTSTART:20260302T090000Z", `LOCATION:${"z".repeat(100_000)}`)),
      vcalendar("BEGIN:VTODO", "UID:t", "END:VTODO")
    ]
    const before = process.memoryUsage().heapUsed
    let refusedCount = 0
    for (let round = 0; round < 100; round++) {
      for (const text of corpus) {
        if (Either.isLeft(ICalCodec.parseEither(text, { href: HREF }))) refusedCount++
      }
    }
    expect(refusedCount).toBe(800)
    // Loose on purpose: nothing is retained across items (the 2 MB object alone is 4 MB of heap).
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(256 * 1_048_576)
  })
})
