/**
 * Measurements for `npm run bench`: a synthetic corpus in the shapes real calendars have,
 * codec throughput next to a plain ical.js parse of the same text, and free/busy time.
 * Deterministic (no randomness), so runs compare.
 */
import { performance } from "node:perf_hooks"
import * as Either from "effect/Either"
import ICAL from "ical.js"
import type * as EventModel from "../EventModel.js"
import * as FreeBusy from "../FreeBusy.js"
import * as ICalCodec from "../ICalCodec.js"

const BERLIN = [
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

const pad = (n: number) => String(n).padStart(2, "0")

/**
 * `n` calendar objects for 2026: a third single zoned meetings, a fifth weekly series with a
 * moved instance and an EXDATE, a fifth all-day, the rest UTC events with attendees and alarms.
 */
export const corpus = (n: number, calendar = 0): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let i = 0; i < n; i++) {
    const month = (i % 12) + 1
    const day = (i % 27) + 1
    const hour = 8 + (i % 9)
    const date = `2026${pad(month)}${pad(day)}`
    const uid = `bench-${calendar}-${i}@almanac.test`
    const head = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Apple Inc.//macOS 14.0//EN",
      "CALSCALE:GREGORIAN"
    ]
    const stamp = "DTSTAMP:20260101T000000Z"
    let body: Array<string>
    switch (i % 15) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
        body = [
          ...BERLIN,
          "BEGIN:VEVENT",
          `UID:${uid}`,
          stamp,
          `DTSTART;TZID=Europe/Berlin:${date}T${pad(hour)}0000`,
          `DTEND;TZID=Europe/Berlin:${date}T${pad(hour + 1)}0000`,
          `SUMMARY:Meeting ${i}`,
          "LOCATION:Room 4\\, second floor",
          "END:VEVENT"
        ]
        break
      case 5:
      case 6:
      case 7: {
        const moved = `2026${pad(month)}${pad(day)}`
        body = [
          ...BERLIN,
          "BEGIN:VEVENT",
          `UID:${uid}`,
          stamp,
          `DTSTART;TZID=Europe/Berlin:${date}T${pad(hour)}0000`,
          `DTEND;TZID=Europe/Berlin:${date}T${pad(hour)}3000`,
          `SUMMARY:Weekly ${i}`,
          "RRULE:FREQ=WEEKLY;COUNT=40",
          `EXDATE;TZID=Europe/Berlin:${moved}T${pad(hour)}0000`,
          "END:VEVENT",
          "BEGIN:VEVENT",
          `UID:${uid}`,
          stamp,
          `RECURRENCE-ID;TZID=Europe/Berlin:${date}T${pad(hour)}0000`,
          `DTSTART;TZID=Europe/Berlin:${date}T${pad(hour + 2)}0000`,
          `DTEND;TZID=Europe/Berlin:${date}T${pad(hour + 2)}3000`,
          `SUMMARY:Weekly ${i} (moved)`,
          "END:VEVENT"
        ]
        break
      }
      case 8:
      case 9:
      case 10:
        body = [
          "BEGIN:VEVENT",
          `UID:${uid}`,
          stamp,
          stamp,
          `DTSTART;VALUE=DATE:${date}`,
          `DTEND;VALUE=DATE:${date.slice(0, 6)}${pad(Math.min(day + 1 + (i % 3), 28))}`,
          `SUMMARY:Trip ${i}`,
          "TRANSP:TRANSPARENT",
          "END:VEVENT"
        ]
        break
      default:
        body = [
          "BEGIN:VEVENT",
          `UID:${uid}`,
          stamp,
          `DTSTART:${date}T${pad(hour)}1500Z`,
          `DTEND:${date}T${pad(hour + 1)}0000Z`,
          `SUMMARY:Call with customer ${i}`,
          "DESCRIPTION:Agenda:\\n1. status\\n2. next steps; budget\\, timing",
          "ORGANIZER;CN=Boss:mailto:boss@example.org",
          "ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:me@example.org",
          "ATTENDEE;CN=Customer;PARTSTAT=NEEDS-ACTION:mailto:customer@example.org",
          "BEGIN:VALARM",
          "ACTION:DISPLAY",
          "TRIGGER:-PT10M",
          "END:VALARM",
          "END:VEVENT"
        ]
    }
    out.push(`${[...head, ...body, "END:VCALENDAR"].join("\r\n")}\r\n`)
  }
  return out
}

export interface CodecResult {
  readonly items: number
  readonly parsePerSecond: number
  readonly serializePerSecond: number
  readonly roundTripPerSecond: number
  readonly plainIcalParsePerSecond: number
}

const rate = (items: number, ms: number) => Math.round((items / Math.max(ms, 0.001)) * 1000)

/** Parse, serialize and plain `ICAL.parse` throughput over the same texts (items per second). */
export const codec = (texts: ReadonlyArray<string>, rounds = 3): CodecResult => {
  const parsed: Array<EventModel.EventResource> = []
  let parseMs = Number.POSITIVE_INFINITY
  let serializeMs = Number.POSITIVE_INFINITY
  let plainMs = Number.POSITIVE_INFINITY
  for (let round = 0; round < rounds; round++) {
    parsed.length = 0
    let t = performance.now()
    for (const text of texts) {
      const r = ICalCodec.parseEither(text, { href: "bench" })
      if (Either.isRight(r)) parsed.push(r.right)
    }
    parseMs = Math.min(parseMs, performance.now() - t)
    t = performance.now()
    for (const r of parsed) ICalCodec.serialize(r)
    serializeMs = Math.min(serializeMs, performance.now() - t)
    t = performance.now()
    for (const text of texts) ICAL.parse(text)
    plainMs = Math.min(plainMs, performance.now() - t)
  }
  return {
    items: texts.length,
    parsePerSecond: rate(texts.length, parseMs),
    serializePerSecond: rate(texts.length, serializeMs),
    roundTripPerSecond: rate(texts.length, parseMs + serializeMs),
    plainIcalParsePerSecond: rate(texts.length, plainMs)
  }
}

/** Milliseconds for one free/busy over `calendars` (already parsed) and a window. */
export const freeBusy = (
  calendars: ReadonlyArray<ReadonlyArray<EventModel.EventResource>>,
  window: { readonly start: Date; readonly end: Date }
): { readonly ms: number; readonly intervals: number } => {
  const t = performance.now()
  const busy = FreeBusy.busy(calendars.flat(), window)
  return { ms: Math.round((performance.now() - t) * 10) / 10, intervals: busy.length }
}
