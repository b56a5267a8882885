/**
 * Real-world shapes, written by hand: what servers and clients actually send, and the busy
 * time a person expects from it.
 */

import { ContentHash, FreeBusy } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import ICAL from "ical.js"
import * as ICalCodec from "../src/ICalCodec.js"
import { at, icloudFixture, isoIntervals, parseOrThrow, vcalendar } from "./support/Fixtures.js"

const FEB = { start: at("2026-02-01T00:00:00Z"), end: at("2026-03-01T00:00:00Z") }

const BERLIN_VTIMEZONE = [
  "BEGIN:VTIMEZONE",
  "TZID:Europe/Berlin",
  "BEGIN:DAYLIGHT",
  "TZOFFSETFROM:+0100",
  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
  "DTSTART:19810329T020000",
  "TZNAME:CEST",
  "TZOFFSETTO:+0200",
  "END:DAYLIGHT",
  "BEGIN:STANDARD",
  "TZOFFSETFROM:+0200",
  "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
  "DTSTART:19961027T030000",
  "TZNAME:CET",
  "TZOFFSETTO:+0100",
  "END:STANDARD",
  "END:VTIMEZONE"
]

const NEW_YORK_VTIMEZONE = [
  "BEGIN:VTIMEZONE",
  "TZID:America/New_York",
  "BEGIN:DAYLIGHT",
  "TZOFFSETFROM:-0500",
  "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
  "DTSTART:20070311T020000",
  "TZNAME:EDT",
  "TZOFFSETTO:-0400",
  "END:DAYLIGHT",
  "BEGIN:STANDARD",
  "TZOFFSETFROM:-0400",
  "RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU",
  "DTSTART:20071104T020000",
  "TZNAME:EST",
  "TZOFFSETTO:-0500",
  "END:STANDARD",
  "END:VTIMEZONE"
]

