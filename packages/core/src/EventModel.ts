/**
 * The event model: what one CalDAV calendar object holds, restricted to the fields Almanac
 * syncs. Everything else (alarms, attachments, categories, X- properties, PARTSTAT) is not
 * modelled and therefore never reaches a copy.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Civil from "./internal/Civil.js"

const Year = Schema.Int.pipe(Schema.between(1, 9999))
const Month = Schema.Int.pipe(Schema.between(1, 12))
const Day = Schema.Int.pipe(Schema.between(1, 31))
const Hour = Schema.Int.pipe(Schema.between(0, 23))
const Minute = Schema.Int.pipe(Schema.between(0, 59))
const Second = Schema.Int.pipe(Schema.between(0, 59))

const validDay = (d: { readonly year: number; readonly month: number; readonly day: number }) =>
  Civil.isValidDate(d.year, d.month, d.day) || `${d.year}-${d.month}-${d.day} is not a calendar date`

const timeFields = { year: Year, month: Month, day: Day, hour: Hour, minute: Minute, second: Second }

/** A DATE value: an all-day event's day, with no time and no zone. */
export const DateOnly = Schema.TaggedStruct("Date", { year: Year, month: Month, day: Day }).pipe(
  Schema.filter(validDay)
)
export type DateOnly = typeof DateOnly.Type

/** A DATE-TIME in UTC (`...Z`). */
export const UtcDateTime = Schema.TaggedStruct("UtcDateTime", timeFields).pipe(Schema.filter(validDay))
export type UtcDateTime = typeof UtcDateTime.Type

/** A DATE-TIME with a TZID: wall-clock fields in a named zone. */
export const ZonedDateTime = Schema.TaggedStruct("ZonedDateTime", {
  ...timeFields,
  tzid: Schema.NonEmptyTrimmedString
}).pipe(Schema.filter(validDay))
export type ZonedDateTime = typeof ZonedDateTime.Type

/** A DATE-TIME with neither `Z` nor TZID: the same wall time wherever the reader is. */
export const FloatingDateTime = Schema.TaggedStruct("FloatingDateTime", timeFields).pipe(
  Schema.filter(validDay)
)
export type FloatingDateTime = typeof FloatingDateTime.Type

export const DateValue = Schema.Union(DateOnly, UtcDateTime, ZonedDateTime, FloatingDateTime)
export type DateValue = typeof DateValue.Type

export const Status = Schema.Literal("TENTATIVE", "CONFIRMED", "CANCELLED")
export type Status = typeof Status.Type

export const Transparency = Schema.Literal("OPAQUE", "TRANSPARENT")
export type Transparency = typeof Transparency.Type

/** CLASS: PUBLIC, PRIVATE, CONFIDENTIAL or an x-name; kept upper-case. Omitted means PUBLIC. */
export const Classification = Schema.NonEmptyTrimmedString
export type Classification = typeof Classification.Type

/**
 * An ORGANIZER or ATTENDEE: the calendar user address (usually `mailto:`), the display name
 * (CN) and SCHEDULE-AGENT, which copies set to CLIENT so that servers never send invitations.
 * PARTSTAT is deliberately absent: replies are not synced.
 */
export const Attendee = Schema.Struct({
  address: Schema.NonEmptyTrimmedString,
  name: Schema.Option(Schema.String),
  scheduleAgent: Schema.Option(Schema.NonEmptyTrimmedString)
})
export type Attendee = typeof Attendee.Type

export const VEvent = Schema.Struct({
  uid: Schema.NonEmptyString,
  recurrenceId: Schema.Option(DateValue),
  summary: Schema.Option(Schema.String),
  description: Schema.Option(Schema.String),
  location: Schema.Option(Schema.String),
  start: DateValue,
  /** Always present: derived from DURATION or per RFC 5545 when the source had no DTEND. */
  end: DateValue,
  /** True exactly when `start` is a DATE. */
  allDay: Schema.Boolean,
  /** RRULE as RFC 5545 text, normalised by ical.js (e.g. `FREQ=WEEKLY;COUNT=10`). */
  rrule: Schema.Option(Schema.String),
  rdates: Schema.Array(DateValue),
  exdates: Schema.Array(DateValue),
  status: Schema.Option(Status),
  class: Schema.Option(Classification),
  transp: Schema.Option(Transparency),
  organizer: Schema.Option(Attendee),
  attendees: Schema.Array(Attendee),
  sequence: Schema.NonNegativeInt,
  lastModified: Schema.Option(UtcDateTime)
}).pipe(
  Schema.filter((e) => e.allDay === (e.start._tag === "Date") || "allDay must match the start's value type")
)
export type VEvent = typeof VEvent.Type

