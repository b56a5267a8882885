/**
 * The Google codec on generated events of every shape (core's arbitraries), and on Google JSON
 * written by hand from the documented resource (docs/providers.md A.3, A.6, A.7).
 */
import { ContentHash, EventModel } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as EventArbitraries from "../../../core/test/support/EventArbitraries.js"
import { GoogleCodec } from "../../src/index.js"

const ZONE = "Europe/Berlin"

/** What Google would hand back, as far as JSON goes: a wire round trip of what we wrote. */
const overTheWire = (encoded: GoogleCodec.EncodedSeries): ReadonlyArray<unknown> =>
  JSON.parse(JSON.stringify([encoded.master, ...encoded.exceptions]))

const UNREPRESENTABLE = [
  "changed instances of a series without the series itself, which Google cannot hold",
  "a cancelled event: on Google a cancelled event is a deleted one",
  "changed instances of an event that does not repeat"
]

describe("GoogleCodec properties", () => {
  it.prop(
    "normalize is idempotent",
    [EventArbitraries.resource(), FastCheck.constantFrom(ZONE, "UTC", "America/New_York")],
    ([resource, zone]) => {
      const once = GoogleCodec.normalize(resource, zone)
      expect(GoogleCodec.normalize(once, zone)).toEqual(once)
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "decode(encode(normalize(r))) has the content hash of normalize(r), or encode says why Google cannot hold r",
    [EventArbitraries.resource(), FastCheck.constantFrom(ZONE, "UTC", "Australia/Sydney")],
    ([resource, zone]) => {
      const normal = GoogleCodec.normalize(resource, zone)
      const encoded = GoogleCodec.encode(normal, { masterId: "abcdefghij0123456789", calendarZone: zone })
      if (Either.isLeft(encoded)) {
        expect(UNREPRESENTABLE).toContain(encoded.left.reason)
        return
      }
      const decoded = GoogleCodec.decode("abcdefghij0123456789", overTheWire(encoded.right), {
        calendarZone: zone
      })
      if (Either.isLeft(decoded)) throw new Error(decoded.left.reason)
      expect(ContentHash.of(decoded.right)).toBe(ContentHash.of(normal))
      expect(decoded.right.master).toEqual(normal.master)
      expect(decoded.right.overrides).toEqual(normal.overrides)
      expect(decoded.right.origin).toEqual(normal.origin)
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "encode writes what Google accepts: ids, no floating time, a zone on every timed start, the origin on every member",
    [EventArbitraries.resource()],
    ([resource]) => {
      const encoded = GoogleCodec.encode(resource, { masterId: "abcdefghij0123456789", calendarZone: ZONE })
      if (Either.isLeft(encoded)) return
      const { master, exceptions } = encoded.right
      expect(GoogleCodec.isValidEventId(master.id)).toBe(true)
      for (const e of [master, ...exceptions]) {
        for (const t of [e.start, e.end, e.originalStartTime]) {
          if (t === undefined || t.date !== undefined) continue
          expect(t.timeZone).toBeDefined()
          expect(t.dateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?$/)
        }
        expect(e.attendees).toBeUndefined()
        expect(e.organizer).toBeUndefined()
        expect(e.extendedProperties?.private?.[GoogleCodec.PROPERTY_UID]).toBe(resource.uid)
        expect(e.extendedProperties?.private?.[GoogleCodec.PROPERTY_SOURCE_UID]).toBe(
          Option.getOrUndefined(Option.map(resource.origin, (o) => o.sourceUid))
        )
      }
      for (const x of exceptions) {
        expect(x.recurringEventId).toBe(master.id)
        expect(x.id).toMatch(/^abcdefghij0123456789_\d{8}(T\d{6}Z)?$/)
      }
      expect(master.recurrence?.some((l) => l.startsWith("DTSTART")) ?? false).toBe(false)
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "anything at all as Google's answer decodes or is a BadItem with a reason; it never throws",
    [
      FastCheck.array(
        FastCheck.oneof(
          FastCheck.jsonValue(),
          FastCheck.record({
            id: FastCheck.constant("m0000"),
            start: FastCheck.jsonValue(),
            end: FastCheck.jsonValue(),
            recurrence: FastCheck.jsonValue(),
            status: FastCheck.jsonValue()
          })
        ),
        { maxLength: 3 }
      )
    ],
    ([members]) => {
      const decoded = GoogleCodec.decode("m0000", members, { calendarZone: ZONE })
      if (Either.isLeft(decoded)) {
        expect(decoded.left._tag).toBe("BadItem")
        expect(decoded.left.reason.length).toBeGreaterThan(0)
      }
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "eventIdFor gives a base32hex id Google accepts, the same for the same key and different for others",
    [FastCheck.string({ maxLength: 300 }), FastCheck.string({ maxLength: 300 })],
    ([a, b]) => {
      const id = GoogleCodec.eventIdFor(a)
      expect(GoogleCodec.isValidEventId(id)).toBe(true)
      expect(id).toHaveLength(52)
      expect(GoogleCodec.eventIdFor(a)).toBe(id)
      if (a !== b) expect(GoogleCodec.eventIdFor(b)).not.toBe(id)
    },
    EventArbitraries.propOptions()
  )
})

describe("GoogleCodec on Google's own shapes", () => {
  const master = {
    kind: "calendar#event",
    id: "weekly0001",
    etag: '"3181161784712000"',
    status: "confirmed",
    iCalUID: "weekly0001@google.com",
    summary: "Standup",
    start: { dateTime: "2026-12-01T10:00:00+01:00", timeZone: "Europe/Berlin" },
    end: { dateTime: "2026-12-01T10:15:00+01:00", timeZone: "Europe/Berlin" },
    recurrence: ["RRULE:FREQ=WEEKLY;COUNT=6", "EXDATE;TZID=Europe/Berlin:20261222T100000"],
    organizer: { email: "me@example.org", self: true },
    attendees: [{ email: "ana@example.org", displayName: "Ana", responseStatus: "accepted" }],
    visibility: "private",
    transparency: "transparent",
    sequence: 2,
    reminders: { useDefault: true }
  }
  const moved = {
    id: "weekly0001_20261208T090000Z",
    etag: '"1"',
    status: "confirmed",
    recurringEventId: "weekly0001",
    originalStartTime: { dateTime: "2026-12-08T10:00:00+01:00", timeZone: "Europe/Berlin" },
    summary: "Standup (moved)",
    start: { dateTime: "2026-12-08T14:00:00+01:00", timeZone: "Europe/Berlin" },
    end: { dateTime: "2026-12-08T14:15:00+01:00", timeZone: "Europe/Berlin" }
  }
  const cancelled = {
    id: "weekly0001_20261215T090000Z",
    status: "cancelled",
    recurringEventId: "weekly0001",
    originalStartTime: { dateTime: "2026-12-15T09:00:00Z" }
  }

  it("a master, a moved instance and a cancelled one are one resource; the cancelled instance is an EXDATE", () => {
    const r = GoogleCodec.decode("weekly0001", [master, moved, cancelled], { calendarZone: ZONE })
    if (Either.isLeft(r)) throw new Error(r.left.reason)
    const m = Option.getOrThrow(r.right.master)
    expect(r.right.uid).toBe("weekly0001@google.com")
    expect(m.start).toEqual(EventModel.zoned("Europe/Berlin", 2026, 12, 1, 10, 0, 0))
    expect(m.rrule).toEqual(Option.some("FREQ=WEEKLY;COUNT=6"))
    expect(m.exdates).toEqual(
      expect.arrayContaining([
        EventModel.zoned("Europe/Berlin", 2026, 12, 15, 10, 0, 0),
        EventModel.zoned("Europe/Berlin", 2026, 12, 22, 10, 0, 0)
      ])
    )
    expect(m.exdates).toHaveLength(2)
    expect(m.class).toEqual(Option.some("PRIVATE"))
    expect(m.transp).toEqual(Option.some("TRANSPARENT"))
    expect(m.organizer).toEqual(Option.none())
    expect(m.attendees.map((a) => a.address)).toEqual(["mailto:ana@example.org"])
    expect(m.sequence).toBe(2)
    expect(r.right.overrides).toHaveLength(1)
    expect(r.right.overrides[0]?.recurrenceId).toEqual(
      Option.some(EventModel.zoned("Europe/Berlin", 2026, 12, 8, 10, 0, 0))
    )
    expect(r.right.overrides[0]?.start).toEqual(EventModel.zoned("Europe/Berlin", 2026, 12, 8, 14, 0, 0))
    expect(r.right.origin).toEqual(Option.none())
  })

  it("all-day events keep Google's exclusive end date", () => {
    const r = GoogleCodec.decode(
      "allday001",
      [{ id: "allday001", iCalUID: "x@y", start: { date: "2026-12-24" }, end: { date: "2026-12-27" } }],
      { calendarZone: ZONE }
    )
    const m = Either.map(r, (x) => Option.getOrThrow(x.master))
    expect(Either.map(m, (e) => [e.start, e.end, e.allDay])).toEqual(
      Either.right([EventModel.date(2026, 12, 24), EventModel.date(2026, 12, 27), true])
    )
  })

  it("a floating time becomes the calendar's zone, and the instance id is in UTC basic format", () => {
    const resource = EventModel.makeResource(
      EventModel.makeEvent({
        uid: "f@x",
        start: EventModel.floating(2026, 7, 1, 9, 0, 0),
        end: EventModel.floating(2026, 7, 1, 10, 0, 0),
        rrule: Option.some("FREQ=DAILY;COUNT=3")
      }),
      [
        EventModel.makeEvent({
          uid: "f@x",
          recurrenceId: Option.some(EventModel.floating(2026, 7, 2, 9, 0, 0)),
          start: EventModel.floating(2026, 7, 2, 11, 0, 0),
          end: EventModel.floating(2026, 7, 2, 12, 0, 0)
        })
      ]
    )
    const encoded = GoogleCodec.encode(resource, { masterId: "abcde12345", calendarZone: ZONE })
    if (Either.isLeft(encoded)) throw new Error(encoded.left.reason)
    expect(encoded.right.master.start).toEqual({ dateTime: "2026-07-01T09:00:00", timeZone: ZONE })
    expect(encoded.right.exceptions.map((e) => e.id)).toEqual(["abcde12345_20260702T070000Z"])
    const allDay = GoogleCodec.instanceId("abcde12345", EventModel.date(2026, 12, 3))
    expect(allDay).toBe("abcde12345_20261203")
  })

  it("the copy's origin and UID come back from extendedProperties.private", () => {
    const resource: EventModel.EventResource = {
      ...EventModel.makeResource(
        EventModel.makeEvent({
          uid: "src-uid",
          start: EventModel.utc(2026, 1, 1, 8),
          end: EventModel.utc(2026, 1, 1, 9)
        })
      ),
      origin: Option.some({ relationship: "rel-1", sourceUid: "src-uid" })
    }
    const encoded = Either.getOrThrow(
      GoogleCodec.encode(resource, { masterId: "copy00001", calendarZone: ZONE })
    )
    expect(encoded.master.extendedProperties?.private).toEqual({
      almanacUid: "src-uid",
      almanacRelationship: "rel-1",
      almanacSourceUid: "src-uid"
    })
    const back = GoogleCodec.decode("copy00001", [{ ...encoded.master, iCalUID: "copy00001@google.com" }], {
      calendarZone: ZONE
    })
    expect(Either.map(back, (r) => [r.uid, r.origin])).toEqual(
      Either.right(["src-uid", Option.some({ relationship: "rel-1", sourceUid: "src-uid" })])
    )
  })

  it("an exception that only repeats its occurrence (an undone override) is no override, on both sides", () => {
    const series = GoogleCodec.normalize(
      EventModel.makeResource(
        EventModel.makeEvent({
          uid: "u@x",
          summary: Option.some("Weekly"),
          start: EventModel.zoned(ZONE, 2026, 3, 22, 10),
          end: EventModel.zoned(ZONE, 2026, 3, 22, 11),
          rrule: Option.some("FREQ=WEEKLY;COUNT=4")
        })
      ),
      ZONE
    )
    // Across the DST change of 29 March: still 10:00–11:00 local.
    const occurrence = Either.getOrThrow(
      GoogleCodec.encodeOccurrence(
        series,
        { dateTime: "2026-03-29T08:00:00Z" },
        { masterId: "abcde12345", calendarZone: ZONE }
      )
    )
    expect([occurrence.id, occurrence.start, occurrence.end]).toEqual([
      "abcde12345_20260329T080000Z",
      { dateTime: "2026-03-29T10:00:00", timeZone: ZONE },
      { dateTime: "2026-03-29T11:00:00", timeZone: ZONE }
    ])
    const master = Either.getOrThrow(
      GoogleCodec.encode(series, { masterId: "abcde12345", calendarZone: ZONE })
    ).master
    const decoded = Either.getOrThrow(
      GoogleCodec.decode("abcde12345", [master, occurrence], { calendarZone: ZONE })
    )
    expect(decoded.overrides).toEqual([])
    const renamed = { ...occurrence, summary: "Different" }
    expect(
      Either.getOrThrow(GoogleCodec.decode("abcde12345", [master, renamed], { calendarZone: ZONE })).overrides
    ).toHaveLength(1)
  })

  it("malformed events are BadItems with a reason a person can read", () => {
    const reasons = [
      [{ id: "a0000", start: { dateTime: "yesterday" }, end: { date: "2026-01-01" }, iCalUID: "u" }],
      [{ id: "a0000", start: { date: "2026-02-30" }, end: { date: "2026-03-01" }, iCalUID: "u" }],
      [
        {
          id: "a0000",
          start: { date: "2026-02-01" },
          end: { date: "2026-03-01" },
          iCalUID: "u",
          visibility: "secret"
        }
      ],
      [
        {
          id: "a0000",
          start: { date: "2026-02-01" },
          end: { date: "2026-03-01" },
          iCalUID: "u",
          recurrence: ["EXRULE:FREQ=DAILY"]
        }
      ],
      [
        {
          id: "a0000",
          start: { dateTime: "2026-02-01T10:00:00", timeZone: "Mars/Olympus" },
          end: { date: "2026-03-01" },
          iCalUID: "u"
        }
      ],
      [{ id: "a0000", sequence: "seven" }],
      [{ id: "a0000_20260101", recurringEventId: "a0000", start: { date: "2026-01-01" } }],
      [{ id: "a0000", status: "cancelled" }]
    ].map((members) => {
      const r = GoogleCodec.decode("a0000", members, { calendarZone: ZONE })
      return Either.isLeft(r) ? r.left.reason : "decoded"
    })
    expect(reasons).toEqual([
      'start.dateTime "yesterday" is not an RFC 3339 time',
      'start.date "2026-02-30" is not a date',
      'unknown visibility "secret"',
      "an EXRULE (deprecated by RFC 5545), which Almanac does not sync",
      'start.timeZone "Mars/Olympus" is not a time zone',
      expect.stringContaining("an event Almanac cannot read"),
      "only instances of this series are here, not the series itself",
      "the event is deleted"
    ])
  })
})
