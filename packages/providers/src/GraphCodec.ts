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
import { CoreError, type EventModel } from "@almanac/core"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"

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

/** The resource's UID (Graph's own `iCalUId` cannot be written). */
export const PROPERTY_UID = propertyId("almanacUid")
/** The copy's origin (`CopyOrigin`). */
export const PROPERTY_RELATIONSHIP = propertyId("almanacRelationship")
export const PROPERTY_SOURCE_UID = propertyId("almanacSourceUid")
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

/**
 * An `originalStart` in one spelling (UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ`), so that the
 * provider can match Graph's occurrences (`2026-12-08T09:00:00.0000000Z`, `...+01:00`) against
 * the keys of `EncodedSeries`. Undefined when the text is no date-time with an offset.
 */
export const originalStartKey = (text: string): string | undefined => {
  void text
  return undefined
}

/**
 * What Graph can hold of `resource`: floating times in the calendar's zone; zones as the IANA
 * zone of their Windows zone (Graph is written Windows names); the rule in the one spelling a
 * `patternedRecurrence` reads back as; EXDATEs that are no occurrence dropped; attendees,
 * organizer, sequence, VTIMEZONE texts dropped; a cancelled override an EXDATE. Idempotent.
 */
export const normalize = (resource: EventModel.EventResource, options: Options): EventModel.EventResource => {
  void options
  return resource
}

/**
 * The bodies of a series. The resource is normalized first (so `encode` accepts any resource
 * and writes exactly what `normalize` promises), then refused if Graph cannot hold it.
 */
export const encode = (
  resource: EventModel.EventResource,
  options: Options
): Either.Either<EncodedSeries, Unrepresentable> => {
  void options
  return Either.left(new Unrepresentable({ uid: resource.uid, reason: "not implemented yet" }))
}

const decodeEventEither = Schema.decodeUnknownEither(Event)

/** One Graph event, decoded with a reason a person can read on failure. */
export const decodeWire = (json: unknown): Either.Either<Event, string> =>
  Either.mapLeft(decodeEventEither(json), (e) => ParseResult.TreeFormatter.formatErrorSync(e))

/**
 * The series `ref` (the master's id) from its members. A member that cannot be read makes the
 * whole series a `BadItem` (quarantined by the engine) naming the member and what is wrong.
 */
export const decode = (
  ref: string,
  members: SeriesMembers,
  options: Options
): Either.Either<EventModel.EventResource, CoreError.BadItem> => {
  void members
  void options
  return Either.left(new CoreError.BadItem({ ref, reason: "not implemented yet" }))
}