/** Where a copy came from; written as a marker property so a copy is never taken for an original. */
export const CopyOrigin = Schema.Struct({
  relationship: Schema.NonEmptyString,
  sourceUid: Schema.NonEmptyString
})
export type CopyOrigin = typeof CopyOrigin.Type

/** A VTIMEZONE as the document defined it, kept as iCalendar text so it can be written back. */
export const TimeZoneDefinition = Schema.Struct({
  tzid: Schema.NonEmptyTrimmedString,
  text: Schema.String
})
export type TimeZoneDefinition = typeof TimeZoneDefinition.Type

export const EventResource = Schema.Struct({
  uid: Schema.NonEmptyString,
  /** The series or the single event; None when the object holds only overrides. */
  master: Schema.Option(VEvent),
  /** Instances changed by RECURRENCE-ID, ordered by it. */
  overrides: Schema.Array(VEvent),
  /** The VTIMEZONEs the events use, where the document supplied them. */
  timezones: Schema.Array(TimeZoneDefinition),
  origin: Schema.Option(CopyOrigin)
})
export type EventResource = typeof EventResource.Type

// ---------------------------------------------------------------------------------------------
// constructors and small helpers

export const date = (year: number, month: number, day: number): DateOnly => ({
  _tag: "Date",
  year,
  month,
  day
})

export const utc = (
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0
): UtcDateTime => ({
  _tag: "UtcDateTime",
  year,
  month,
  day,
  hour,
  minute,
  second
})

export const zoned = (
  tzid: string,
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0
): ZonedDateTime => ({ _tag: "ZonedDateTime", tzid, year, month, day, hour, minute, second })

export const floating = (
  year: number,
  month: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0
): FloatingDateTime => ({ _tag: "FloatingDateTime", year, month, day, hour, minute, second })

/** Wall-clock fields of a value; a DATE is its midnight. */
export const fieldsOf = (d: DateValue): Civil.Fields =>
  d._tag === "Date"
    ? { year: d.year, month: d.month, day: d.day, hour: 0, minute: 0, second: 0 }
    : { year: d.year, month: d.month, day: d.day, hour: d.hour, minute: d.minute, second: d.second }

/** The same kind of value (and zone) as `like`, with other wall-clock fields. */
export const withFields = (like: DateValue, f: Civil.Fields): DateValue => {
  switch (like._tag) {
    case "Date":
      return date(f.year, f.month, f.day)
    case "UtcDateTime":
      return utc(f.year, f.month, f.day, f.hour, f.minute, f.second)
    case "ZonedDateTime":
      return zoned(like.tzid, f.year, f.month, f.day, f.hour, f.minute, f.second)
    case "FloatingDateTime":
      return floating(f.year, f.month, f.day, f.hour, f.minute, f.second)
  }
}

export const tzidOf = (d: DateValue): Option.Option<string> =>
  d._tag === "ZonedDateTime" ? Option.some(d.tzid) : Option.none()

/** Every TZID an event refers to. */
export const tzidsOf = (e: VEvent): ReadonlyArray<string> => {
  const out = new Set<string>()
  const add = (d: DateValue) => {
    if (d._tag === "ZonedDateTime") out.add(d.tzid)
  }
  add(e.start)
  add(e.end)
  if (Option.isSome(e.recurrenceId)) add(e.recurrenceId.value)
  e.rdates.forEach(add)
  e.exdates.forEach(add)
  return [...out]
}

/** All events of a resource, master first. */
export const eventsOf = (r: EventResource): ReadonlyArray<VEvent> =>
  Option.isSome(r.master) ? [r.master.value, ...r.overrides] : r.overrides

/** A plain event with the defaults of an empty VEVENT; for building events in code. */
export const makeEvent = (
  fields: Pick<VEvent, "uid" | "start" | "end"> & Partial<Omit<VEvent, "uid" | "start" | "end" | "allDay">>
): VEvent => ({
  recurrenceId: Option.none(),
  summary: Option.none(),
  description: Option.none(),
  location: Option.none(),
  rrule: Option.none(),
  rdates: [],
  exdates: [],
  status: Option.none(),
  class: Option.none(),
  transp: Option.none(),
  organizer: Option.none(),
  attendees: [],
  sequence: 0,
  lastModified: Option.none(),
  ...fields,
  allDay: fields.start._tag === "Date"
})

/** A resource of one event (and its overrides), with no time zone definitions and no origin. */
export const makeResource = (master: VEvent, overrides: ReadonlyArray<VEvent> = []): EventResource => ({
  uid: master.uid,
  master: Option.some(master),
  overrides,
  timezones: [],
  origin: Option.none()
})
