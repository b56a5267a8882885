/**
 * Microsoft Graph (Outlook, Microsoft 365) event JSON ⇄ `EventResource`, decoded with
 * effect/Schema at the boundary. The sibling of GoogleCodec.
 *
 * A series on Graph is several resources: the `seriesMaster` (or a `singleInstance` event), its
 * `exception`s (occurrences someone changed, each with `seriesMasterId` and `originalStart`) and
 * the occurrences that are gone (Graph v1.0 lists no deleted occurrences; the provider finds them
 * as occurrences the rule has but the calendar view does not, docs/providers.md D.7). They decode
 * into ONE `EventResource`: exceptions become overrides, deleted occurrences EXDATEs.
 * Encoding gives the master body (the rule as a `patternedRecurrence`), one body per override
 * keyed by its original start, and the original starts of the occurrences to delete.
 *
 * `normalize` says what Graph can hold, and `encode` writes only normalized resources, so that
 * decode(encode(r)) has the content hash of normalize(r). What Graph cannot hold at all (a rule a
 * `patternedRecurrence` cannot say, RDATEs, a cancelled event, instances without their series) is
 * `Unrepresentable` with a reason a person can read, never approximated. Attendees are never
 * written: Graph mails every attendee of an event it creates, and a copy never invites anyone.
 *
 * See docs/providers.md B and C for the documented field semantics.
 */
import { CoreError, EventModel, Recurrence } from "@almanac/core"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Html from "./internal/graph/Html.js"
import * as Rule from "./internal/graph/Rule.js"
import * as Zones from "./internal/graph/Zones.js"

// ---------------------------------------------------------------------------------------------
// the wire

/**
 * Graph's `dateTimeTimeZone`: a wall time (`2026-12-01T10:00:00.0000000`, no offset) and the zone
 * it is read in, a Windows name ("W. Europe Standard Time"), an IANA name or "UTC".
 */
export const DateTimeTimeZone = Schema.Struct({
  dateTime: Schema.String,
  timeZone: Schema.optional(Schema.NullOr(Schema.String))
})
export type DateTimeTimeZone = typeof DateTimeTimeZone.Type

export const BodyType = Schema.Literal("html", "text")
export type BodyType = typeof BodyType.Type

/** `itemBody`: Graph keeps HTML unless told otherwise; Almanac writes `text`. */
export const ItemBody = Schema.Struct({
  contentType: Schema.optional(BodyType),
  content: Schema.optional(Schema.NullOr(Schema.String))
})
export type ItemBody = typeof ItemBody.Type

export const Location = Schema.Struct({
  displayName: Schema.optional(Schema.NullOr(Schema.String))
})
export type Location = typeof Location.Type

export const DayOfWeek = Schema.Literal(
  "sunday",
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday"
)
export type DayOfWeek = typeof DayOfWeek.Type

/** Which of the month's matching days a relative pattern means. */
export const WeekIndex = Schema.Literal("first", "second", "third", "fourth", "last")
export type WeekIndex = typeof WeekIndex.Type

export const RecurrencePatternType = Schema.Literal(
  "daily",
  "weekly",
  "absoluteMonthly",
  "relativeMonthly",
  "absoluteYearly",
  "relativeYearly"
)
export type RecurrencePatternType = typeof RecurrencePatternType.Type

/**
 * `recurrencePattern`. Graph returns every field, with zero values (`month: 0`, `index: "first"`,
 * `daysOfWeek: []`) where the type does not use them; only those the type uses are read.
 */
export const RecurrencePattern = Schema.Struct({
  type: RecurrencePatternType,
  interval: Schema.Int,
  month: Schema.optional(Schema.Int),
  dayOfMonth: Schema.optional(Schema.Int),
  daysOfWeek: Schema.optional(Schema.Array(DayOfWeek)),
  firstDayOfWeek: Schema.optional(DayOfWeek),
  index: Schema.optional(WeekIndex)
})
export type RecurrencePattern = typeof RecurrencePattern.Type

export const RecurrenceRangeType = Schema.Literal("endDate", "noEnd", "numbered")
export type RecurrenceRangeType = typeof RecurrenceRangeType.Type

/** `recurrenceRange`: dates are `YYYY-MM-DD` in `recurrenceTimeZone` (else the event's zone). */
export const RecurrenceRange = Schema.Struct({
  type: RecurrenceRangeType,
  startDate: Schema.String,
  endDate: Schema.optional(Schema.NullOr(Schema.String)),
  numberOfOccurrences: Schema.optional(Schema.Int),
  recurrenceTimeZone: Schema.optional(Schema.NullOr(Schema.String))
})
export type RecurrenceRange = typeof RecurrenceRange.Type

export const PatternedRecurrence = Schema.Struct({
  pattern: RecurrencePattern,
  range: RecurrenceRange
})
export type PatternedRecurrence = typeof PatternedRecurrence.Type

/** A `singleValueLegacyExtendedProperty`: `id` is `String {guid} Name <name>`. */
export const ExtendedProperty = Schema.Struct({
  id: Schema.String,
  value: Schema.String
})
export type ExtendedProperty = typeof ExtendedProperty.Type

export const EmailAddress = Schema.Struct({
  name: Schema.optional(Schema.NullOr(Schema.String)),
  address: Schema.optional(Schema.NullOr(Schema.String))
})

/** `recipient` (the organizer), as read; never written. */
export const Recipient = Schema.Struct({
  emailAddress: Schema.optional(Schema.NullOr(EmailAddress))
})
export type Recipient = typeof Recipient.Type

/** `attendee`, as read; never written (see the module comment). */
export const Attendee = Schema.Struct({
  ...Recipient.fields,
  type: Schema.optional(Schema.NullOr(Schema.String))
})
export type Attendee = typeof Attendee.Type

export const EventType = Schema.Literal("singleInstance", "occurrence", "exception", "seriesMaster")
export type EventType = typeof EventType.Type