describe("iCloud exception series (KashCal live fixtures)", () => {
  it("reads the master: floating weekly series, COUNT=10", () => {
    const r = parseOrThrow(icloudFixture("kashcal__ical__exceptions__live__01_icloud_master.ics"))
    expect(r.uid).toBe("exception-test-1769653049@kashcal.test")
    const m = Option.getOrThrow(r.master)
    expect(m.start).toEqual({
      _tag: "FloatingDateTime",
      year: 2026,
      month: 1,
      day: 30,
      hour: 10,
      minute: 0,
      second: 0
    })
    expect(m.rrule).toEqual(Option.some("FREQ=WEEKLY;COUNT=10"))
    expect(r.overrides).toHaveLength(0)
    expect(isoIntervals(FreeBusy.busy([r], FEB))).toEqual([
      ["2026-02-06T10:00:00.000Z", "2026-02-06T11:00:00.000Z"],
      ["2026-02-13T10:00:00.000Z", "2026-02-13T11:00:00.000Z"],
      ["2026-02-20T10:00:00.000Z", "2026-02-20T11:00:00.000Z"],
      ["2026-02-27T10:00:00.000Z", "2026-02-27T11:00:00.000Z"]
    ])
  })

  it("moves one instance: the original slot is free, the new one busy", () => {
    const r = parseOrThrow(
      icloudFixture("kashcal__ical__exceptions__live__02_icloud_one_exception_time_moved.ics")
    )
    expect(r.overrides).toHaveLength(1)
    expect(isoIntervals(FreeBusy.busy([r], FEB))).toEqual([
      ["2026-02-06T14:00:00.000Z", "2026-02-06T15:00:00.000Z"],
      ["2026-02-13T10:00:00.000Z", "2026-02-13T11:00:00.000Z"],
      ["2026-02-20T10:00:00.000Z", "2026-02-20T11:00:00.000Z"],
      ["2026-02-27T10:00:00.000Z", "2026-02-27T11:00:00.000Z"]
    ])
  })

  it("two exceptions and an EXDATE: the skipped week is free, nothing is doubled", () => {
    const r = parseOrThrow(icloudFixture("kashcal__ical__exceptions__live__04_icloud_with_exdate.ics"))
    expect(r.overrides.map((o) => Option.getOrThrow(o.summary))).toEqual([
      "Weekly Team Meeting (Moved)",
      "Special Planning Session"
    ])
    expect(Option.getOrThrow(r.master).exdates).toHaveLength(1)
    expect(isoIntervals(FreeBusy.busy([r], FEB))).toEqual([
      ["2026-02-06T14:00:00.000Z", "2026-02-06T15:00:00.000Z"],
      ["2026-02-13T10:00:00.000Z", "2026-02-13T11:00:00.000Z"],
      ["2026-02-27T10:00:00.000Z", "2026-02-27T11:00:00.000Z"]
    ])
  })

  it("re-edited exception keeps the latest text", () => {
    const r = parseOrThrow(
      icloudFixture("kashcal__ical__exceptions__live__05_icloud_re_edited_exception.ics")
    )
    expect(Option.getOrThrow(r.overrides[0]?.summary ?? Option.none())).toBe(
      "URGENT Team Meeting (Re-edited)"
    )
    expect(r.overrides[0]?.sequence).toBe(2)
  })

  it("RRULE changed to every other week: an override that no longer matches still shows (never lose a meeting)", () => {
    const r = parseOrThrow(icloudFixture("kashcal__ical__exceptions__live__06_icloud_rrule_changed.ics"))
    expect(Option.getOrThrow(r.master).rrule).toEqual(Option.some("FREQ=WEEKLY;COUNT=10;INTERVAL=2"))
    expect(isoIntervals(FreeBusy.busy([r], FEB))).toEqual([
      ["2026-02-06T14:00:00.000Z", "2026-02-06T15:00:00.000Z"],
      ["2026-02-13T10:00:00.000Z", "2026-02-13T11:00:00.000Z"],
      ["2026-02-27T10:00:00.000Z", "2026-02-27T11:00:00.000Z"]
    ])
  })

  it("every fixture survives serialize/parse with the same content hash", () => {
    for (const name of [
      "kashcal__ical__exceptions__live__01_icloud_master.ics",
      "kashcal__ical__exceptions__live__02_icloud_one_exception_time_moved.ics",
      "kashcal__ical__exceptions__live__03_icloud_two_exceptions.ics",
      "kashcal__ical__exceptions__live__04_icloud_with_exdate.ics",
      "kashcal__ical__exceptions__live__05_icloud_re_edited_exception.ics",
      "kashcal__ical__exceptions__live__06_icloud_rrule_changed.ics",
      "kashcal__ical__extra_properties__full_icloud_event.ics"
    ]) {
      const r = parseOrThrow(icloudFixture(name))
      const again = parseOrThrow(ICalCodec.serialize(r))
      expect(again).toEqual(r)
      expect(ContentHash.of(again)).toBe(ContentHash.of(r))
    }
  })

  it("the Apple event with X-APPLE-* properties: transparent, private, and not busy", () => {
    const r = parseOrThrow(icloudFixture("kashcal__ical__extra_properties__full_icloud_event.ics"))
    const m = Option.getOrThrow(r.master)
    expect(m.transp).toEqual(Option.some("TRANSPARENT"))
    expect(m.class).toEqual(Option.some("PRIVATE"))
    expect(ICalCodec.serialize(r)).not.toContain("X-APPLE")
    expect(
      FreeBusy.busy([r], { start: at("2024-12-01T00:00:00Z"), end: at("2025-01-01T00:00:00Z") })
    ).toEqual([])
    expect(
      FreeBusy.occursWithin(r, { start: at("2024-12-15T14:30:00Z"), end: at("2024-12-15T14:31:00Z") })
    ).toBe(true)
  })
})

describe("all-day events", () => {
  const single = vcalendar(
    "BEGIN:VEVENT",
    "UID:allday-1",
    "DTSTAMP:20260101T000000Z",
    "DTSTART;VALUE=DATE:20260310",
    "DTEND;VALUE=DATE:20260311",
    "SUMMARY:Holiday",
    "END:VEVENT"
  )
  const march = { start: at("2026-03-01T00:00:00Z"), end: at("2026-04-01T00:00:00Z") }

  it("a single day is busy from midnight to midnight, in UTC by default", () => {
    const r = parseOrThrow(single)
    expect(Option.getOrThrow(r.master).allDay).toBe(true)
    expect(isoIntervals(FreeBusy.busy([r], march))).toEqual([
      ["2026-03-10T00:00:00.000Z", "2026-03-11T00:00:00.000Z"]
    ])
  })

  it("is read in the caller's zone when one is given, and can be switched off", () => {
    const r = parseOrThrow(single)
    expect(isoIntervals(FreeBusy.busy([r], march, { floatingZone: "Europe/Berlin" }))).toEqual([
      ["2026-03-09T23:00:00.000Z", "2026-03-10T23:00:00.000Z"]
    ])
    expect(FreeBusy.busy([r], march, { allDayBusy: false })).toEqual([])
  })

  it("a multi-day event covers every day, end exclusive", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:allday-3",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;VALUE=DATE:20260327",
        "DTEND;VALUE=DATE:20260330",
        "END:VEVENT"
      )
    )
    // Across Berlin's DST change the days stay whole local days.
    expect(isoIntervals(FreeBusy.busy([r], march, { floatingZone: "Europe/Berlin" }))).toEqual([
      ["2026-03-26T23:00:00.000Z", "2026-03-29T22:00:00.000Z"]
    ])
  })

  it("a missing DTEND on a DATE start means one day, and is written back as DTEND", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:allday-2",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;VALUE=DATE:20261231",
        "END:VEVENT"
      )
    )
    expect(Option.getOrThrow(r.master).end).toEqual({ _tag: "Date", year: 2027, month: 1, day: 1 })
    expect(ICalCodec.serialize(r)).toContain("DTEND;VALUE=DATE:20270101\r\n")
  })

  it("a yearly all-day birthday recurs on its date", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:birthday",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;VALUE=DATE:19900310",
        "DTEND;VALUE=DATE:19900311",
        "RRULE:FREQ=YEARLY",
        "END:VEVENT"
      )
    )
    expect(isoIntervals(FreeBusy.busy([r], march))).toEqual([
      ["2026-03-10T00:00:00.000Z", "2026-03-11T00:00:00.000Z"]
    ])
  })
})

