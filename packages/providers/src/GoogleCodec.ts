/**
 * Google Calendar API v3 event JSON ⇄ `EventResource`, decoded with effect/Schema at the boundary.
 *
 * A series on Google is several resources: the recurring master, its exceptions (events carrying
 * `recurringEventId` and `originalStartTime`) and its cancelled instances. They decode into ONE
 * `EventResource`: exceptions become overrides, cancelled instances EXDATEs of the master.
 * Encoding gives the master (EXDATE/RDATE/RRULE as `recurrence` lines, which Google documents as
 * allowed there; one request, and an EXDATE needs no instance to exist) plus one exception per
 * override, each under its instance id `<masterId>_<originalStart in basic format>`.
 *
 * `normalize` says what Google can hold, and `encode` writes only normalized resources, so that
 * decode(encode(r)) has the content hash of normalize(r): a copy Google rewrote in its own way never
 * looks like a person's edit. What Google cannot hold at all (a cancelled event — on Google that is
 * a deleted one —, instances without their series, changed instances of an event that does not
 * repeat, a zone Google does not know) is `Unrepresentable`, never approximated.
 *
 * See docs/providers.md A.3, A.6, A.7, A.8 and C for the documented field semantics.
 */
import { createHash } from "node:crypto"
import { CoreError, EventModel, Recurrence } from "@almanac/core"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Zones from "./internal/google/Zones.js"

// ---------------------------------------------------------------------------------------------
// the wire

export const EventDateTime = Schema.Struct({
  date: Schema.optional(Schema.String),
  dateTime: Schema.optional(Schema.String),
  timeZone: Schema.optional(Schema.String)
})
export type EventDateTime = typeof EventDateTime.Type

export const Person = Schema.Struct({
  email: Schema.optional(Schema.String),
  displayName: Schema.optional(Schema.String),
  self: Schema.optional(Schema.Boolean)
})
export type Person = typeof Person.Type

export const Attendee = Schema.Struct({
  ...Person.fields,
  optional: Schema.optional(Schema.Boolean),
  resource: Schema.optional(Schema.Boolean),
  responseStatus: Schema.optional(Schema.String)
})
export type Attendee = typeof Attendee.Type

const StringMap = Schema.Record({ key: Schema.String, value: Schema.String })

export const ExtendedProperties = Schema.Struct({
  private: Schema.optional(StringMap),
  shared: Schema.optional(StringMap)
})

/** The fields of an Event resource that Almanac reads or writes; everything else is ignored. */
export const Event = Schema.Struct({
  id: Schema.String,
  etag: Schema.optional(Schema.String),
  status: Schema.optional(Schema.String),
  iCalUID: Schema.optional(Schema.String),
  summary: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  location: Schema.optional(Schema.String),
  start: Schema.optional(EventDateTime),
  end: Schema.optional(EventDateTime),
  originalStartTime: Schema.optional(EventDateTime),
  recurringEventId: Schema.optional(Schema.String),
  recurrence: Schema.optional(Schema.Array(Schema.String)),
  visibility: Schema.optional(Schema.String),
  transparency: Schema.optional(Schema.String),
  sequence: Schema.optional(Schema.Number),
  organizer: Schema.optional(Person),
  attendees: Schema.optional(Schema.Array(Attendee)),
  extendedProperties: Schema.optional(ExtendedProperties),
  updated: Schema.optional(Schema.String)
})
export type Event = typeof Event.Type

const decodeEventEither = Schema.decodeUnknownEither(Event)

/** The keys of `extendedProperties.private` Almanac writes (each ≤ 44 characters, Google's limit). */
export const PROPERTY_UID = "almanacUid"
export const PROPERTY_RELATIONSHIP = "almanacRelationship"
export const PROPERTY_SOURCE_UID = "almanacSourceUid"

// ---------------------------------------------------------------------------------------------
// errors