export const ShowAs = Schema.Literal("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")
export type ShowAs = typeof ShowAs.Type

export const Sensitivity = Schema.Literal("normal", "personal", "private", "confidential")
export type Sensitivity = typeof Sensitivity.Type

/** What a delta page says of an item that left the window or was deleted: `{ id, "@removed" }`. */
export const Removed = Schema.Struct({
  reason: Schema.optional(Schema.String)
})

/**
 * The fields of an event Almanac reads; everything else is ignored. All but `id` are optional:
 * a delta page's `@removed` item and an occurrence stub carry only a few of them.
 */
export const Event = Schema.Struct({
  id: Schema.String,
  "@odata.etag": Schema.optional(Schema.String),
  "@removed": Schema.optional(Removed),
  changeKey: Schema.optional(Schema.NullOr(Schema.String)),
  iCalUId: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(EventType),
  seriesMasterId: Schema.optional(Schema.NullOr(Schema.String)),
  /** The occurrence's start by the rule, an instant (`2026-12-08T09:00:00Z`); on occurrences and exceptions. */
  originalStart: Schema.optional(Schema.NullOr(Schema.String)),
  originalStartTimeZone: Schema.optional(Schema.NullOr(Schema.String)),
  originalEndTimeZone: Schema.optional(Schema.NullOr(Schema.String)),
  subject: Schema.optional(Schema.NullOr(Schema.String)),
  body: Schema.optional(Schema.NullOr(ItemBody)),
  start: Schema.optional(Schema.NullOr(DateTimeTimeZone)),
  end: Schema.optional(Schema.NullOr(DateTimeTimeZone)),
  isAllDay: Schema.optional(Schema.Boolean),
  showAs: Schema.optional(ShowAs),
  sensitivity: Schema.optional(Sensitivity),
  isCancelled: Schema.optional(Schema.Boolean),
  location: Schema.optional(Schema.NullOr(Location)),
  recurrence: Schema.optional(Schema.NullOr(PatternedRecurrence)),
  singleValueExtendedProperties: Schema.optional(Schema.Array(ExtendedProperty)),
  isOrganizer: Schema.optional(Schema.Boolean),
  organizer: Schema.optional(Schema.NullOr(Recipient)),
  attendees: Schema.optional(Schema.Array(Attendee)),
  lastModifiedDateTime: Schema.optional(Schema.NullOr(Schema.String)),
  transactionId: Schema.optional(Schema.NullOr(Schema.String))
})
export type Event = typeof Event.Type

/**
 * The body Almanac writes (POST to create, PATCH to update): every synced field, always, so that
 * a PATCH replaces what a previous write left (an emptied location is `displayName: ""`).
 * `recurrence` only on the master: `null` turns a series back into a single event; exceptions
 * never carry it (Graph refuses it on an occurrence). No attendees, no organizer, ever.
 * The provider adds `transactionId` on create.
 */
export const EventWrite = Schema.Struct({
  subject: Schema.String,
  body: Schema.Struct({ contentType: Schema.Literal("text"), content: Schema.String }),
  start: DateTimeTimeZone,
  end: DateTimeTimeZone,
  isAllDay: Schema.Boolean,
  showAs: ShowAs,
  sensitivity: Sensitivity,
  location: Schema.Struct({ displayName: Schema.String }),
  recurrence: Schema.optional(Schema.NullOr(PatternedRecurrence)),
  singleValueExtendedProperties: Schema.optional(Schema.Array(ExtendedProperty)),
  transactionId: Schema.optional(Schema.String)
})
export type EventWrite = typeof EventWrite.Type

// ---------------------------------------------------------------------------------------------
// Almanac's extended properties

/** The property set (a fixed GUID) Almanac's single-value extended properties live in. */
export const PROPERTY_SET = "{b0dd0375-0d22-4b7c-af4a-ebf5e1e7dac5}"

/** The extended property id Graph knows a named string property of Almanac's by. */
export const propertyId = (name: string): string => `String ${PROPERTY_SET} Name ${name}`

/**
 * The resource's UID (Graph's own `iCalUId` cannot be written) and the copy's origin, as one JSON
 * value (`{"uid":…,"relationship":…,"sourceUid":…}`): Graph expands one extended property per
 * request, so what a read needs is one property.
 */
export const PROPERTY_ORIGIN = propertyId("almanacOrigin")
/** The engine's creation key; the provider writes it on create and finds an earlier copy by it. */
export const PROPERTY_KEY = propertyId("almanacKey")

// ---------------------------------------------------------------------------------------------
// errors