describe("missing DTEND and DURATION", () => {
  it("a DATE-TIME start without DTEND takes no time: not busy, but it occurs", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:reminder",
        "DTSTAMP:20260101T000000Z",
        "DTSTART:20260310T090000Z",
        "END:VEVENT"
      )
    )
    const m = Option.getOrThrow(r.master)
    expect(m.end).toEqual(m.start)
    const w = { start: at("2026-03-10T00:00:00Z"), end: at("2026-03-11T00:00:00Z") }
    expect(FreeBusy.busy([r], w)).toEqual([])
    expect(FreeBusy.occursWithin(r, w)).toBe(true)
    expect(ICalCodec.serialize(r)).toContain("DTEND:20260310T090000Z\r\n")
  })

  it("DURATION: days in wall time, hours in elapsed time across a DST change", () => {
    const one = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:dur-1",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20260328T120000",
        "DURATION:P1DT1H",
        "END:VEVENT"
      )
    )
    expect(Option.getOrThrow(one.master).end).toMatchObject({ tzid: "Europe/Berlin", day: 29, hour: 13 })
    const two = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:dur-2",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20260328T120000",
        "DURATION:PT25H",
        "END:VEVENT"
      )
    )
    expect(Option.getOrThrow(two.master).end).toMatchObject({ tzid: "Europe/Berlin", day: 29, hour: 14 })
    const allDay = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:dur-3",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;VALUE=DATE:20260328",
        "DURATION:P2D",
        "END:VEVENT"
      )
    )
    expect(Option.getOrThrow(allDay.master).end).toEqual({ _tag: "Date", year: 2026, month: 3, day: 30 })
  })
})

describe("floating times", () => {
  it("stay floating through a round trip and are read in the caller's zone", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:floating-1",
        "DTSTAMP:20260101T000000Z",
        "DTSTART:20260601T090000",
        "DTEND:20260601T100000",
        "END:VEVENT"
      )
    )
    const text = ICalCodec.serialize(r)
    expect(text).toContain("DTSTART:20260601T090000\r\n")
    expect(text).not.toContain("VTIMEZONE")
    const june = { start: at("2026-06-01T00:00:00Z"), end: at("2026-06-02T00:00:00Z") }
    expect(isoIntervals(FreeBusy.busy([r], june, { floatingZone: "America/New_York" }))).toEqual([
      ["2026-06-01T13:00:00.000Z", "2026-06-01T14:00:00.000Z"]
    ])
  })
})