/** A resource Google cannot hold; the write is refused with this reason, nothing is approximated. */
export class Unrepresentable extends Schema.TaggedError<Unrepresentable>()("GoogleUnrepresentable", {
  uid: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.uid}: ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------
// ids

const BASE32HEX = "0123456789abcdefghijklmnopqrstuv"

/** Google's rule for a client-chosen event id: base32hex (0-9, a-v), 5 to 1024 characters. */
export const isValidEventId = (id: string): boolean => /^[0-9a-v]{5,1024}$/.test(id)

/**
 * The event id of a copy, from the engine's creation key: base32hex of SHA-256, 52 characters.
 * Deterministic, so that a create retried after a crash meets its earlier self (409 duplicate).
 */
export const eventIdFor = (key: string): string => {
  const bytes = createHash("sha256").update(`almanac:google:${key}`, "utf8").digest()
  let bits = 0
  let value = 0
  let out = ""
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32HEX[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += BASE32HEX[(value << (5 - bits)) & 31]
  return out
}

const instantOf = (d: EventModel.DateValue): number | undefined => {
  switch (d._tag) {
    case "UtcDateTime":
      return Zones.toWallMs(d)
    case "ZonedDateTime":
      return Zones.isUtc(d.tzid) ? Zones.toWallMs(d) : Zones.wallToUtc(d.tzid, d)
    default:
      return undefined
  }
}

/** `<masterId>_<original start>`: `20261203T100000Z` for a timed instance, `20261203` for an all-day one. */
export const instanceId = (masterId: string, originalStart: EventModel.DateValue): string => {
  if (originalStart._tag === "Date") return `${masterId}_${Zones.basicDate(originalStart)}`
  const instant = instantOf(originalStart) ?? Zones.toWallMs(originalStart)
  return `${masterId}_${Zones.basicDateTime(Zones.fromWallMs(instant))}Z`
}

// ---------------------------------------------------------------------------------------------
// values

const wallOf = (d: EventModel.DateValue): Zones.Wall => EventModel.fieldsOf(d)

const utcFromMs = (ms: number): EventModel.UtcDateTime => {
  const w = Zones.fromWallMs(ms)
  return EventModel.utc(w.year, w.month, w.day, w.hour, w.minute, w.second)
}

const zonedFromMs = (tzid: string, ms: number): EventModel.DateValue => {
  const w = Zones.utcToWall(tzid, ms)
  return w === undefined
    ? utcFromMs(ms)
    : EventModel.zoned(tzid, w.year, w.month, w.day, w.hour, w.minute, w.second)
}

/**
 * What Google keeps of a time: a floating time is read in the calendar's zone (Google has no
 * floating times; its own rule for a `dateTime` without offset or zone is the calendar's zone), a
 * zone that is UTC by another name is UTC, and a wall time in a DST gap is the time it denotes.
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
      if (Zones.isUtc(d.tzid)) return EventModel.utc(d.year, d.month, d.day, d.hour, d.minute, d.second)
      const instant = Zones.wallToUtc(d.tzid, d)
      return instant === undefined ? d : zonedFromMs(d.tzid, instant)
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

/** Google wants an all-day event to end on a later date, and a timed one to end with a time. */
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

// ---------------------------------------------------------------------------------------------
// normalize

const nonEmpty = (o: Option.Option<string>): Option.Option<string> => Option.filter(o, (s) => s.length > 0)

/** CLASS values Google has; an x-name is treated as PRIVATE, as RFC 5545 §3.8.1.3 asks of unknown values. */
const normalClass = (c: Option.Option<string>): Option.Option<string> =>
  Option.map(c, (v) => {
    const u = v.toUpperCase()
    return u === "PUBLIC" || u === "PRIVATE" || u === "CONFIDENTIAL" ? u : "PRIVATE"
  })

const normalEvent = (e: EventModel.VEvent, zone: string, isOverride: boolean): EventModel.VEvent => {
  const start = canonicalValue(e.start, zone)
  const end = canonicalValue(fixEnd(start, canonicalValue(e.end, zone)), zone)
  return {
    uid: e.uid,
    recurrenceId: Option.map(e.recurrenceId, (r) => canonicalValue(r, zone)),
    summary: nonEmpty(e.summary),
    description: nonEmpty(e.description),
    location: nonEmpty(e.location),
    start,
    end,
    allDay: start._tag === "Date",
    rrule: isOverride ? Option.none() : e.rrule,
    rdates: isOverride ? [] : e.rdates.map((d) => canonicalValue(d, zone)),
    exdates: isOverride ? [] : e.exdates.map((d) => canonicalValue(d, zone)),
    // Google's default status and transparency are its "confirmed" and "opaque": an absent value.
    status: Option.filter(e.status, (s) => s !== "CONFIRMED"),
    class: normalClass(e.class),
    transp: Option.filter(e.transp, (t) => t !== "OPAQUE"),
    // Google sets the organizer itself (the calendar that holds the event) and it is read-only
    // outside `import`; attendees are never written, so that a copy never invites anyone.
    organizer: Option.none(),
    attendees: [],
    sequence: e.sequence,
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
 * An override that says nothing its series does not: at its original time, as long as the master,
 * with the master's fields. Google keeps such an exception when an instance was changed and then
 * changed back (and Almanac writes one to undo an override, see `encodeOccurrence`); both sides
 * drop it, so that it is no difference.
 */
const isRedundant = (m: EventModel.VEvent, o: EventModel.VEvent): boolean =>
  Option.isSome(o.recurrenceId) &&
  valueKey(o.recurrenceId.value) === valueKey(o.start) &&
  spanOf(o.start, o.end) === spanOf(m.start, m.end) &&
  sameJson(
    [o.summary, o.description, o.location, o.status, o.class, o.transp, o.organizer, o.attendees],
    [m.summary, m.description, m.location, m.status, m.class, m.transp, m.organizer, m.attendees]
  )

/**
 * What Google can hold of `resource`, in the calendar whose zone is `calendarZone` (an IANA name,
 * Google's `timeZone` of the calendar). Floating times become that zone's; VTIMEZONE texts go
 * (Google knows zones by IANA name only); organizer, attendees and their SCHEDULE-AGENT go (see
 * `normalEvent`); a cancelled instance becomes an EXDATE of its series, which is how Google keeps
 * it; recurrence ids and EXDATE/RDATE values take the frame of the series' start.
 */
export const normalize = (
  resource: EventModel.EventResource,
  calendarZone: string
): EventModel.EventResource => {
  const zone = Zones.isKnown(calendarZone) ? calendarZone : "UTC"
  const master = Option.map(resource.master, (m) => normalEvent(m, zone, false))
  const overrides = resource.overrides.map((o) => normalEvent(o, zone, true))
  const cancelled = overrides.filter((o) => Option.contains(o.status, "CANCELLED"))
  const kept = Option.isSome(master)
    ? overrides.filter((o) => !Option.contains(o.status, "CANCELLED"))
    : overrides
  const framed = Option.match(master, {
    onNone: () => kept,
    onSome: (m) =>
      kept.map((o) => ({ ...o, recurrenceId: Option.map(o.recurrenceId, (r) => inFrame(r, m.start)) }))
  })
  const byRid = new Map<string, EventModel.VEvent>()
  for (const o of framed) {
    if (Option.isSome(master) && isRedundant(master.value, o)) continue
    byRid.set(ridKey(o), o)
  }
  const sortedOverrides = [...byRid.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, o]) => o)
  return {
    uid: resource.uid,
    master: Option.map(master, (m) => ({
      ...m,
      exdates: uniqueSorted(
        [...m.exdates, ...cancelled.flatMap((o) => Option.toArray(o.recurrenceId))].map((d) =>
          inFrame(d, m.start)
        )
      ),
      rdates: uniqueSorted(m.rdates.map((d) => inFrame(d, m.start)))
    })),
    overrides: sortedOverrides,
    timezones: [],
    origin: resource.origin
  }
}

// ---------------------------------------------------------------------------------------------
// encode

export interface EncodeOptions {
  /** The id of the master on Google (`eventIdFor(key)` for a new copy, the ref for an update). */
  readonly masterId: string
  readonly calendarZone: string
}

/** The master plus one exception per override, each to be written under its own id. */
export interface EncodedSeries {
  readonly master: Event
  readonly exceptions: ReadonlyArray<Event>
}

const encodeTime = (d: EventModel.DateValue): Either.Either<EventDateTime, string> => {
  switch (d._tag) {
    case "Date":
      return Either.right({ date: Zones.formatDate(d) })
    case "UtcDateTime":
      return Either.right({ dateTime: `${Zones.formatLocal(d)}Z`, timeZone: "UTC" })
    case "ZonedDateTime":
      return Zones.isKnown(d.tzid)
        ? Either.right({ dateTime: Zones.formatLocal(d), timeZone: d.tzid })
        : Either.left(`the time zone "${d.tzid}" is not an IANA zone, the only kind Google knows`)
    case "FloatingDateTime":
      return Either.left("a floating time (normalize gives it the calendar's zone)")
  }
}

const recurrenceValue = (
  name: "EXDATE" | "RDATE",
  d: EventModel.DateValue
): Either.Either<string, string> => {
  switch (d._tag) {
    case "Date":
      return Either.right(`${name};VALUE=DATE:${Zones.basicDate(d)}`)
    case "UtcDateTime":
      return Either.right(`${name}:${Zones.basicDateTime(d)}Z`)
    case "ZonedDateTime":
      return Zones.isKnown(d.tzid)
        ? Either.right(`${name};TZID=${d.tzid}:${Zones.basicDateTime(d)}`)
        : Either.left(`the time zone "${d.tzid}" is not an IANA zone, the only kind Google knows`)
    case "FloatingDateTime":
      return Either.left("a floating time (normalize gives it the calendar's zone)")
  }
}

const STATUS_OUT: Record<string, string> = { TENTATIVE: "tentative", CONFIRMED: "confirmed" }
const CLASS_OUT: Record<string, string> = {
  PUBLIC: "public",
  PRIVATE: "private",
  CONFIDENTIAL: "confidential"
}

const privateProperties = (resource: EventModel.EventResource): Record<string, string> => ({
  [PROPERTY_UID]: resource.uid,
  ...Option.match(resource.origin, {
    onNone: () => ({}),
    onSome: (o) => ({ [PROPERTY_RELATIONSHIP]: o.relationship, [PROPERTY_SOURCE_UID]: o.sourceUid })
  })
})

const encodeFields = (
  e: EventModel.VEvent,
  resource: EventModel.EventResource
): Either.Either<Omit<Event, "id">, string> =>
  Either.gen(function* () {
    const start = yield* encodeTime(e.start)
    const end = yield* encodeTime(e.end)
    const status = Option.getOrUndefined(Option.flatMapNullable(e.status, (s) => STATUS_OUT[s]))
    const visibility = Option.getOrUndefined(Option.flatMapNullable(e.class, (c) => CLASS_OUT[c]))
    return {
      start,
      end,
      ...(Option.isSome(e.summary) ? { summary: e.summary.value } : {}),
      ...(Option.isSome(e.description) ? { description: e.description.value } : {}),
      ...(Option.isSome(e.location) ? { location: e.location.value } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(visibility !== undefined ? { visibility } : {}),
      ...(Option.contains(e.transp, "TRANSPARENT") ? { transparency: "transparent" } : {}),
      sequence: e.sequence,
      extendedProperties: { private: privateProperties(resource) }
    }
  })

/**
 * The Google resources of a series. The resource is normalized first (so `encode` accepts any
 * resource and writes exactly what `normalize` promises), then refused if Google cannot hold it.
 */
export const encode = (
  resource: EventModel.EventResource,
  options: EncodeOptions
): Either.Either<EncodedSeries, Unrepresentable> => {
  const refuse = (reason: string) => new Unrepresentable({ uid: resource.uid, reason })
  const r = normalize(resource, options.calendarZone)
  if (Option.isNone(r.master)) {
    return Either.left(
      refuse("changed instances of a series without the series itself, which Google cannot hold")
    )
  }
  const m = r.master.value
  if (Option.contains(m.status, "CANCELLED")) {
    return Either.left(refuse("a cancelled event: on Google a cancelled event is a deleted one"))
  }
  const recurs = Option.isSome(m.rrule) || m.rdates.length > 0
  if (!recurs && r.overrides.length > 0) {
    return Either.left(refuse("changed instances of an event that does not repeat"))
  }
  return Either.gen(function* () {
    const fields = yield* encodeFields(m, r)
    const recurrence: Array<string> = []
    if (Option.isSome(m.rrule)) recurrence.push(`RRULE:${m.rrule.value}`)
    for (const d of m.rdates) recurrence.push(yield* recurrenceValue("RDATE", d))
    for (const d of m.exdates) recurrence.push(yield* recurrenceValue("EXDATE", d))
    const master: Event = {
      id: options.masterId,
      ...fields,
      ...(recurrence.length > 0 ? { recurrence } : {})
    }
    const exceptions: Array<Event> = []
    for (const o of r.overrides) {
      if (Option.isNone(o.recurrenceId)) continue
      const rid = o.recurrenceId.value
      exceptions.push({
        id: instanceId(options.masterId, rid),
        recurringEventId: options.masterId,
        originalStartTime: yield* encodeTime(rid),
        ...(yield* encodeFields(o, r))
      })
    }
    return { master, exceptions }
  }).pipe(Either.mapLeft(refuse))
}

/**
 * The exception that undoes an override: the instance at `originalStartTime` as the series itself
 * would have it (Google has no "remove this exception"; deleting an instance cancels it). Decoding
 * drops it again as redundant.
 */
export const encodeOccurrence = (
  resource: EventModel.EventResource,
  originalStartTime: EventDateTime,
  options: EncodeOptions
): Either.Either<Event, Unrepresentable> => {
  const refuse = (reason: string) => new Unrepresentable({ uid: resource.uid, reason })
  const r = normalize(resource, options.calendarZone)
  if (Option.isNone(r.master)) return Either.left(refuse("no series to take the instance from"))
  const m = r.master.value
  return Either.gen(function* () {
    const original = yield* Either.mapLeft(
      decodeTime("originalStartTime", originalStartTime, options.calendarZone),
      (b) => refuse(b.reason)
    )
    const rid = inFrame(original, m.start)
    const span = spanOf(m.start, m.end) ?? 0
    const instant = instantOf(rid)
    const end =
      rid._tag === "Date" || sameFrame(m.start, m.end) || instant === undefined
        ? canonicalValue(
            EventModel.withFields(rid, Zones.fromWallMs(Zones.toWallMs(wallOf(rid)) + span)),
            options.calendarZone
          )
        : rid._tag === "ZonedDateTime"
          ? zonedFromMs(rid.tzid, instant + span)
          : utcFromMs(instant + span)
    const occurrence: EventModel.VEvent = {
      ...m,
      recurrenceId: Option.some(rid),
      start: rid,
      end,
      rrule: Option.none(),
      rdates: [],
      exdates: []
    }
    const fields = yield* Either.mapLeft(encodeFields(occurrence, r), refuse)
    return {
      id: instanceId(options.masterId, rid),
      recurringEventId: options.masterId,
      originalStartTime: yield* Either.mapLeft(encodeTime(rid), refuse),
      ...fields
    }
  })
}

/** The instance ids of a series' EXDATEs, as `normalize` leaves them. */
export const excludedInstanceIds = (
  resource: EventModel.EventResource,
  options: EncodeOptions
): ReadonlySet<string> =>
  new Set(
    Option.match(normalize(resource, options.calendarZone).master, {
      onNone: () => [],
      onSome: (m) => m.exdates.map((d) => instanceId(options.masterId, d))
    })
  )

/**
 * Overrides whose RECURRENCE-ID is not an occurrence of their series. iCalendar allows them (an
 * extra instance); Google has no instance there to change (its instance ids name occurrences of
 * the rule), so a series with one cannot be written. `encode` leaves this check to the writer:
 * it needs the rule expanded.
 */
export const strayOverrides = (
  resource: EventModel.EventResource,
  calendarZone: string
): ReadonlyArray<EventModel.DateValue> => {
  const r = normalize(resource, calendarZone)
  if (Option.isNone(r.master)) return []
  const bare: EventModel.EventResource = {
    ...r,
    master: Option.some({ ...r.master.value, exdates: [] }),
    overrides: []
  }
  const stray: Array<EventModel.DateValue> = []
  for (const o of r.overrides) {
    if (Option.isNone(o.recurrenceId)) continue
    const rid = o.recurrenceId.value
    const around = Zones.toWallMs(wallOf(rid))
    const found = Recurrence.instances(
      bare,
      { start: new Date(around - 2 * DAY_MS), end: new Date(around + 2 * DAY_MS) },
      { floatingZone: Zones.isKnown(calendarZone) ? calendarZone : "UTC" }
    ).some((i) =>
      Option.match(i.recurrenceId, { onNone: () => false, onSome: (x) => valueKey(x) === valueKey(rid) })
    )
    if (!found) stray.push(rid)
  }
  return stray
}

// ---------------------------------------------------------------------------------------------
// decode

export interface DecodeOptions {
  /** The calendar's zone, for the one case Google leaves a time without offset or zone. */
  readonly calendarZone: string
}

class Bad {
  constructor(readonly reason: string) {}
}

const fail = (reason: string): Either.Either<never, Bad> => Either.left(new Bad(reason))

const decodeTime = (
  what: string,
  edt: EventDateTime | undefined,
  zone: string
): Either.Either<EventModel.DateValue, Bad> => {
  if (edt === undefined) return fail(`no ${what}`)
  if (edt.date !== undefined) {
    const d = Zones.parseDate(edt.date)
    return d === undefined
      ? fail(`${what}.date "${edt.date}" is not a date`)
      : Either.right(EventModel.date(d.year, d.month, d.day))
  }
  if (edt.dateTime === undefined) return fail(`${what} has neither date nor dateTime`)
  const parsed = Zones.parseDateTime(edt.dateTime)
  if (parsed === undefined) return fail(`${what}.dateTime "${edt.dateTime}" is not an RFC 3339 time`)
  const tz = edt.timeZone ?? (parsed.offsetMinutes === undefined ? zone : undefined)
  if (tz !== undefined && !Zones.isKnown(tz)) return fail(`${what}.timeZone "${tz}" is not a time zone`)
  const instant =
    parsed.offsetMinutes !== undefined
      ? Zones.toWallMs(parsed.wall) - parsed.offsetMinutes * 60_000
      : tz === undefined || Zones.isUtc(tz)
        ? Zones.toWallMs(parsed.wall)
        : Zones.wallToUtc(tz, parsed.wall)
  if (instant === undefined) return fail(`${what} cannot be placed in its zone`)
  if (tz === undefined || Zones.isUtc(tz)) return Either.right(utcFromMs(instant))
  return Either.right(zonedFromMs(tz, instant))
}

const BASIC = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/

const recurrenceValues = (
  line: string,
  params: ReadonlyMap<string, string>,
  text: string,
  frame: EventModel.DateValue,
  zone: string
): Either.Either<ReadonlyArray<EventModel.DateValue>, Bad> => {
  const valueType = params.get("VALUE")?.toUpperCase()
  if (valueType === "PERIOD") return fail(`"${line}": PERIOD values are not supported`)
  const tzid = params.get("TZID")
  if (tzid !== undefined && !Zones.isKnown(tzid)) return fail(`"${line}": "${tzid}" is not a time zone`)
  const out: Array<EventModel.DateValue> = []
  for (const raw of text.split(",")) {
    const m = BASIC.exec(raw.trim())
    if (m === null) return fail(`"${line}": "${raw}" is not a date or time`)
    const wall = {
      year: Number(m[1]),
      month: Number(m[2]),
      day: Number(m[3]),
      hour: Number(m[4] ?? 0),
      minute: Number(m[5] ?? 0),
      second: Number(m[6] ?? 0)
    }
    if (!Zones.validWall(wall)) return fail(`"${line}": "${raw}" is not a calendar date`)
    if (m[4] === undefined) {
      out.push(EventModel.date(wall.year, wall.month, wall.day))
    } else if (m[7] !== undefined) {
      out.push(EventModel.utc(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second))
    } else {
      // A local time without TZID is read in the series' own zone, as Google expands the series.
      const in_ =
        tzid ?? (frame._tag === "ZonedDateTime" ? frame.tzid : frame._tag === "UtcDateTime" ? "UTC" : zone)
      out.push(
        canonicalValue(
          EventModel.zoned(in_, wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second),
          zone
        )
      )
    }
  }
  return Either.right(out)
}

interface RecurrenceLines {
  readonly rrule: Option.Option<string>
  readonly rdates: ReadonlyArray<EventModel.DateValue>
  readonly exdates: ReadonlyArray<EventModel.DateValue>
}

const decodeRecurrence = (
  lines: ReadonlyArray<string>,
  frame: EventModel.DateValue,
  zone: string
): Either.Either<RecurrenceLines, Bad> =>
  Either.gen(function* () {
    let rrule: Option.Option<string> = Option.none()
    const rdates: Array<EventModel.DateValue> = []
    const exdates: Array<EventModel.DateValue> = []
    for (const line of lines) {
      const colon = line.indexOf(":")
      if (colon < 0) return yield* fail(`recurrence line "${line}" has no value`)
      const [name = "", ...paramTexts] = line.slice(0, colon).split(";")
      const params = new Map<string, string>()
      for (const p of paramTexts) {
        const eq = p.indexOf("=")
        if (eq > 0) params.set(p.slice(0, eq).toUpperCase(), p.slice(eq + 1))
      }
      const value = line.slice(colon + 1)
      switch (name.trim().toUpperCase()) {
        case "RRULE":
          if (Option.isSome(rrule)) return yield* fail("more than one RRULE, which Almanac does not sync")
          rrule = Option.some(value.trim())
          break
        case "EXDATE":
          exdates.push(...(yield* recurrenceValues(line, params, value, frame, zone)))
          break
        case "RDATE":
          rdates.push(...(yield* recurrenceValues(line, params, value, frame, zone)))
          break
        case "EXRULE":
          return yield* fail("an EXRULE (deprecated by RFC 5545), which Almanac does not sync")
        default:
          return yield* fail(`unexpected recurrence line "${line}"`)
      }
    }
    return { rrule, rdates, exdates }
  })

const STATUS_IN: Record<string, Option.Option<EventModel.Status>> = {
  confirmed: Option.none(),
  tentative: Option.some("TENTATIVE")
}
const CLASS_IN: Record<string, Option.Option<string>> = {
  default: Option.none(),
  public: Option.some("PUBLIC"),
  private: Option.some("PRIVATE"),
  confidential: Option.some("CONFIDENTIAL")
}

const text = (s: string | undefined): Option.Option<string> =>
  s === undefined || s.length === 0 ? Option.none() : Option.some(s)

const person = (p: Person): Option.Option<EventModel.Attendee> =>
  p.email === undefined || p.email.trim() === ""
    ? Option.none()
    : Option.some({
        address: `mailto:${p.email.trim()}`,
        name: text(p.displayName),
        scheduleAgent: Option.none()
      })

const decodeEvent = (
  e: Event,
  uid: string,
  zone: string,
  rid: Option.Option<EventModel.DateValue>
): Either.Either<EventModel.VEvent, Bad> =>
  Either.gen(function* () {
    const start = yield* decodeTime("start", e.start, zone)
    const end = yield* decodeTime("end", e.end, zone)
    const recurrence = yield* decodeRecurrence(e.recurrence ?? [], start, zone)
    const status = STATUS_IN[e.status ?? "confirmed"]
    if (status === undefined) return yield* fail(`unknown status "${e.status}"`)
    const klass = CLASS_IN[e.visibility ?? "default"]
    if (klass === undefined) return yield* fail(`unknown visibility "${e.visibility}"`)
    const transparency = e.transparency ?? "opaque"
    if (transparency !== "opaque" && transparency !== "transparent") {
      return yield* fail(`unknown transparency "${e.transparency}"`)
    }
    const sequence = e.sequence ?? 0
    if (!Number.isInteger(sequence) || sequence < 0) return yield* fail(`sequence ${sequence} is not a count`)
    const updated = e.updated === undefined ? undefined : Zones.parseDateTime(e.updated)
    const lastModified =
      updated === undefined
        ? Option.none()
        : Option.some(utcFromMs(Zones.toWallMs(updated.wall) - (updated.offsetMinutes ?? 0) * 60_000))
    return {
      uid,
      recurrenceId: rid,
      summary: text(e.summary),
      description: text(e.description),
      location: text(e.location),
      start,
      end,
      allDay: start._tag === "Date",
      rrule: recurrence.rrule,
      rdates: recurrence.rdates,
      exdates: recurrence.exdates,
      status,
      class: klass,
      transp: transparency === "transparent" ? Option.some("TRANSPARENT" as const) : Option.none(),
      // The calendar's own organizer is where the event lives, not a person to carry along.
      organizer: e.organizer === undefined || e.organizer.self === true ? Option.none() : person(e.organizer),
      attendees: (e.attendees ?? []).flatMap((a) => Option.toArray(person(a))),
      sequence,
      lastModified
    }
  })

const originOf = (e: Event): Option.Option<EventModel.CopyOrigin> => {
  const p = e.extendedProperties?.private
  const relationship = p?.[PROPERTY_RELATIONSHIP]
  const sourceUid = p?.[PROPERTY_SOURCE_UID]
  return relationship !== undefined && relationship !== "" && sourceUid !== undefined && sourceUid !== ""
    ? Option.some({ relationship, sourceUid })
    : Option.none()
}

/** One Google event resource, decoded with a reason a person can read on failure. */
export const decodeWire = (json: unknown): Either.Either<Event, string> =>
  Either.mapLeft(decodeEventEither(json), (e) => ParseResult.TreeFormatter.formatErrorSync(e))

/**
 * The series `ref` (the master's id) from its members as Google lists them: the master, its
 * exceptions and its cancelled instances. A member that cannot be read makes the whole series a
 * `BadItem` (quarantined by the engine) naming the member and what is wrong.
 */
export const decode = (
  ref: string,
  members: ReadonlyArray<unknown>,
  options: DecodeOptions
): Either.Either<EventModel.EventResource, CoreError.BadItem> => {
  const zone = Zones.isKnown(options.calendarZone) ? options.calendarZone : "UTC"
  const bad = (reason: string) => new CoreError.BadItem({ ref: ref, reason })
  const events: Array<Event> = []
  for (const json of members) {
    const decoded = decodeWire(json)
    if (Either.isLeft(decoded)) return Either.left(bad(`an event Almanac cannot read: ${decoded.left}`))
    events.push(decoded.right)
  }
  const master = events.find((e) => e.id === ref && e.recurringEventId === undefined)
  if (master === undefined)
    return Either.left(bad("only instances of this series are here, not the series itself"))
  if (master.status === "cancelled") return Either.left(bad("the event is deleted"))
  const uid = master.extendedProperties?.private?.[PROPERTY_UID] ?? master.iCalUID
  if (uid === undefined || uid === "") return Either.left(bad("the event has no iCalUID"))
  return Either.gen(function* () {
    const main = yield* decodeEvent(master, uid, zone, Option.none())
    const cancelled: Array<EventModel.DateValue> = []
    const overrides: Array<EventModel.VEvent> = []
    for (const e of events) {
      if (e === master || e.recurringEventId !== ref) continue
      const where = `instance ${e.id}`
      const original = yield* Either.mapLeft(
        decodeTime("originalStartTime", e.originalStartTime, zone),
        (b) => new Bad(`${where}: ${b.reason}`)
      )
      const rid = inFrame(original, main.start)
      if (e.status === "cancelled") cancelled.push(rid)
      else
        overrides.push(
          yield* Either.mapLeft(
            decodeEvent(e, uid, zone, Option.some(rid)),
            (b) => new Bad(`${where}: ${b.reason}`)
          )
        )
    }
    const byRid = new Map<string, EventModel.VEvent>()
    for (const o of overrides) if (!isRedundant(main, o)) byRid.set(ridKey(o), o)
    return {
      uid,
      master: Option.some({ ...main, exdates: uniqueSorted([...main.exdates, ...cancelled]) }),
      overrides: [...byRid.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o),
      timezones: [],
      origin: originOf(master)
    }
  }).pipe(Either.mapLeft((b) => bad(b.reason)))
}