/** A resource Graph cannot hold; the write is refused with this reason, nothing is approximated. */
export class Unrepresentable extends Schema.TaggedError<Unrepresentable>()("GraphUnrepresentable", {
  uid: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.uid}: ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------
// the functions

export interface Options {
  /**
   * The calendar's zone, an IANA name (the mailbox's zone for Graph): floating times are placed
   * in it, and a time Graph gives without a zone is read in it.
   */
  readonly calendarZone: string
}

/** The members of one series as the provider gathered them. */
export interface SeriesMembers {
  /** The `seriesMaster` or `singleInstance` event, as Graph returned it. */
  readonly master: unknown
  /** The series' `exception` events (an exception with `isCancelled` counts as deleted). */
  readonly exceptions: ReadonlyArray<unknown>
  /** Original starts (instants, as `originalStart` writes them) of the occurrences that are gone. */
  readonly cancelled: ReadonlyArray<string>
}

/** One changed occurrence to write: PATCH `body` onto the occurrence whose `originalStart` is the key. */
export interface EncodedException {
  /** The occurrence's original start as `originalStartKey` spells it (UTC, `YYYY-MM-DDTHH:MM:SSZ`). */
  readonly originalStart: string
  readonly body: EventWrite
}

/** What to write for a series: the master, the changed occurrences, the occurrences to delete. */
export interface EncodedSeries {
  readonly master: EventWrite
  /** Ordered by original start. */
  readonly exceptions: ReadonlyArray<EncodedException>
  /** Original starts (`originalStartKey` form) of the occurrences to delete, ordered. */
  readonly cancelled: ReadonlyArray<string>
}

// ---------------------------------------------------------------------------------------------
// values

const wallOf = (d: EventModel.DateValue): Zones.Wall => EventModel.fieldsOf(d)

const utcFromMs = (ms: number): EventModel.UtcDateTime => {
  const w = Zones.fromWallMs(Math.floor(ms / 1000) * 1000)
  return EventModel.utc(w.year, w.month, w.day, w.hour, w.minute, w.second)
}

const zonedFromMs = (tzid: string, ms: number): EventModel.DateValue => {
  if (Zones.isUtc(tzid)) return utcFromMs(ms)
  const w = Zones.utcToWall(tzid, ms)
  return w === undefined
    ? utcFromMs(ms)
    : EventModel.zoned(tzid, w.year, w.month, w.day, w.hour, w.minute, w.second)
}

/** The zone the arithmetic of a TZID is done in: itself when Intl knows it, else its IANA zone. */
const mathZone = (tzid: string): string | undefined => Zones.ianaOf(tzid)

const instantOf = (d: EventModel.DateValue): number | undefined => {
  switch (d._tag) {
    case "UtcDateTime":
      return Zones.toWallMs(d)
    case "ZonedDateTime": {
      const z = mathZone(d.tzid)
      return z === undefined ? undefined : Zones.wallToUtc(z, d)
    }
    default:
      return undefined
  }
}

/** The calendar's zone as Graph holds it (UTC when Graph has no name for it). */
const calendarZoneOf = (options: Options): string => Zones.canonical(options.calendarZone) ?? "UTC"

/**
 * What Graph keeps of a time: a floating time is the calendar zone's, a zone becomes the IANA
 * zone of the Windows zone it is written as (the same instant), a zone that is UTC is UTC, and a
 * wall time in a DST gap is the time it denotes. A zone Graph has no name for stays (and `encode`
 * refuses it).
 */
const canonicalValue = (d: EventModel.DateValue, calendarZone: string): EventModel.DateValue => {
  switch (d._tag) {
    case "Date":
    case "UtcDateTime":
      return d
    case "FloatingDateTime":
      return canonicalValue(
        EventModel.zoned(calendarZone, d.year, d.month, d.day, d.hour, d.minute, d.second),
        calendarZone
      )
    case "ZonedDateTime": {
      const target = Zones.canonical(d.tzid)
      const instant = instantOf(d)
      if (target === undefined || instant === undefined) return d
      return zonedFromMs(target, instant)
    }
  }
}

/** A recurrence id or EXDATE in the frame of the series' start (RFC 5545: the same value type). */
const inFrame = (d: EventModel.DateValue, frame: EventModel.DateValue): EventModel.DateValue => {
  if (d._tag === "Date" || frame._tag === "Date" || frame._tag === "FloatingDateTime") return d
  const instant = instantOf(d)
  if (instant === undefined) return d
  if (frame._tag === "UtcDateTime") return d._tag === "UtcDateTime" ? d : utcFromMs(instant)
  if (d._tag === "ZonedDateTime" && d.tzid === frame.tzid) return d
  return zonedFromMs(frame.tzid, instant)
}

const valueKey = (d: EventModel.DateValue): string =>
  `${d._tag}|${d._tag === "ZonedDateTime" ? d.tzid : ""}|${Zones.toWallMs(wallOf(d))}`

const uniqueSorted = (values: ReadonlyArray<EventModel.DateValue>): ReadonlyArray<EventModel.DateValue> => {
  const byKey = new Map<string, EventModel.DateValue>()
  for (const v of values) byKey.set(valueKey(v), v)
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
}

const DAY_MS = 86_400_000

const plusDays = (d: EventModel.DateOnly, days: number): EventModel.DateOnly => {
  const w = Zones.fromWallMs(Zones.toWallMs({ ...d, hour: 0, minute: 0, second: 0 }) + days * DAY_MS)
  return EventModel.date(w.year, w.month, w.day)
}

/** Graph wants an all-day event to end on a later midnight, and a timed one not before it starts. */
const fixEnd = (start: EventModel.DateValue, end: EventModel.DateValue): EventModel.DateValue => {
  if (start._tag === "Date") {
    const asDate = end._tag === "Date" ? end : EventModel.date(end.year, end.month, end.day)
    return Zones.toWallMs(wallOf(asDate)) > Zones.toWallMs(wallOf(start)) ? asDate : plusDays(start, 1)
  }
  const timed = end._tag === "Date" ? EventModel.withFields(start, wallOf(end)) : end
  const a = instantOf(start)
  const b = instantOf(timed)
  if (a !== undefined && b !== undefined && b < a) return start
  return timed
}

/**
 * The zone a series repeats in: its start's zone, or for an all-day series the calendar's (Graph
 * writes an all-day event as midnight to midnight in a zone).
 */
const seriesZone = (start: EventModel.DateValue, calendarZone: string): string =>
  start._tag === "ZonedDateTime" ? start.tzid : start._tag === "UtcDateTime" ? "UTC" : calendarZone

const ruleStart = (start: EventModel.DateValue, calendarZone: string): Rule.Start => ({
  wall: wallOf(start),
  allDay: start._tag === "Date",
  zone: seriesZone(start, calendarZone)
})

/** The instant an occurrence starting at `d` has for Graph (an all-day one: its midnight in `zone`). */
const occurrenceInstant = (d: EventModel.DateValue, zone: string): number | undefined =>
  d._tag === "Date" || d._tag === "FloatingDateTime" ? Zones.wallToUtc(zone, wallOf(d)) : instantOf(d)

/**
 * Whether `value` is an occurrence of the master's rule (RRULE only; EXDATEs and overrides
 * aside), by core's expansion around it.
 */
const isOccurrence = (
  master: EventModel.VEvent,
  value: EventModel.DateValue,
  calendarZone: string
): boolean => {
  const bare: EventModel.EventResource = {
    uid: master.uid,
    master: Option.some({ ...master, exdates: [], rdates: [] }),
    overrides: [],
    timezones: [],
    origin: Option.none()
  }
  const around = occurrenceInstant(value, calendarZone) ?? Zones.toWallMs(wallOf(value))
  const key = valueKey(value)
  return Recurrence.instances(
    bare,
    { start: new Date(around - 2 * DAY_MS), end: new Date(around + 2 * DAY_MS) },
    { floatingZone: calendarZone }
  ).some((i) => Option.match(i.recurrenceId, { onNone: () => false, onSome: (x) => valueKey(x) === key }))
}

/** The rule in the one spelling a `patternedRecurrence` reads back as; itself when none can say it. */
const canonicalRule = (rule: string, start: EventModel.DateValue, calendarZone: string): string => {
  const s = ruleStart(start, calendarZone)
  return Either.getOrElse(
    Either.flatMap(Rule.toRecurrence(rule, s, "UTC"), (r) => Rule.toRule(r, s)),
    () => rule
  )
}

// ---------------------------------------------------------------------------------------------
// normalize

const nonEmpty = (o: Option.Option<string>): Option.Option<string> => Option.filter(o, (s) => s.length > 0)

/** Line breaks as the model keeps them: Outlook's text bodies have CRLF, people type either. */
const lines = (s: string): string => s.replace(/\r\n?/g, "\n")

/** CLASS values Graph has (as sensitivity); an x-name is PRIVATE, as RFC 5545 §3.8.1.3 asks of unknown values. */
const normalClass = (c: Option.Option<string>): Option.Option<string> =>
  Option.flatMap(c, (v) => {
    const u = v.toUpperCase()
    return u === "PUBLIC" ? Option.none() : Option.some(u === "CONFIDENTIAL" ? u : "PRIVATE")
  })

const normalEvent = (e: EventModel.VEvent, zone: string, isOverride: boolean): EventModel.VEvent => {
  const start = canonicalValue(e.start, zone)
  const end = canonicalValue(fixEnd(start, canonicalValue(e.end, zone)), zone)
  // showAs holds one of free and tentative: free (TRANSPARENT) wins, it is what blocks no time.
  const transp = Option.filter(e.transp, (t) => t !== "OPAQUE")
  const status = Option.filter(
    e.status,
    (s) => s !== "CONFIRMED" && !(s === "TENTATIVE" && Option.isSome(transp))
  )
  return {
    uid: e.uid,
    recurrenceId: Option.map(e.recurrenceId, (r) => canonicalValue(r, zone)),
    summary: nonEmpty(e.summary),
    description: nonEmpty(Option.map(e.description, lines)),
    location: nonEmpty(e.location),
    start,
    end,
    allDay: start._tag === "Date",
    rrule: isOverride ? Option.none() : Option.map(e.rrule, (r) => canonicalRule(r, start, zone)),
    rdates: isOverride ? [] : uniqueSorted(e.rdates.map((d) => inFrame(canonicalValue(d, zone), start))),
    exdates: isOverride ? [] : uniqueSorted(e.exdates.map((d) => inFrame(canonicalValue(d, zone), start))),
    status,
    class: normalClass(e.class),
    transp,
    // The organizer is the mailbox that holds the event; attendees are never written, so that
    // a copy never invites anyone (Graph mails the attendees of an event it creates).
    organizer: Option.none(),
    attendees: [],
    // Graph has no SEQUENCE (the hash leaves it out too).
    sequence: 0,
    lastModified: Option.none()
  }
}

const ridKey = (e: EventModel.VEvent): string =>
  Option.match(e.recurrenceId, { onNone: () => "", onSome: valueKey })

const sameFrame = (start: EventModel.DateValue, end: EventModel.DateValue): boolean =>
  start._tag === end._tag &&
  (start._tag !== "ZonedDateTime" || (end._tag === "ZonedDateTime" && end.tzid === start.tzid))

/** An event's length: in wall-clock time when start and end share kind and zone, else in real time. */
const spanOf = (start: EventModel.DateValue, end: EventModel.DateValue): number | undefined => {
  if (sameFrame(start, end)) return Zones.toWallMs(wallOf(end)) - Zones.toWallMs(wallOf(start))
  const a = instantOf(start)
  const b = instantOf(end)
  return a === undefined || b === undefined ? undefined : b - a
}

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b)