describe("DST in the event's own zone", () => {
  const weekly = (tz: ReadonlyArray<string>, tzid: string, start: string, count: number) =>
    vcalendar(
      ...tz,
      "BEGIN:VEVENT",
      `UID:dst-${tzid}`,
      "DTSTAMP:20260101T000000Z",
      `DTSTART;TZID=${tzid}:${start}`,
      `DTEND;TZID=${tzid}:${start.replace(/T09/, "T10")}`,
      `RRULE:FREQ=WEEKLY;COUNT=${count}`,
      "END:VEVENT"
    )
  const year = { start: at("2026-01-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") }
  const starts = (text: string) => FreeBusy.busy([parseOrThrow(text)], year).map((i) => i.start.toISOString())

  for (const [label, tz] of [
    ["with the document's VTIMEZONE", true],
    ["with only the IANA name", false]
  ] as const) {
    it(`Europe/Berlin, spring and autumn, ${label}`, () => {
      expect(starts(weekly(tz ? BERLIN_VTIMEZONE : [], "Europe/Berlin", "20260316T090000", 3))).toEqual([
        "2026-03-16T08:00:00.000Z",
        "2026-03-23T08:00:00.000Z",
        "2026-03-30T07:00:00.000Z"
      ])
      expect(starts(weekly(tz ? BERLIN_VTIMEZONE : [], "Europe/Berlin", "20261019T090000", 2))).toEqual([
        "2026-10-19T07:00:00.000Z",
        "2026-10-26T08:00:00.000Z"
      ])
    })

    it(`America/New_York, which changes on other dates, ${label}`, () => {
      expect(starts(weekly(tz ? NEW_YORK_VTIMEZONE : [], "America/New_York", "20260302T090000", 3))).toEqual([
        "2026-03-02T14:00:00.000Z",
        "2026-03-09T13:00:00.000Z",
        "2026-03-16T13:00:00.000Z"
      ])
      expect(starts(weekly(tz ? NEW_YORK_VTIMEZONE : [], "America/New_York", "20261026T090000", 2))).toEqual([
        "2026-10-26T13:00:00.000Z",
        "2026-11-02T14:00:00.000Z"
      ])
    })
  }

  it("UNTIL in UTC ends a zoned series on the right local day", () => {
    const text = vcalendar(
      ...BERLIN_VTIMEZONE,
      "BEGIN:VEVENT",
      "UID:until",
      "DTSTAMP:20260101T000000Z",
      "DTSTART;TZID=Europe/Berlin:20260105T090000",
      "DTEND;TZID=Europe/Berlin:20260105T100000",
      // 08:00Z is 09:00 in Berlin: the 7 January occurrence is the last one.
      "RRULE:FREQ=DAILY;UNTIL=20260107T080000Z",
      "END:VEVENT"
    )
    expect(starts(text)).toEqual([
      "2026-01-05T08:00:00.000Z",
      "2026-01-06T08:00:00.000Z",
      "2026-01-07T08:00:00.000Z"
    ])
  })

  it("a generated VTIMEZONE follows rule changes (Mexico City dropped DST in 2022)", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:mexico",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=America/Mexico_City:20200601T100000",
        "DTEND;TZID=America/Mexico_City:20200601T110000",
        "RRULE:FREQ=YEARLY",
        "END:VEVENT"
      )
    )
    const text = ICalCodec.serialize(r)
    expect(text).toContain("TZID:America/Mexico_City")
    const written = parseOrThrow(text)
    expect(written.timezones.map((t) => t.tzid)).toEqual(["America/Mexico_City"])
    const years = { start: at("2020-01-01T00:00:00Z"), end: at("2026-01-01T00:00:00Z") }
    const expected = [
      "2020-06-01T15:00:00.000Z",
      "2021-06-01T15:00:00.000Z",
      "2022-06-01T15:00:00.000Z",
      "2023-06-01T16:00:00.000Z",
      "2024-06-01T16:00:00.000Z",
      "2025-06-01T16:00:00.000Z"
    ]
    expect(FreeBusy.busy([r], years).map((i) => i.start.toISOString())).toEqual(expected)
    expect(FreeBusy.busy([written], years).map((i) => i.start.toISOString())).toEqual(expected)
  })

  it("a generated VTIMEZONE east of Greenwich keeps the last onset of a closed rule (Moscow, 2010 and 2011)", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:moscow",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Europe/Moscow:20090701T100000",
        "DTEND;TZID=Europe/Moscow:20090701T110000",
        "RRULE:FREQ=YEARLY",
        "END:VEVENT"
      )
    )
    const written = parseOrThrow(ICalCodec.serialize(r))
    const years = { start: at("2009-01-01T00:00:00Z"), end: at("2016-01-01T00:00:00Z") }
    const expected = [
      "2009-07-01T06:00:00.000Z",
      "2010-07-01T06:00:00.000Z",
      "2011-07-01T06:00:00.000Z",
      "2012-07-01T06:00:00.000Z",
      "2013-07-01T06:00:00.000Z",
      "2014-07-01T06:00:00.000Z",
      "2015-07-01T07:00:00.000Z"
    ]
    expect(FreeBusy.busy([r], years).map((i) => i.start.toISOString())).toEqual(expected)
    expect(FreeBusy.busy([written], years).map((i) => i.start.toISOString())).toEqual(expected)
  })

  it("the VTIMEZONE is written back for the TZID, and the copy keeps its instants", () => {
    const r = parseOrThrow(weekly(BERLIN_VTIMEZONE, "Europe/Berlin", "20260316T090000", 3))
    const text = ICalCodec.serialize(r)
    expect(text).toContain("BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n")
    expect(starts(text)).toEqual(starts(weekly(BERLIN_VTIMEZONE, "Europe/Berlin", "20260316T090000", 3)))
  })
})

