/**
 * The iCalendar codec, tried on generated events of every shape: what we write, we read back
 * unchanged; and the laws every codec keeps (CodecLaws).
 */

import { ContentHash, type EventModel, Recurrence } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as CodecLaws from "../../core/test/support/CodecLaws.js"
import * as EventArbitraries from "../../core/test/support/EventArbitraries.js"
import * as ICalCodec from "../src/ICalCodec.js"

const ruleParts = (rule: string): ReadonlyArray<string> => rule.split(";").sort()

/** The resource as we expect to read it back: RRULE parts compared as a set. */
const comparable = (r: EventModel.EventResource) => {
  const event = (e: EventModel.VEvent) => ({ ...e, rrule: Option.map(e.rrule, ruleParts) })
  return { ...r, master: Option.map(r.master, event), overrides: r.overrides.map(event), timezones: [] }
}

const now = new Date("2026-11-21T12:00:00Z")

const roundTrip = (r: EventModel.EventResource) => {
  const text = ICalCodec.serialize(r, { now })
  const parsed = ICalCodec.parseEither(text, { href: "/generated.ics" })
  if (Either.isLeft(parsed)) throw new Error(`${parsed.left.reason}\n${text}`)
  return { text, parsed: parsed.right }
}

describe("ICalCodec properties", () => {
  it.prop(
    "serialize then parse gives back the same resource",
    [EventArbitraries.resource()],
    ([resource]) => {
      const { parsed } = roundTrip(resource)
      expect(comparable(parsed)).toEqual(comparable(resource))
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "serializing what we parsed gives the same text, and the same content hash",
    [EventArbitraries.resource()],
    ([resource]) => {
      const first = roundTrip(resource)
      const second = roundTrip(first.parsed)
      expect(second.text).toBe(first.text)
      expect(ContentHash.of(second.parsed)).toBe(ContentHash.of(first.parsed))
      expect(ContentHash.of(first.parsed)).toBe(ContentHash.of(resource))
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "what we write is what servers accept: CRLF, folded at 75 octets, DTEND always, a VTIMEZONE per TZID, no METHOD",
    [EventArbitraries.resource()],
    ([resource]) => {
      const { text } = roundTrip(resource)
      expect(text.endsWith("\r\n")).toBe(true)
      const lines = text.slice(0, -2).split("\r\n")
      for (const line of lines) {
        expect(Buffer.byteLength(line, "utf8")).toBeLessThanOrEqual(75)
        expect(line).not.toMatch(/[\r\n]/)
      }
      const unfolded = text.replace(/\r\n[ \t]/g, "")
      expect(unfolded).not.toMatch(/^METHOD:/m)
      expect(unfolded).toMatch(/^PRODID:-\/\/Almanac\/\//m)
      const events = unfolded.split("BEGIN:VEVENT").length - 1
      expect(unfolded.match(/^DTSTAMP:20261121T120000Z$/gm)?.length).toBe(events)
      expect(unfolded.match(/^DTEND[;:]/gm)?.length).toBe(events)
      const used = new Set([...unfolded.matchAll(/;TZID=([^;:]+)[;:]/g)].map((m) => m[1]))
      const defined = new Set([...unfolded.matchAll(/^TZID:(.+)$/gm)].map((m) => m[1]))
      expect(defined).toEqual(used)
      expect(unfolded.match(/^X-ALMANAC-ORIGIN:/gm)?.length ?? 0).toBe(
        Option.isSome(resource.origin) ? events : 0
      )
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "the content hash ignores DTSTAMP, SEQUENCE and LAST-MODIFIED but sees the summary",
    [EventArbitraries.resource()],
    ([resource]) => {
      const bumped: EventModel.EventResource = {
        ...resource,
        master: Option.map(resource.master, (e) => ({
          ...e,
          sequence: e.sequence + 1,
          lastModified: Option.none()
        })),
        overrides: resource.overrides.map((e) => ({ ...e, sequence: e.sequence + 7 }))
      }
      const a = roundTrip(resource).parsed
      const b = ICalCodec.parseEither(ICalCodec.serialize(bumped, { now: new Date(0) }), { href: "/b.ics" })
      expect(Either.map(b, ContentHash.of)).toEqual(Either.right(ContentHash.of(a)))
      const renamed: EventModel.EventResource = {
        ...resource,
        master: Option.map(resource.master, (e) => ({
          ...e,
          summary: Option.some(`${Option.getOrElse(e.summary, () => "")}!`)
        })),
        overrides: resource.overrides.map((e) => ({
          ...e,
          summary: Option.some(`${Option.getOrElse(e.summary, () => "")}!`)
        }))
      }
      expect(ContentHash.of(renamed)).not.toBe(ContentHash.of(resource))
    },
    EventArbitraries.propOptions()
  )
})

describe("the iCalendar codec keeps the codec laws", () => {
  CodecLaws.laws({
    encode: (r) => ICalCodec.serialize(r, { now }),
    decode: (text) => ICalCodec.parseEither(text, { href: "/law.ics" }),
    normalize: ICalCodec.normalize
  })
})

describe("recurrence through the codec", () => {
  const window = { start: new Date("2026-01-01T00:00:00Z"), end: new Date("2027-01-01T00:00:00Z") }
  const starts = (r: EventModel.EventResource) =>
    Recurrence.instances(r, window, { maxInstances: 400 })
      .map((i) => `${i.start.toISOString()}/${i.end.toISOString()}`)
      .sort()

  it.prop(
    "what we read back expands to the same instances, its VTIMEZONEs included",
    [EventArbitraries.resource(EventArbitraries.text(), { min: 2026, max: 2026 })],
    ([resource]) => {
      expect(starts(roundTrip(resource).parsed)).toEqual(starts(resource))
    },
    EventArbitraries.propOptions()
  )
})