/**
 * An override that says nothing its series does not. Graph keeps an occurrence that was changed
 * and changed back as an `exception`; both sides drop it, so that it is no difference.
 */
const isRedundant = (m: EventModel.VEvent, o: EventModel.VEvent): boolean =>
  Option.isSome(o.recurrenceId) &&
  valueKey(o.recurrenceId.value) === valueKey(o.start) &&
  spanOf(o.start, o.end) === spanOf(m.start, m.end) &&
  sameJson(
    [o.summary, o.description, o.location, o.status, o.class, o.transp, o.organizer, o.attendees],
    [m.summary, m.description, m.location, m.status, m.class, m.transp, m.organizer, m.attendees]
  )

const sortByRid = (overrides: Iterable<EventModel.VEvent>): ReadonlyArray<EventModel.VEvent> => {
  const byRid = new Map<string, EventModel.VEvent>()
  for (const o of overrides) byRid.set(ridKey(o), o)
  return [...byRid.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o)
}

/**
 * The master's EXDATEs that name an occurrence (another excludes nothing, and Graph has no
 * occurrence there to delete), and its overrides that are neither redundant nor excluded.
 */
const settle = (
  master: EventModel.VEvent,
  overrides: ReadonlyArray<EventModel.VEvent>,
  zone: string
): { readonly master: EventModel.VEvent; readonly overrides: ReadonlyArray<EventModel.VEvent> } => {
  const recurs = Option.isSome(master.rrule)
  const exdates = recurs ? uniqueSorted(master.exdates).filter((x) => isOccurrence(master, x, zone)) : []
  const excluded = new Set(exdates.map(valueKey))
  const kept = overrides.filter(
    (o) => !isRedundant(master, o) && !Option.exists(o.recurrenceId, (r) => excluded.has(valueKey(r)))
  )
  return { master: { ...master, exdates }, overrides: sortByRid(kept) }
}