describe("Apple's weekday rule and moved or cancelled instances", () => {
  it("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR skips weekends", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:weekdays",
        "DTSTAMP:20260101T000000Z",
        "DTSTART:20260130T080000Z",
        "DTEND:20260130T083000Z",
        "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR",
        "END:VEVENT"
      )
    )
    const days = FreeBusy.busy([r], {
      start: at("2026-01-30T00:00:00Z"),
      end: at("2026-02-07T00:00:00Z")
    }).map((i) => i.start.toISOString().slice(0, 10))
    expect(days).toEqual(["2026-01-30", "2026-02-02", "2026-02-03", "2026-02-04", "2026-02-05", "2026-02-06"])
  })

  const series = (...overrides: ReadonlyArray<string>) =>
    vcalendar(
      "BEGIN:VEVENT",
      "UID:edge",
      "DTSTAMP:20260101T000000Z",
      "DTSTART:20260302T090000Z",
      "DTEND:20260302T100000Z",
      "RRULE:FREQ=WEEKLY;COUNT=6",
      "END:VEVENT",
      ...overrides
    )
  const override = (rid: string, start: string, end: string, extra: ReadonlyArray<string> = []) => [
    "BEGIN:VEVENT",
    "UID:edge",
    "DTSTAMP:20260101T000000Z",
    `RECURRENCE-ID:${rid}`,
    `DTSTART:${start}`,
    `DTEND:${end}`,
    ...extra,
    "END:VEVENT"
  ]
  // 9, 16 and 23 March are inside; 2 and 30 March and 6 April are outside.
  const window = { start: at("2026-03-09T00:00:00Z"), end: at("2026-03-24T00:00:00Z") }

  it("an instance moved out of the window leaves it; one moved in arrives", () => {
    const r = parseOrThrow(
      series(
        ...override("20260316T090000Z", "20260401T090000Z", "20260401T100000Z"),
        ...override("20260406T090000Z", "20260310T150000Z", "20260310T160000Z")
      )
    )
    expect(isoIntervals(FreeBusy.busy([r], window))).toEqual([
      ["2026-03-09T09:00:00.000Z", "2026-03-09T10:00:00.000Z"],
      ["2026-03-10T15:00:00.000Z", "2026-03-10T16:00:00.000Z"],
      ["2026-03-23T09:00:00.000Z", "2026-03-23T10:00:00.000Z"]
    ])
  })

  it("an instance straddling the window edge is clipped to it", () => {
    const r = parseOrThrow(series(...override("20260323T090000Z", "20260323T230000Z", "20260324T020000Z")))
    expect(isoIntervals(FreeBusy.busy([r], window)).at(-1)).toEqual([
      "2026-03-23T23:00:00.000Z",
      "2026-03-24T00:00:00.000Z"
    ])
  })

  it("a cancelled instance is free, the rest of the series busy", () => {
    const r = parseOrThrow(
      series(...override("20260316T090000Z", "20260316T090000Z", "20260316T100000Z", ["STATUS:CANCELLED"]))
    )
    expect(isoIntervals(FreeBusy.busy([r], window))).toEqual([
      ["2026-03-09T09:00:00.000Z", "2026-03-09T10:00:00.000Z"],
      ["2026-03-23T09:00:00.000Z", "2026-03-23T10:00:00.000Z"]
    ])
  })

  it("a cancelled or transparent series is free", () => {
    const cancelled = parseOrThrow(series().replace("RRULE:", "STATUS:CANCELLED\r\nRRULE:"))
    const transparent = parseOrThrow(series().replace("RRULE:", "TRANSP:TRANSPARENT\r\nRRULE:"))
    expect(FreeBusy.busy([cancelled, transparent], window)).toEqual([])
  })
})

