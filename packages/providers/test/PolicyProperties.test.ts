/**
 * Copies under a policy, tried on generated events: "mark as private" leaks nothing, copies
 * never invite anyone, and a copy always says where it came from.
 */

import { EventModel, Policy } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as EventArbitraries from "../../core/test/support/EventArbitraries.js"
import * as ICalCodec from "../src/ICalCodec.js"
import { parseOrThrow, vcalendar } from "./support/Fixtures.js"

const origin: EventModel.CopyOrigin = { relationship: "rel-1", sourceUid: "source-uid" }

// A marker no part of our own output contains, so any occurrence of it is a leak.
const secret = EventArbitraries.text(1).map((s) => `§${s}`)

/** The text as a reader sees it: unfolded and with TEXT escapes undone. */
const readable = (text: string): string =>
  text
    .replace(/\r\n[ \t]/g, "")
    .replace(/\\[nN]/g, "\n")
    .replace(/\\([,;\\])/g, "$1")

const strings = (r: EventModel.EventResource): ReadonlyArray<string> =>
  EventModel.eventsOf(r).flatMap((e) => [
    ...Option.toArray(e.summary),
    ...Option.toArray(e.description),
    ...Option.toArray(e.location),
    ...[...e.attendees, ...Option.toArray(e.organizer)].flatMap((a) => [
      a.address.replace(/^mailto:/, ""),
      ...Option.toArray(a.name).filter((n) => n.trim().length >= 6)
    ])
  ])

const policy = FastCheck.record({
  markPrivate: FastCheck.boolean(),
  transp: FastCheck.constantFrom<Policy.SyncPolicy["transp"]>("keep", "opaque", "transparent"),
  attendees: FastCheck.boolean()
})

describe("Policy properties", () => {
  it.prop(
    "a private copy contains no string of the source's summary, description, location or people",
    [EventArbitraries.resource(secret), FastCheck.boolean()],
    ([source, attendees]) => {
      const copy = Policy.toCopy(source, { markPrivate: true, transp: "keep", attendees }, origin)
      const text = ICalCodec.serialize(copy)
      const seen = readable(text)
      for (const s of strings(source)) {
        expect(text).not.toContain(s)
        expect(seen).not.toContain(s)
      }
      expect(seen).not.toContain("§")
      expect(seen).not.toMatch(/^(ATTENDEE|ORGANIZER|DESCRIPTION|LOCATION)[;:]/m)
      for (const e of EventModel.eventsOf(copy)) {
        expect(e.summary).toEqual(Option.some("Busy"))
        expect(e.class).toEqual(Option.some("PRIVATE"))
      }
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "every copy keeps the times and recurrence, follows TRANSP and CLASS rules, and never invites",
    [EventArbitraries.resource(), policy],
    ([source, p]) => {
      const copy = Policy.toCopy(source, p, origin)
      const events = EventModel.eventsOf(source)
      const copies = EventModel.eventsOf(copy)
      expect(copies).toHaveLength(events.length)
      events.forEach((e, i) => {
        const c = copies[i]
        if (c === undefined) throw new Error("missing event in copy")
        expect([c.start, c.end, c.recurrenceId, c.rrule, c.exdates, c.rdates, c.status]).toEqual([
          e.start,
          e.end,
          e.recurrenceId,
          e.rrule,
          e.exdates,
          e.rdates,
          e.status
        ])
        expect(c.transp).toEqual(
          p.transp === "keep" ? e.transp : Option.some(p.transp === "opaque" ? "OPAQUE" : "TRANSPARENT")
        )
        expect(c.class).toEqual(p.markPrivate ? Option.some("PRIVATE") : e.class)
        if (!p.markPrivate)
          expect([c.summary, c.description, c.location]).toEqual([e.summary, e.description, e.location])
        const people = [...c.attendees, ...Option.toArray(c.organizer)]
        if (!p.attendees || p.markPrivate) expect(people).toEqual([])
        else {
          expect(c.attendees.map((a) => a.address)).toEqual(e.attendees.map((a) => a.address))
          for (const a of people) expect(a.scheduleAgent).toEqual(Option.some("CLIENT"))
        }
      })
      const back = ICalCodec.parseEither(ICalCodec.serialize(copy), { href: "/copy.ics" })
      expect(Either.map(back, (r) => r.origin)).toEqual(Either.right(Option.some(origin)))
      const unfolded = ICalCodec.serialize(copy).replace(/\r\n[ \t]/g, "")
      for (const line of unfolded.split("\r\n").filter((l) => /^(ATTENDEE|ORGANIZER)[;:]/.test(l))) {
        expect(line).toMatch(/;SCHEDULE-AGENT=CLIENT[;:]/)
      }
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "withSequence sets SEQUENCE on every event and changes nothing else",
    [EventArbitraries.resource(), FastCheck.nat({ max: 100_000 })],
    ([source, n]) => {
      const bumped = Policy.withSequence(source, n)
      for (const e of EventModel.eventsOf(bumped)) expect(e.sequence).toBe(n)
      const strip = (r: EventModel.EventResource) =>
        EventModel.eventsOf(r).map((e) => ({ ...e, sequence: 0 }))
      expect(strip(bumped)).toEqual(strip(source))
    },
    EventArbitraries.propOptions()
  )
})

describe("Policy on an iCloud-style event", () => {
  const source = parseOrThrow(
    vcalendar(
      "BEGIN:VEVENT",
      "UID:apple-1",
      "DTSTAMP:20260101T000000Z",
      "DTSTART:20260310T090000Z",
      "DTEND:20260310T100000Z",
      "SUMMARY:Dentist",
      "DESCRIPTION:Root canal",
      "LOCATION:Main St 1",
      "CATEGORIES:Health",
      "COLOR:red",
      "ATTACH:https://example.org/x.pdf",
      "X-GOOGLE-CONFERENCE:https://meet.example.org/abc",
      "ORGANIZER;CN=Dr Who:mailto:doctor@example.org",
      "ATTENDEE;CN=Me;PARTSTAT=ACCEPTED:mailto:me@example.org",
      "BEGIN:VALARM",
      "ACTION:DISPLAY",
      "TRIGGER:-PT15M",
      "END:VALARM",
      "END:VEVENT"
    )
  )

  it("a full copy drops alarms, attachments, categories, colour, conference data and PARTSTAT", () => {
    const text = ICalCodec.serialize(
      Policy.toCopy(source, { markPrivate: false, transp: "keep", attendees: true }, origin)
    )
    for (const gone of ["VALARM", "ATTACH", "CATEGORIES", "COLOR", "X-GOOGLE", "PARTSTAT"])
      expect(text).not.toContain(gone)
    expect(text).toContain("SUMMARY:Dentist")
    expect(text).toContain("ATTENDEE;CN=Me;SCHEDULE-AGENT=CLIENT:mailto:me@example.org")
    expect(text).toContain("X-ALMANAC-ORIGIN:almanac:v1?relationship=rel-1&source-uid=source-uid")
  })

  it("without privacy CLASS stays as it was, omitted included", () => {
    const copy = Policy.toCopy(source, Policy.defaultPolicy, origin)
    expect(Option.getOrThrow(copy.master).class).toEqual(Option.none())
    expect(ICalCodec.serialize(copy)).not.toContain("CLASS")
    expect(ICalCodec.serialize(copy)).not.toContain("ATTENDEE")
  })

  it("the schema decodes a policy with attendees off by default", () => {
    expect(Policy.decodePolicy({ markPrivate: true, transp: "keep" })).toEqual(
      Either.right({ markPrivate: true, transp: "keep", attendees: false })
    )
  })
})