/**
 * What Graph can hold of `resource`, in a calendar whose zone is `options.calendarZone`.
 * Floating times become that zone's; zones become the IANA zone of the Windows zone Graph is
 * written (Europe/Amsterdam reads back as Europe/Berlin, Asia/Kolkata as Asia/Calcutta, CLDR's
 * first names); VTIMEZONE texts, organizer, attendees and SEQUENCE go; CONFIRMED, OPAQUE and
 * PUBLIC are the defaults they are on Graph; a cancelled override becomes an EXDATE of its
 * series, and an EXDATE that names no occurrence goes; the rule is spelled as a pattern reads
 * back. What Graph cannot hold at all (RDATEs, a rule no pattern says, a cancelled event) stays,
 * for `encode` to refuse with its reason. Idempotent.
 */
export const normalize = (resource: EventModel.EventResource, options: Options): EventModel.EventResource => {
  const zone = calendarZoneOf(options)
  const master = Option.map(resource.master, (m) => normalEvent(m, zone, false))
  const overrides = resource.overrides.map((o) => normalEvent(o, zone, true))
  if (Option.isNone(master)) {
    return {
      uid: resource.uid,
      master,
      overrides: sortByRid(overrides),
      timezones: [],
      origin: resource.origin
    }
  }
  const m = master.value
  const cancelled = overrides.filter((o) => Option.contains(o.status, "CANCELLED"))
  const kept = overrides
    .filter((o) => !Option.contains(o.status, "CANCELLED"))
    .map((o) => ({ ...o, recurrenceId: Option.map(o.recurrenceId, (r) => inFrame(r, m.start)) }))
  const withCancelled: EventModel.VEvent = {
    ...m,
    exdates: uniqueSorted([
      ...m.exdates,
      ...cancelled.flatMap((o) => Option.toArray(o.recurrenceId)).map((d) => inFrame(d, m.start))
    ])
  }
  const settled = settle(withCancelled, kept, zone)
  return {
    uid: resource.uid,
    master: Option.some(settled.master),
    overrides: settled.overrides,
    timezones: [],
    origin: resource.origin
  }
}

// ---------------------------------------------------------------------------------------------
// encode

/**
 * An `originalStart` in one spelling (UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`), so that the
 * provider can match Graph's occurrences (`2026-12-08T09:00:00Z`, `…09:00:00.0000000Z`,
 * `…10:00:00+01:00`) against the keys of `EncodedSeries`. A time without an offset is read as
 * UTC (Graph's `originalStart` is an Edm.DateTimeOffset; this is leniency). Undefined for text
 * that is no date-time.
 */
export const originalStartKey = (text: string): string | undefined => {
  const parsed = Zones.parseDateTime(text)
  if (parsed === undefined) return undefined
  return Zones.formatInstant(Zones.toWallMs(parsed.wall) - (parsed.offsetMinutes ?? 0) * 60_000)
}

const noZone = (tzid: string) => `Outlook has no time zone for "${tzid}"`

const encodeTime = (d: EventModel.DateValue, allDayZone: string): Either.Either<DateTimeTimeZone, string> => {
  switch (d._tag) {
    case "Date": {
      const windows = Zones.windowsOf(allDayZone)
      return windows === undefined
        ? Either.left(noZone(allDayZone))
        : Either.right({ dateTime: `${Zones.formatDate(d)}T00:00:00`, timeZone: windows })
    }
    case "UtcDateTime":
      return Either.right({ dateTime: Zones.formatLocal(d), timeZone: "UTC" })
    case "ZonedDateTime": {
      const windows = Zones.windowsOf(d.tzid)
      return windows === undefined
        ? Either.left(noZone(d.tzid))
        : Either.right({ dateTime: Zones.formatLocal(d), timeZone: windows })
    }
    case "FloatingDateTime":
      return Either.left("a floating time (normalize gives it the calendar's zone)")
  }
}

const SENSITIVITY_OUT: Record<string, Sensitivity> = { PRIVATE: "private", CONFIDENTIAL: "confidential" }

const showAsOf = (e: EventModel.VEvent): ShowAs =>
  Option.contains(e.transp, "TRANSPARENT")
    ? "free"
    : Option.contains(e.status, "TENTATIVE")
      ? "tentative"
      : "busy"

const OriginValue = Schema.parseJson(
  Schema.Struct({
    uid: Schema.String,
    relationship: Schema.optional(Schema.String),
    sourceUid: Schema.optional(Schema.String)
  })
)
const decodeOriginValue = Schema.decodeUnknownOption(OriginValue)

const originProperties = (resource: EventModel.EventResource): ReadonlyArray<ExtendedProperty> => [
  {
    id: PROPERTY_ORIGIN,
    value: JSON.stringify({
      uid: resource.uid,
      ...Option.match(resource.origin, {
        onNone: () => ({}),
        onSome: (o) => ({ relationship: o.relationship, sourceUid: o.sourceUid })
      })
    })
  }
]

const encodeFields = (e: EventModel.VEvent, allDayZone: string): Either.Either<EventWrite, string> =>
  Either.gen(function* () {
    return {
      subject: Option.getOrElse(e.summary, () => ""),
      body: { contentType: "text" as const, content: Option.getOrElse(e.description, () => "") },
      start: yield* encodeTime(e.start, allDayZone),
      end: yield* encodeTime(e.end, allDayZone),
      isAllDay: e.start._tag === "Date",
      showAs: showAsOf(e),
      sensitivity:
        Option.getOrUndefined(Option.flatMapNullable(e.class, (c) => SENSITIVITY_OUT[c])) ?? "normal",
      location: { displayName: Option.getOrElse(e.location, () => "") }
    }
  })