describe("sync window and content hash on real shapes", () => {
  const base = [
    "BEGIN:VEVENT",
    "UID:hash-1",
    "DTSTAMP:20260101T000000Z",
    "DTSTART;TZID=Europe/Berlin:20260105T090000",
    "DTEND;TZID=Europe/Berlin:20260105T100000",
    "SUMMARY:Standup",
    "RRULE:FREQ=WEEKLY;COUNT=4",
    "ATTENDEE;CN=A:mailto:a@example.org",
    "ATTENDEE;CN=B:mailto:b@example.org",
    "END:VEVENT"
  ]
  const withLines = (...extra: ReadonlyArray<string>) => {
    const lines = [...base]
    lines.splice(lines.length - 1, 0, ...extra)
    return parseOrThrow(vcalendar(...lines))
  }

  it("an override moved into the window makes a series outside it occur there", () => {
    const r = parseOrThrow(
      vcalendar(
        ...base,
        "BEGIN:VEVENT",
        "UID:hash-1",
        "DTSTAMP:20260101T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20260126T090000",
        "DTSTART;TZID=Europe/Berlin:20260302T090000",
        "DTEND;TZID=Europe/Berlin:20260302T100000",
        "END:VEVENT"
      )
    )
    const march = { start: at("2026-03-01T00:00:00Z"), end: at("2026-04-01T00:00:00Z") }
    expect(FreeBusy.occursWithin(r, march)).toBe(true)
    expect(FreeBusy.occursWithin(parseOrThrow(vcalendar(...base)), march)).toBe(false)
  })

  it("the hash sees an added EXDATE or moved time, not DTSTAMP, SEQUENCE, LAST-MODIFIED, X- properties or attendee order", () => {
    const h = ContentHash.of(parseOrThrow(vcalendar(...base)))
    expect(
      ContentHash.of(
        withLines(
          "SEQUENCE:5",
          "LAST-MODIFIED:20260301T000000Z",
          "X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC"
        )
      )
    ).toBe(h)
    const reordered = [...base]
    reordered.splice(
      7,
      2,
      "ATTENDEE;CN=B:mailto:b@example.org",
      "ATTENDEE;CN=A;PARTSTAT=ACCEPTED:mailto:a@example.org"
    )
    expect(ContentHash.of(parseOrThrow(vcalendar(...reordered)))).toBe(h)
    expect(ContentHash.of(withLines("EXDATE;TZID=Europe/Berlin:20260112T090000"))).not.toBe(h)
    expect(
      ContentHash.of(parseOrThrow(vcalendar(...base.map((l) => l.replace("T100000", "T103000")))))
    ).not.toBe(h)
    expect(h).toMatch(/^v1:[0-9a-f]{64}$/)
  })
})

describe("tolerant parsing", () => {
  it.effect("duplicated DTSTAMP, LF endings, trailing whitespace, folding and lower-case names", () =>
    Effect.gen(function* () {
      const text = [
        "BEGIN:VCALENDAR ",
        "VERSION:2.0",
        "BEGIN:VEVENT",
        "UID:tolerant-1 ",
        "DTSTAMP:20260129T021729Z",
        "DTSTAMP:20260129T021730Z",
        "dtstart:20260130T100000Z  ",
        "DTEND:20260130T110000Z",
        "SUMMARY:A long summary that goes on and on and on until the line must be fol",
        " ded by the writer",
        "status:confirmed",
        "END:VEVENT\t",
        "",
        "END:VCALENDAR",
        "",
        ""
      ].join("\n")
      const r = yield* ICalCodec.parse(text, { href: "/cal/tolerant.ics" })
      const m = Option.getOrThrow(r.master)
      expect(m.uid).toBe("tolerant-1")
      expect(m.summary).toEqual(
        Option.some("A long summary that goes on and on and on until the line must be folded by the writer")
      )
      expect(m.status).toEqual(Option.some("CONFIRMED"))
    })
  )

  it("a Windows zone name without a VTIMEZONE becomes its IANA zone", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:windows-1",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=W. Europe Standard Time:20260115T100000",
        "DTEND;TZID=W. Europe Standard Time:20260115T110000",
        "END:VEVENT"
      )
    )
    expect(Option.getOrThrow(r.master).start).toMatchObject({ _tag: "ZonedDateTime", tzid: "Europe/Berlin" })
    const text = ICalCodec.serialize(r)
    expect(text).toContain("TZID:Europe/Berlin")
    expect(
      isoIntervals(
        FreeBusy.busy([parseOrThrow(text)], {
          start: at("2026-01-15T00:00:00Z"),
          end: at("2026-01-16T00:00:00Z")
        })
      )
    ).toEqual([["2026-01-15T09:00:00.000Z", "2026-01-15T10:00:00.000Z"]])
  })

  it("a Windows zone name with Outlook's VTIMEZONE keeps the name and uses the definition", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VTIMEZONE",
        "TZID:Eastern Standard Time",
        "BEGIN:STANDARD",
        "DTSTART:16010101T020000",
        "TZOFFSETFROM:-0400",
        "TZOFFSETTO:-0500",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=1SU;BYMONTH=11",
        "END:STANDARD",
        "BEGIN:DAYLIGHT",
        "DTSTART:16010101T020000",
        "TZOFFSETFROM:-0500",
        "TZOFFSETTO:-0400",
        "RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=2SU;BYMONTH=3",
        "END:DAYLIGHT",
        "END:VTIMEZONE",
        "BEGIN:VEVENT",
        "UID:windows-2",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Eastern Standard Time:20260710T090000",
        "DTEND;TZID=Eastern Standard Time:20260710T100000",
        "END:VEVENT"
      )
    )
    expect(Option.getOrThrow(r.master).start).toMatchObject({ tzid: "Eastern Standard Time" })
    expect(r.timezones.map((t) => t.tzid)).toEqual(["Eastern Standard Time"])
    expect(
      isoIntervals(FreeBusy.busy([r], { start: at("2026-07-10T00:00:00Z"), end: at("2026-07-11T00:00:00Z") }))
    ).toEqual([["2026-07-10T13:00:00.000Z", "2026-07-10T14:00:00.000Z"]])
  })

  it("two documents defining the same TZID differently do not see each other's zone", () => {
    const doc = (offset: string, uid: string) =>
      parseOrThrow(
        vcalendar(
          "BEGIN:VTIMEZONE",
          "TZID:Office",
          "BEGIN:STANDARD",
          "DTSTART:19700101T000000",
          `TZOFFSETFROM:${offset}`,
          `TZOFFSETTO:${offset}`,
          "END:STANDARD",
          "END:VTIMEZONE",
          "BEGIN:VEVENT",
          `UID:${uid}`,
          "DTSTAMP:20260101T000000Z",
          "DTSTART;TZID=Office:20260301T120000",
          "DTEND;TZID=Office:20260301T130000",
          "END:VEVENT"
        )
      )
    const w = { start: at("2026-03-01T00:00:00Z"), end: at("2026-03-02T00:00:00Z") }
    expect(isoIntervals(FreeBusy.busy([doc("+0300", "a")], w))).toEqual([
      ["2026-03-01T09:00:00.000Z", "2026-03-01T10:00:00.000Z"]
    ])
    expect(isoIntervals(FreeBusy.busy([doc("-0600", "b")], w))).toEqual([
      ["2026-03-01T18:00:00.000Z", "2026-03-01T19:00:00.000Z"]
    ])
  })

  it("ical.js's process-wide TimezoneService is never filled by our documents", () => {
    const text = vcalendar(
      "BEGIN:VTIMEZONE",
      "TZID:Almanac/Test-Zone",
      "BEGIN:STANDARD",
      "DTSTART:19700101T000000",
      "TZOFFSETFROM:+0500",
      "TZOFFSETTO:+0500",
      "END:STANDARD",
      "END:VTIMEZONE",
      "BEGIN:VEVENT",
      "UID:service",
      "DTSTAMP:20260101T000000Z",
      "DTSTART;TZID=Almanac/Test-Zone:20260301T120000",
      "DURATION:PT1H",
      "RRULE:FREQ=DAILY;COUNT=3",
      "END:VEVENT"
    )
    const r = parseOrThrow(text)
    ICalCodec.serialize(r)
    expect(
      FreeBusy.busy([r], { start: at("2026-03-01T00:00:00Z"), end: at("2026-03-02T00:00:00Z") })
    ).toHaveLength(1)
    expect(ICAL.TimezoneService.has("Almanac/Test-Zone")).toBe(false)
  })

  const badItem = (text: string) => {
    const r = ICalCodec.parseEither(text, { href: "/cal/bad.ics" })
    if (Either.isRight(r)) throw new Error("expected a BadItem")
    expect(r.left._tag).toBe("BadItem")
    expect(r.left.ref).toBe("/cal/bad.ics")
    return r.left.reason
  }

  it("malformed objects are BadItems naming the item, never a crash", () => {
    expect(badItem("this is not a calendar")).toMatch(/not iCalendar|VCALENDAR/)
    expect(badItem(vcalendar("BEGIN:VTODO", "UID:t", "END:VTODO"))).toMatch(/VTODO, not an event/)
    expect(badItem(vcalendar("BEGIN:VEVENT", "UID:x", "DTSTAMP:20260101T000000Z", "END:VEVENT"))).toMatch(
      /DTSTART/
    )
    expect(badItem(vcalendar("BEGIN:VEVENT", "DTSTART:20260101T000000Z", "END:VEVENT"))).toMatch(/UID/)
    expect(badItem(vcalendar("BEGIN:VEVENT", "UID:x", "DTSTART:2026-13-45", "END:VEVENT"))).toMatch(/DTSTART/)
    expect(
      badItem(vcalendar("BEGIN:VEVENT", "UID:x", "DTSTART;TZID=Mars/Olympus:20260101T100000", "END:VEVENT"))
    ).toMatch(/Mars\/Olympus/)
    expect(
      badItem(
        vcalendar("BEGIN:VEVENT", "UID:x", "DTSTART:20260101T100000Z", "RRULE:FREQ=SOMETIMES", "END:VEVENT")
      )
    ).toBeTruthy()
  })

  it.effect("parse fails in the error channel with the BadItem", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(
        ICalCodec.parse("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", { href: "/x.ics" })
      )
      expect(e.ref).toBe("/x.ics")
    })
  )
})