const keyOf = (d: EventModel.DateValue, zone: string): Either.Either<string, string> => {
  const instant = occurrenceInstant(d, zone)
  return instant === undefined
    ? Either.left(noZone(seriesZone(d, zone)))
    : Either.right(Zones.formatInstant(instant))
}

const describe = (d: EventModel.DateValue): string =>
  d._tag === "Date"
    ? Zones.formatDate(d)
    : `${Zones.formatLocal(d)}${d._tag === "UtcDateTime" ? "Z" : d._tag === "ZonedDateTime" ? ` ${d.tzid}` : ""}`

/**
 * The bodies of a series. The resource is normalized first (so `encode` accepts any resource
 * and writes exactly what `normalize` promises), then refused if Graph cannot hold it: changed
 * occurrences without their series or of an event that does not repeat, a cancelled event
 * (only a meeting's organizer cancels, by mailing its attendees), RDATEs, a rule no pattern says
 * (the reason says which part), a changed occurrence the rule does not have, a zone Outlook has
 * no name for.
 */
export const encode = (
  resource: EventModel.EventResource,
  options: Options
): Either.Either<EncodedSeries, Unrepresentable> => {
  const refuse = (reason: string) => new Unrepresentable({ uid: resource.uid, reason })
  const zone = calendarZoneOf(options)
  const r = normalize(resource, options)
  if (Option.isNone(r.master)) {
    return Either.left(
      refuse("changed occurrences of a series without the series itself, which Outlook cannot hold")
    )
  }
  const m = r.master.value
  if (Option.contains(m.status, "CANCELLED")) {
    return Either.left(
      refuse("a cancelled event, which Outlook cannot hold (only a meeting's organizer cancels it, by mail)")
    )
  }
  if (m.rdates.length > 0) {
    return Either.left(refuse("Outlook cannot add single extra dates (RDATE) to an event"))
  }
  if (Option.isNone(m.rrule) && r.overrides.length > 0) {
    return Either.left(refuse("changed occurrences of an event that does not repeat"))
  }
  return Either.gen(function* () {
    const fields = yield* encodeFields(m, zone)
    const sZone = seriesZone(m.start, zone)
    const rangeZone = Zones.windowsOf(sZone)
    if (rangeZone === undefined) return yield* Either.left(noZone(sZone))
    const recurrence = Option.isSome(m.rrule)
      ? yield* Rule.toRecurrence(m.rrule.value, ruleStart(m.start, zone), rangeZone)
      : null
    const exceptions: Array<EncodedException> = []
    for (const o of r.overrides) {
      if (Option.isNone(o.recurrenceId)) continue
      const rid = o.recurrenceId.value
      if (!isOccurrence(m, rid, zone)) {
        return yield* Either.left(
          `the changed occurrence at ${describe(rid)} is not one of the series' occurrences, which Outlook cannot hold`
        )
      }
      exceptions.push({ originalStart: yield* keyOf(rid, zone), body: yield* encodeFields(o, zone) })
    }
    const cancelled: Array<string> = []
    for (const x of m.exdates) cancelled.push(yield* keyOf(x, zone))
    return {
      master: { ...fields, recurrence, singleValueExtendedProperties: originProperties(r) },
      exceptions: exceptions.sort((a, b) => (a.originalStart < b.originalStart ? -1 : 1)),
      cancelled: [...new Set(cancelled)].sort()
    }
  }).pipe(Either.mapLeft(refuse))
}

/**
 * The body that undoes an override: the occurrence at `originalStart` as the series itself would
 * have it (Graph has no "remove this exception"; deleting an occurrence cancels it). Decoding
 * drops it again as redundant.
 */
export const encodeOccurrence = (
  resource: EventModel.EventResource,
  originalStart: string,
  options: Options
): Either.Either<EventWrite, Unrepresentable> => {
  const refuse = (reason: string) => new Unrepresentable({ uid: resource.uid, reason })
  const zone = calendarZoneOf(options)
  const r = normalize(resource, options)
  if (Option.isNone(r.master)) return Either.left(refuse("no series to take the occurrence from"))
  const m = r.master.value
  return Either.gen(function* () {
    const rid = yield* Either.mapLeft(
      ridOf("originalStart", originalStart, m.start, seriesZone(m.start, zone)),
      (b) => b.reason
    )
    const span = spanOf(m.start, m.end) ?? 0
    const instant = instantOf(rid)
    const end =
      rid._tag === "Date" || sameFrame(m.start, m.end) || instant === undefined
        ? EventModel.withFields(rid, Zones.fromWallMs(Zones.toWallMs(wallOf(rid)) + span))
        : zonedFromMs(rid._tag === "ZonedDateTime" ? rid.tzid : "UTC", instant + span)
    return yield* encodeFields(
      {
        ...m,
        recurrenceId: Option.some(rid),
        start: rid,
        end: canonicalValue(end, zone),
        rrule: Option.none(),
        exdates: []
      },
      zone
    )
  }).pipe(Either.mapLeft(refuse))
}

// ---------------------------------------------------------------------------------------------
// decode

class Bad {
  constructor(readonly reason: string) {}
}

const fail = (reason: string): Either.Either<never, Bad> => Either.left(new Bad(reason))

/** A zone name Graph wrote, as IANA; undefined for none, a custom zone or one CLDR does not know. */
const knownZone = (name: string | null | undefined): string | undefined =>
  name === undefined || name === null || name.trim() === "" ? undefined : Zones.ianaOf(name)