describe("runaway rules", () => {
  const rule = (r: string, start = "20000101T000000Z") =>
    parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:runaway",
        "DTSTAMP:20260101T000000Z",
        `DTSTART:${start}`,
        "DURATION:PT1S",
        `RRULE:${r}`,
        "END:VEVENT"
      )
    )
  const day = { start: at("2026-03-01T00:00:00Z"), end: at("2026-03-02T00:00:00Z") }

  it("an every-minute rule from 2000 over a week is cut by the cap, and the answer says where", () => {
    const week = { start: at("2026-03-01T00:00:00Z"), end: at("2026-03-08T00:00:00Z") }
    const r = FreeBusy.report([rule("FREQ=MINUTELY")], week)
    // Fast-forwarded to a minute before the window (not two days before it: that lead-in would
    // eat 2,880 of the 5,000), then the budget runs out 4,998 minutes in.
    expect(r.cut).toHaveLength(1)
    const until = r.cut[0]?.cut.until.getTime() ?? 0
    expect(until).toBe(week.start.getTime() + 4_998 * 60_000)
    expect(r.busy).toHaveLength(4_999)
    for (const b of r.busy) expect(b.end.getTime()).toBeLessThanOrEqual(until + 1_000)
    expect(FreeBusy.cutReason(r.cut[0]?.cut ?? { reason: "budget", limit: 0, until: week.start })).toContain(
      "more than 5000 times"
    )
  })

  it("an every-minute rule is expanded in full when the cap allows", () => {
    const busy = FreeBusy.busy([rule("FREQ=MINUTELY;INTERVAL=30", "20000101T000000Z")], day)
    expect(busy).toHaveLength(48)
  })

  it("a rule with COUNT cannot be fast-forwarded but is still capped", () => {
    const t0 = Date.now()
    expect(FreeBusy.busy([rule("FREQ=MINUTELY;COUNT=100000000")], day, { maxInstances: 1000 })).toEqual([])
    expect(Date.now() - t0).toBeLessThan(5_000)
  })

  it("an impossible rule (30 February) yields nothing beyond its start", () => {
    const r = rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "20240101T090000Z")
    expect(
      FreeBusy.busy([r], { start: at("2024-02-01T00:00:00Z"), end: at("2030-01-01T00:00:00Z") })
    ).toEqual([])
  })

  it("a daily series from 1990 is found in 2026 without walking 36 years", () => {
    const r = parseOrThrow(
      vcalendar(
        "BEGIN:VEVENT",
        "UID:old-daily",
        "DTSTAMP:20260101T000000Z",
        "DTSTART;TZID=Europe/Berlin:19900101T090000",
        "DTEND;TZID=Europe/Berlin:19900101T093000",
        "RRULE:FREQ=DAILY;INTERVAL=3",
        "END:VEVENT"
      )
    )
    const busy = FreeBusy.busy(
      [r],
      { start: at("2026-07-01T00:00:00Z"), end: at("2026-07-07T00:00:00Z") },
      { maxInstances: 100 }
    )
    // 2026-07-01 is day 13330 after 1990-01-01, 13330 = 3 * 4443 + 1: occurrences on 3 and 6 July.
    expect(isoIntervals(busy)).toEqual([
      ["2026-07-03T07:00:00.000Z", "2026-07-03T07:30:00.000Z"],
      ["2026-07-06T07:00:00.000Z", "2026-07-06T07:30:00.000Z"]
    ])
  })
})