/**
 * A `dateTimeTimeZone`, as an instant, placed in `frame` (the event's own zone: with
 * `Prefer: outlook.timezone="UTC"` Graph gives every time in UTC and the event's zone in
 * `originalStartTimeZone`). An all-day value is the day whose midnight in the frame is nearest:
 * right whether Graph shifted the midnight into the zone it was asked for or not.
 */
const decodeTime = (
  what: string,
  dtz: DateTimeTimeZone | null | undefined,
  frame: string | undefined,
  allDay: boolean,
  calendarZone: string
): Either.Either<EventModel.DateValue, Bad> => {
  if (dtz === undefined || dtz === null) return fail(`no ${what}`)
  const parsed = Zones.parseDateTime(dtz.dateTime)
  if (parsed === undefined) return fail(`${what}.dateTime "${dtz.dateTime}" is not a date and time`)
  const given =
    dtz.timeZone === undefined || dtz.timeZone === null || dtz.timeZone === "" ? calendarZone : dtz.timeZone
  const source = Zones.ianaOf(given)
  if (source === undefined && parsed.offsetMinutes === undefined) {
    return fail(`${what}.timeZone "${given}" is not a time zone Almanac knows`)
  }
  const instant =
    parsed.offsetMinutes !== undefined
      ? Zones.toWallMs(parsed.wall) - parsed.offsetMinutes * 60_000
      : Zones.wallToUtc(source ?? "UTC", parsed.wall)
  if (instant === undefined) return fail(`${what} cannot be placed in its zone`)
  const zone = frame ?? source ?? "UTC"
  if (allDay) {
    const d = Zones.nearestDate(zone, instant)
    return d === undefined
      ? fail(`${what} cannot be placed in ${zone}`)
      : Either.right(EventModel.date(d.year, d.month, d.day))
  }
  return Either.right(zonedFromMs(zone, instant))
}

const CLASS_IN: Record<Sensitivity, Option.Option<string>> = {
  normal: Option.none(),
  personal: Option.some("PRIVATE"),
  private: Option.some("PRIVATE"),
  confidential: Option.some("CONFIDENTIAL")
}

const text = (s: string | null | undefined): Option.Option<string> =>
  s === undefined || s === null || s.length === 0 ? Option.none() : Option.some(s)

const bodyText = (b: ItemBody | null | undefined): Option.Option<string> => {
  if (b === undefined || b === null || b.content === undefined || b.content === null) return Option.none()
  const plain = b.contentType === "html" ? Html.toText(b.content) : b.content
  return text(lines(plain))
}

const person = (r: Recipient | null | undefined): Option.Option<EventModel.Attendee> => {
  const address = r?.emailAddress?.address?.trim()
  return address === undefined || address === ""
    ? Option.none()
    : Option.some({
        address: `mailto:${address}`,
        name: text(r?.emailAddress?.name),
        scheduleAgent: Option.none()
      })
}

const propertyOf = (e: Event, id: string): string | undefined =>
  e.singleValueExtendedProperties?.find((p) => p.id.toLowerCase() === id.toLowerCase())?.value

/** The UID and origin Almanac wrote, if the event has them (the property must have been expanded). */
const originOf = (e: Event) => {
  const text = propertyOf(e, PROPERTY_ORIGIN)
  return text === undefined ? Option.none() : decodeOriginValue(text)
}

const copyOriginOf = (e: Event): Option.Option<EventModel.CopyOrigin> =>
  Option.flatMap(originOf(e), (o) =>
    o.relationship !== undefined && o.relationship !== "" && o.sourceUid !== undefined && o.sourceUid !== ""
      ? Option.some({ relationship: o.relationship, sourceUid: o.sourceUid })
      : Option.none()
  )

interface Frames {
  readonly start: string | undefined
  readonly end: string | undefined
}

const framesOf = (e: Event, series: string | undefined): Frames => ({
  start: series ?? knownZone(e.originalStartTimeZone) ?? knownZone(e.start?.timeZone),
  end: knownZone(e.originalEndTimeZone) ?? knownZone(e.end?.timeZone) ?? series
})

const decodeEvent = (
  e: Event,
  uid: string,
  frames: Frames,
  calendarZone: string,
  rid: Option.Option<EventModel.DateValue>
): Either.Either<EventModel.VEvent, Bad> =>
  Either.gen(function* () {
    const allDay = e.isAllDay === true
    const start = yield* decodeTime("start", e.start, frames.start, allDay, calendarZone)
    const end = yield* decodeTime("end", e.end, frames.end, allDay, calendarZone)
    const series = e.recurrence ?? undefined
    const rrule =
      series === undefined || Option.isSome(rid)
        ? Option.none()
        : Option.some(
            yield* Either.mapLeft(
              Rule.toRule(series, ruleStart(start, frames.start ?? calendarZone)),
              (reason) => new Bad(`recurrence: ${reason}`)
            )
          )
    const showAs = e.showAs ?? "busy"
    const updated = e.lastModifiedDateTime == null ? undefined : originalStartKey(e.lastModifiedDateTime)
    const lastModified = updated === undefined ? Option.none() : Option.some(utcFromMs(Date.parse(updated)))
    return {
      uid,
      recurrenceId: rid,
      summary: text(e.subject),
      description: bodyText(e.body),
      location: text(e.location?.displayName),
      start,
      end,
      allDay,
      rrule,
      rdates: [],
      exdates: [],
      status:
        e.isCancelled === true
          ? Option.some("CANCELLED" as const)
          : showAs === "tentative"
            ? Option.some("TENTATIVE" as const)
            : Option.none(),
      class: CLASS_IN[e.sensitivity ?? "normal"],
      transp: showAs === "free" ? Option.some("TRANSPARENT" as const) : Option.none(),
      // The mailbox's own organizer is where the event lives, not a person to carry along.
      organizer: e.isOrganizer === true ? Option.none() : person(e.organizer),
      attendees: (e.attendees ?? []).flatMap((a) => Option.toArray(person(a))),
      sequence: 0,
      lastModified
    }
  })

const decodeEventEither = Schema.decodeUnknownEither(Event)

/**
 * A parse error in one line: the deepest paths that failed, each with what was expected there
 * (the alternatives of a union together, "null"/"undefined" left out when something else was
 * possible) and what was found.
 */
const reasonOf = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const keyOf = (path: ReadonlyArray<PropertyKey>) => path.map(String).join(".")
  const deepest = issues.filter(
    (i) =>
      !issues.some(
        (j) => j.path.length > i.path.length && keyOf(j.path.slice(0, i.path.length)) === keyOf(i.path)
      )
  )
  const byPath = new Map<
    string,
    { expected: Array<string>; actual: string | undefined; other: Array<string> }
  >()
  for (const issue of deepest) {
    const key = keyOf(issue.path)
    const entry = byPath.get(key) ?? { expected: [], actual: undefined, other: [] }
    const m = /^Expected (.*), actual (.*)$/s.exec(issue.message)
    if (m === null) entry.other.push(issue.message)
    else {
      entry.expected.push(m[1] ?? "")
      entry.actual = m[2]
    }
    byPath.set(key, entry)
  }
  return [...byPath.entries()]
    .map(([path, e]) => {
      const real = e.expected.filter((x) => x !== "undefined" && x !== "null")
      const expected = [...new Set(real.length > 0 ? real : e.expected)].join(" | ")
      const text = [
        ...(expected === "" ? [] : [`expected ${expected}, actual ${e.actual}`]),
        ...e.other
      ].join("; ")
      return path === "" ? text : `${path}: ${text}`
    })
    .join("; ")
}

/** One Graph event, decoded with a reason a person can read on failure. */
export const decodeWire = (json: unknown): Either.Either<Event, string> =>
  Either.mapLeft(decodeEventEither(json), reasonOf)

/** An original start (an instant) as a recurrence id in the frame of the series' start. */
const ridOf = (
  what: string,
  text: string,
  frame: EventModel.DateValue,
  zone: string
): Either.Either<EventModel.DateValue, Bad> => {
  const key = originalStartKey(text)
  if (key === undefined) return fail(`${what} "${text}" is not a date and time`)
  const instant = Date.parse(key)
  if (frame._tag === "Date") {
    const d = Zones.nearestDate(zone, instant)
    return d === undefined
      ? fail(`${what} cannot be placed in ${zone}`)
      : Either.right(EventModel.date(d.year, d.month, d.day))
  }
  return Either.right(inFrame(utcFromMs(instant), frame))
}

/**
 * The series `ref` (the master's id) from its members. A member that cannot be read makes the
 * whole series a `BadItem` (quarantined by the engine) naming the member and what is wrong.
 */
export const decode = (
  ref: string,
  members: SeriesMembers,
  options: Options
): Either.Either<EventModel.EventResource, CoreError.BadItem> => {
  const zone = calendarZoneOf(options)
  const bad = (reason: string) => new CoreError.BadItem({ ref, reason })
  const masterWire = decodeWire(members.master)
  if (Either.isLeft(masterWire)) return Either.left(bad(`an event Almanac cannot read: ${masterWire.left}`))
  const master = masterWire.right
  if (master.id !== ref)
    return Either.left(bad(`the series is ${ref}, but the event given for it is ${master.id}`))
  if (master["@removed"] !== undefined) return Either.left(bad("the event is deleted"))
  if (master.type === "occurrence" || master.type === "exception") {
    return Either.left(bad("only an occurrence of this series is here, not the series itself"))
  }
  const exceptions: Array<Event> = []
  for (const json of members.exceptions) {
    const decoded = decodeWire(json)
    if (Either.isLeft(decoded)) return Either.left(bad(`an occurrence Almanac cannot read: ${decoded.left}`))
    exceptions.push(decoded.right)
  }
  const uid = Option.getOrUndefined(Option.map(originOf(master), (o) => o.uid)) || master.iCalUId
  if (uid === undefined || uid === null || uid === "") return Either.left(bad("the event has no iCalUId"))
  return Either.gen(function* () {
    const recurrenceZone =
      master.recurrence == null ? undefined : knownZone(master.recurrence.range.recurrenceTimeZone)
    const frames = framesOf(master, recurrenceZone)
    const main = yield* decodeEvent(master, uid, frames, zone, Option.none())
    if (Option.isNone(main.rrule) && (exceptions.length > 0 || members.cancelled.length > 0)) {
      return yield* fail("changed or deleted occurrences of an event that does not repeat")
    }
    const sZone = seriesZone(main.start, frames.start ?? zone)
    const cancelled: Array<EventModel.DateValue> = []
    for (const c of members.cancelled)
      cancelled.push(yield* ridOf("a deleted occurrence's start", c, main.start, sZone))
    const overrides: Array<EventModel.VEvent> = []
    for (const e of exceptions) {
      const where = `occurrence ${e.id}`
      if (e.seriesMasterId !== ref)
        return yield* fail(`${where} belongs to series ${e.seriesMasterId}, not ${ref}`)
      if (e.originalStart === undefined || e.originalStart === null)
        return yield* fail(`${where} has no originalStart`)
      const rid = yield* Either.mapLeft(
        ridOf("originalStart", e.originalStart, main.start, sZone),
        (b) => new Bad(`${where}: ${b.reason}`)
      )
      if (e.isCancelled === true || e["@removed"] !== undefined) cancelled.push(rid)
      else
        overrides.push(
          yield* Either.mapLeft(
            decodeEvent(e, uid, framesOf(e, undefined), zone, Option.some(rid)),
            (b) => new Bad(`${where}: ${b.reason}`)
          )
        )
    }
    const settled = settle({ ...main, exdates: cancelled }, overrides, zone)
    return {
      uid,
      master: Option.some(settled.master),
      overrides: settled.overrides,
      timezones: [],
      origin: copyOriginOf(master)
    }
  }).pipe(Either.mapLeft((b) => bad(b.reason)))
}
