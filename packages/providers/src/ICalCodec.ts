/**
 * The iCalendar codec: calendar-object text to `EventResource` and back, on ical.js.
 *
 * Parsing is tolerant of what real servers send (duplicated DTSTAMP, trailing whitespace,
 * LF or CRLF, folding, Windows zone names, missing DTEND); anything it cannot make sense of is
 * a `BadItem` naming the item, with a reason a person can read. Hostile input is refused the
 * same way, in bounded work (see "Hostile and malformed calendar data" in docs/design.md): an
 * object over `MAX_OBJECT_CHARS`, bytes that were not UTF-8 (NUL), components other than VEVENT,
 * VEVENTs with different UIDs or two masters, an end before the start, an unknown TZID, and
 * rules that repeat more often than once a minute. Nothing in an object is dropped silently:
 * it is read whole or quarantined whole (a CalDAV object is one resource, so it is one item). Serializing writes what servers accept: CRLF and folding, a
 * VTIMEZONE for every TZID, always DTEND, no METHOD.
 *
 * Both directions are pure functions of their input: no process-wide state is read or
 * written, so they can run in a loop or concurrently.
 *
 * @since 0.1.0
 */

import { CoreError, EventModel } from "@almanac/core"
// Civil time, zones and the ical.js wrapper are shared with core's recurrence engine (RRULE
// iteration, VTIMEZONE evaluation), so they stay there; codecs reach them through this subpath.
import * as Civil from "@almanac/core/internal/Civil"
import * as Ical from "@almanac/core/internal/Ical"
import * as ResourceZones from "@almanac/core/internal/ResourceZones"
import * as Zone from "@almanac/core/internal/Zone"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

export const BadItem = CoreError.BadItem
export type BadItem = CoreError.BadItem

/** The PRODID we write. */
export const PRODID = "-//Almanac//Almanac Calendar Sync//EN"

/** The property that marks a copy with its origin. */
export const ORIGIN_PROPERTY = "X-ALMANAC-ORIGIN"

/**
 * Largest calendar object read, in UTF-16 code units of its text (about its size in bytes for
 * Latin text). ical.js holds a parsed object several times over, so this bounds the memory of one
 * item; a person's event, even with a long pasted DESCRIPTION, is far below it. What is larger
 * (a 2 MB DESCRIPTION, an inline binary ATTACH, which is not synced anyway) is quarantined.
 */
export const MAX_OBJECT_CHARS = 1_048_576

/**
 * Most occurrences a day a rule may produce: once a minute. A denser rule (FREQ=SECONDLY, or
 * MINUTELY with several BYSECOND values) is no person's meeting, cannot be expanded for free/busy
 * within bounds, and would make target servers and clients expand it too; it is quarantined.
 */
export const MAX_OCCURRENCES_PER_DAY = 1_440

/** Reasons are stored and shown; a hostile value (a 100 KB UID or line) must not fill them. */
const MAX_REASON_CHARS = 300

const clip = (s: string, max = 80): string =>
  s.length <= max ? s : `${s.slice(0, max)}… (${s.length} characters)`

// ---------------------------------------------------------------------------------------------
// parse

/**
 * Unfolds, drops blank lines and trailing whitespace outside text values (iCloud sends
 * `END:VEVENT ` now and then, which ical.js would read as a component named "vevent ").
 */
const cleanText = (text: string): string => {
  const physical = text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/)
  const logical: Array<string> = []
  for (const line of physical) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && logical.length > 0) {
      logical[logical.length - 1] += line.slice(1)
    } else {
      logical.push(line)
    }
  }
  const out: Array<string> = []
  for (const line of logical) {
    if (line.trim() === "") continue
    out.push(/^(SUMMARY|DESCRIPTION|LOCATION|COMMENT)[;:]/i.test(line) ? line : line.trimEnd())
  }
  return `${out.join("\r\n")}\r\n`
}

interface Context {
  readonly vtimezones: ReadonlyMap<string, Ical.JCalComponent>
  readonly zone: (tzid: string) => Zone.Zone | undefined
}

type Result<A> = Either.Either<A, string>

const firstProp = (c: Ical.JCalComponent, name: string): Ical.JCalProperty | undefined =>
  c.properties.find((p) => p.name === name)

const paramString = (p: Ical.JCalProperty, name: string): string | undefined => {
  const v = p.params[name]
  if (v === undefined) return undefined
  return typeof v === "string" ? v : v.join(",")
}

const textOf = (p: Ical.JCalProperty | undefined): Option.Option<string> => {
  if (p === undefined) return Option.none()
  const v = p.values.length > 1 ? p.values.map(String).join(",") : p.values[0]
  return v === undefined || v === null ? Option.none() : Option.some(String(v))
}

const upper = (p: Ical.JCalProperty | undefined): string | undefined => {
  const v = Option.getOrUndefined(textOf(p))
  return v === undefined ? undefined : v.trim().toUpperCase()
}

const MOZILLA_PREFIX = /^\/(?:mozilla\.org|softwarestudio\.org)\/[^/]+\/(.+)$/

const resolveTzid = (tzid: string, ctx: Context): Result<string> => {
  const name = tzid.trim()
  if (ctx.vtimezones.has(name) || Zone.isIanaZone(name)) return Either.right(name)
  const windows = Zone.windowsToIana(name)
  if (windows !== undefined) return Either.right(windows)
  const mozilla = MOZILLA_PREFIX.exec(name)?.[1]
  if (mozilla !== undefined && Zone.isIanaZone(mozilla)) return Either.right(mozilla)
  const slash = name.startsWith("/") ? name.slice(1) : undefined
  if (slash !== undefined && Zone.isIanaZone(slash)) return Either.right(slash)
  return Either.left(`unknown time zone "${clip(name)}" with no VTIMEZONE`)
}

const decodeDateValue = (p: Ical.JCalProperty, raw: unknown, ctx: Context): Result<EventModel.DateValue> => {
  const text = Array.isArray(raw) ? raw[0] : raw
  const stamp = typeof text === "string" ? Civil.parseStamp(text) : undefined
  if (stamp === undefined)
    return Either.left(`${p.name.toUpperCase()} has an invalid value "${clip(String(text))}"`)
  const f = stamp.fields
  if (!stamp.hasTime || p.type === "date") return Either.right(EventModel.date(f.year, f.month, f.day))
  if (stamp.utc) return Either.right(EventModel.utc(f.year, f.month, f.day, f.hour, f.minute, f.second))
  const tzid = paramString(p, "tzid")
  if (tzid === undefined || tzid.trim() === "") {
    return Either.right(EventModel.floating(f.year, f.month, f.day, f.hour, f.minute, f.second))
  }
  return Either.map(resolveTzid(tzid, ctx), (name) =>
    EventModel.zoned(name, f.year, f.month, f.day, f.hour, f.minute, f.second)
  )
}

const decodeDateList = (
  c: Ical.JCalComponent,
  name: string,
  ctx: Context
): Result<ReadonlyArray<EventModel.DateValue>> => {
  const out: Array<EventModel.DateValue> = []
  for (const p of c.properties) {
    if (p.name !== name) continue
    for (const v of p.values) {
      const d = decodeDateValue(p, v, ctx)
      if (Either.isLeft(d)) return Either.left(d.left)
      out.push(d.right)
    }
  }
  return Either.right(out)
}

/** DTSTART + DURATION: days and weeks in wall time, hours and less in elapsed time (RFC 5545 3.3.6). */
const addDuration = (
  start: EventModel.DateValue,
  d: Ical.DurationParts,
  ctx: Pick<Context, "zone">
): EventModel.DateValue => {
  const sign = d.negative ? -1 : 1
  const nominal = sign * (d.weeks * 7 + d.days) * Civil.DAY_MS
  const exact = sign * (d.hours * 3600 + d.minutes * 60 + d.seconds) * 1000
  const wall = Civil.toWallMs(EventModel.fieldsOf(start)) + nominal
  if (start._tag === "Date") {
    return EventModel.withFields(
      start,
      Civil.fromWallMs(wall + Math.trunc(exact / Civil.DAY_MS) * Civil.DAY_MS)
    )
  }
  if (start._tag === "ZonedDateTime" && exact !== 0) {
    const zone = ctx.zone(start.tzid)
    if (zone !== undefined) {
      const instant = Zone.wallToUtc(zone, wall) + exact
      return EventModel.withFields(start, Civil.fromWallMs(Zone.utcToWall(zone, instant)))
    }
  }
  return EventModel.withFields(start, Civil.fromWallMs(wall + exact))
}

const decodeAttendee = (p: Ical.JCalProperty): EventModel.Attendee | undefined => {
  const address = Option.getOrUndefined(textOf(p))?.trim()
  if (address === undefined || address === "") return undefined
  const cn = paramString(p, "cn")
  const agent = paramString(p, "schedule-agent")?.trim().toUpperCase()
  return {
    address,
    name: cn === undefined ? Option.none() : Option.some(cn),
    scheduleAgent: agent === undefined || agent === "" ? Option.none() : Option.some(agent)
  }
}

/**
 * The instant of a value for ordering DTSTART against DTEND: a zoned time in its zone, anything
 * else on the wall clock (floating and DATE values have no instant; two of them compare as walls).
 */
const instantForOrder = (d: EventModel.DateValue, ctx: Pick<Context, "zone">): number => {
  const wall = Civil.toWallMs(EventModel.fieldsOf(d))
  if (d._tag !== "ZonedDateTime") return wall
  const zone = ctx.zone(d.tzid)
  return zone === undefined ? wall : Zone.wallToUtc(zone, wall)
}

const describeValue = (d: EventModel.DateValue): string => {
  const f = EventModel.fieldsOf(d)
  switch (d._tag) {
    case "Date":
      return Civil.formatBasicDate(f)
    case "UtcDateTime":
      return `${Civil.formatBasicDateTime(f)}Z`
    case "ZonedDateTime":
      return `${Civil.formatBasicDateTime(f)} ${clip(d.tzid)}`
    case "FloatingDateTime":
      return Civil.formatBasicDateTime(f)
  }
}

/** Seconds in one period of each frequency, before INTERVAL. */
const FREQ_SECONDS: Readonly<Record<string, number>> = {
  SECONDLY: 1,
  MINUTELY: 60,
  HOURLY: 3_600,
  DAILY: 86_400
}

/**
 * An upper bound on a rule's occurrences per day: periods a day times what the BYxxx parts finer
 * than the frequency expand each period into (RFC 5545 3.3.10: BYSECOND expands MINUTELY and
 * coarser, BYMINUTE HOURLY and coarser, BYHOUR DAILY and coarser; finer ones only limit). WEEKLY
 * and coarser rules have at most one day's worth of times per day.
 */
const occurrencesPerDay = (rule: string): number => {
  const parts = new Map<string, string>()
  for (const part of rule.split(";")) {
    const i = part.indexOf("=")
    if (i > 0) parts.set(part.slice(0, i).toUpperCase(), part.slice(i + 1))
  }
  const freq = parts.get("FREQ")?.toUpperCase() ?? ""
  const interval = Math.max(1, Number.parseInt(parts.get("INTERVAL") ?? "1", 10) || 1)
  const size = (name: string): number => {
    const v = parts.get(name)
    return v === undefined || v === "" ? 1 : v.split(",").length
  }
  const period = FREQ_SECONDS[freq]
  const periodsPerDay = period === undefined ? 1 : Math.max(1, 86_400 / (period * interval))
  const rank = period ?? 86_400
  const bySecond = rank > 1 ? size("BYSECOND") : 1
  const byMinute = rank > 60 ? size("BYMINUTE") : 1
  const byHour = rank > 3_600 ? size("BYHOUR") : 1
  return (period === undefined || period < 86_400 ? periodsPerDay : 1) * bySecond * byMinute * byHour
}

const STATUSES: ReadonlyArray<string> = ["TENTATIVE", "CONFIRMED", "CANCELLED"]
const TRANSPARENCIES: ReadonlyArray<string> = ["OPAQUE", "TRANSPARENT"]

const decodeEvent = (c: Ical.JCalComponent, ctx: Context): Result<EventModel.VEvent> =>
  Either.gen(function* () {
    const uid = Option.getOrUndefined(textOf(firstProp(c, "uid")))?.trim()
    if (uid === undefined || uid === "") return yield* Either.left("VEVENT without UID")
    const dtstart = firstProp(c, "dtstart")
    if (dtstart === undefined) return yield* Either.left(`VEVENT ${clip(uid)} without DTSTART`)
    const start = yield* decodeDateValue(dtstart, dtstart.values[0], ctx)
    const dtend = firstProp(c, "dtend")
    const duration = firstProp(c, "duration")
    let end: EventModel.DateValue
    if (dtend !== undefined) {
      end = yield* decodeDateValue(dtend, dtend.values[0], ctx)
    } else if (duration !== undefined) {
      const parts = Ical.parseDuration(String(duration.values[0]))
      if (parts === undefined) return yield* Either.left(`VEVENT ${clip(uid)} has an invalid DURATION`)
      end = addDuration(start, parts, ctx)
    } else {
      // RFC 5545 3.6.1: a DATE start lasts one day, a DATE-TIME start takes no time.
      end =
        start._tag === "Date"
          ? EventModel.withFields(
              start,
              Civil.fromWallMs(Civil.toWallMs(EventModel.fieldsOf(start)) + Civil.DAY_MS)
            )
          : start
    }
    // RFC 5545 3.6.1 wants the end after the start. Repairing it (swapping, or a zero length)
    // would guess the time a person meant and show that guess as busy, so it is quarantined
    // instead; an end equal to the start is a legal zero-length event and is kept.
    if (instantForOrder(end, ctx) < instantForOrder(start, ctx))
      return yield* Either.left(
        `VEVENT ${clip(uid)} ends before it starts (${dtend === undefined ? "a negative DURATION" : `DTEND ${describeValue(end)}`}, DTSTART ${describeValue(start)})`
      )
    const ridProp = firstProp(c, "recurrence-id")
    const recurrenceId =
      ridProp === undefined
        ? Option.none()
        : Option.some(yield* decodeDateValue(ridProp, ridProp.values[0], ctx))
    const rruleProp = firstProp(c, "rrule")
    let rrule: Option.Option<string> = Option.none()
    if (rruleProp !== undefined) {
      const text = Ical.recurToString(rruleProp.values[0])
      if (text === undefined) return yield* Either.left(`VEVENT ${clip(uid)} has an unreadable RRULE`)
      const perDay = occurrencesPerDay(text)
      if (perDay > MAX_OCCURRENCES_PER_DAY)
        return yield* Either.left(
          `VEVENT ${clip(uid)} repeats up to ${Math.round(perDay)} times a day (RRULE ${clip(text)}); rules more frequent than once a minute are refused`
        )
      rrule = Option.some(text)
    }
    const rdates = yield* decodeDateList(c, "rdate", ctx)
    const exdates = yield* decodeDateList(c, "exdate", ctx)
    const status = upper(firstProp(c, "status"))
    const klass = upper(firstProp(c, "class"))
    const transp = upper(firstProp(c, "transp"))
    const organizerProp = firstProp(c, "organizer")
    const organizer = organizerProp === undefined ? undefined : decodeAttendee(organizerProp)
    const attendees: Array<EventModel.Attendee> = []
    for (const p of c.properties) {
      if (p.name !== "attendee") continue
      const a = decodeAttendee(p)
      if (a !== undefined) attendees.push(a)
    }
    const seqRaw = firstProp(c, "sequence")?.values[0]
    const seq = typeof seqRaw === "number" ? seqRaw : Number.parseInt(String(seqRaw ?? "0"), 10)
    const lmRaw = firstProp(c, "last-modified")?.values[0]
    const lm = typeof lmRaw === "string" ? Civil.parseStamp(lmRaw) : undefined
    const event: EventModel.VEvent = {
      uid,
      recurrenceId,
      summary: textOf(firstProp(c, "summary")),
      description: textOf(firstProp(c, "description")),
      location: textOf(firstProp(c, "location")),
      start,
      end,
      allDay: start._tag === "Date",
      rrule,
      rdates,
      exdates,
      status:
        status !== undefined && STATUSES.includes(status)
          ? Option.some(status as EventModel.Status)
          : Option.none(),
      class: klass === undefined || klass === "" ? Option.none() : Option.some(klass),
      transp:
        transp !== undefined && TRANSPARENCIES.includes(transp)
          ? Option.some(transp as EventModel.Transparency)
          : Option.none(),
      organizer: organizer === undefined ? Option.none() : Option.some(organizer),
      attendees,
      sequence: Number.isFinite(seq) && seq > 0 ? Math.floor(seq) : 0,
      lastModified:
        lm === undefined
          ? Option.none()
          : Option.some(
              EventModel.utc(
                lm.fields.year,
                lm.fields.month,
                lm.fields.day,
                lm.fields.hour,
                lm.fields.minute,
                lm.fields.second
              )
            )
    }
    return event
  })

const decodeOrigin = (c: Ical.JCalComponent): Option.Option<EventModel.CopyOrigin> => {
  const raw = Option.getOrUndefined(textOf(firstProp(c, ORIGIN_PROPERTY.toLowerCase())))
  if (raw === undefined) return Option.none()
  const query = raw.trim().replace(/^almanac:v1\?/, "")
  const params = new URLSearchParams(query)
  const relationship = params.get("relationship")
  const sourceUid = params.get("source-uid")
  return relationship && sourceUid ? Option.some({ relationship, sourceUid }) : Option.none()
}

/** Components that are not events; anything else (X- components) is not modelled, as X- properties are not. */
const OTHER_COMPONENTS: ReadonlyArray<string> = ["vtodo", "vjournal", "vfreebusy", "vavailability"]

/** What the CalDAV client puts where a body's bytes were not UTF-8 (caldav's internal/utf8.ts). */
const NOT_UTF8 = "\u0000"

const megabytes = (chars: number): string => (chars / 1_048_576).toFixed(1)

const compareDateValues = (a: EventModel.DateValue, b: EventModel.DateValue): number =>
  Civil.toWallMs(EventModel.fieldsOf(a)) - Civil.toWallMs(EventModel.fieldsOf(b))

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Synchronous parse, for loops that do not want an Effect per item. */
export const parseEither = (
  text: string,
  item: { readonly href: string }
): Either.Either<EventModel.EventResource, BadItem> => {
  const bad = (reason: string) =>
    Either.left(new BadItem({ ref: item.href, reason: clip(reason, MAX_REASON_CHARS) }))
  // Before anything is parsed: these two bound the work and refuse damage nobody can undo.
  if (text.length > MAX_OBJECT_CHARS)
    return bad(
      `the calendar object is ${megabytes(text.length)} MB; Almanac reads objects up to ${megabytes(MAX_OBJECT_CHARS)} MB`
    )
  // The CalDAV client reads a body that is not UTF-8 rather than fail the whole multistatus, and
  // puts NUL where bytes were not UTF-8 (NUL is never iCalendar text; a U+FFFD may be, so it is
  // not the marker). A copy would carry the damage as if it were the text: quarantined instead.
  if (text.includes(NOT_UTF8))
    return bad("the calendar object contains bytes that are not UTF-8 (or a NUL); it is not copied damaged")
  const normalized = cleanText(text)
  const parsed = Ical.parse(normalized)
  if (parsed._tag === "Error") return bad(`not iCalendar: ${parsed.message}`)
  const calendar = parsed.components.find((c) => c.name === "vcalendar")
  if (calendar === undefined) return bad("no VCALENDAR")
  const vtimezones = new Map<string, Ical.JCalComponent>()
  for (const c of calendar.components) {
    if (c.name !== "vtimezone") continue
    const tzid = Option.getOrUndefined(textOf(firstProp(c, "tzid")))?.trim()
    if (tzid !== undefined && tzid !== "" && !vtimezones.has(tzid)) vtimezones.set(tzid, c)
  }
  const resolve = (tzid: string): Zone.Zone | undefined => {
    const comp = vtimezones.get(tzid)
    return (comp === undefined ? undefined : Zone.fromVTimezone(comp)) ?? Zone.intlZone(tzid)
  }
  const zoneCache = new Map<string, Zone.Zone | undefined>()
  const ctx: Context = {
    vtimezones,
    zone: (tzid) => {
      if (!zoneCache.has(tzid)) zoneCache.set(tzid, resolve(tzid))
      return zoneCache.get(tzid)
    }
  }
  const vevents = calendar.components.filter((c) => c.name === "vevent")
  // RFC 4791 4.1: one kind of component per calendar object. A VTODO or VJOURNAL is not an
  // event: said so, rather than left out of an event calendar's sync without a word.
  const others = [
    ...new Set(calendar.components.map((c) => c.name).filter((n) => OTHER_COMPONENTS.includes(n)))
  ].map((n) => n.toUpperCase())
  if (vevents.length === 0)
    return bad(
      others.length > 0
        ? `the calendar object holds ${others.join(" and ")}, not an event; Almanac syncs events only`
        : "no VEVENT in the calendar object"
    )
  if (others.length > 0)
    return bad(
      `the calendar object holds VEVENT and ${others.join(" and ")}; a calendar object holds one kind of component`
    )
  // RFC 4791 4.1 again: every VEVENT of an object shares its UID. The object is one resource
  // (one href, one etag), so it is read whole or quarantined whole: copying one UID would leave
  // the others neither synced nor quarantined.
  const uids = [
    ...new Set(vevents.map((c) => Option.getOrUndefined(textOf(firstProp(c, "uid")))?.trim() ?? ""))
  ]
  if (uids.length > 1)
    return bad(
      `the calendar object holds VEVENTs with ${uids.length} different UIDs (${uids
        .slice(0, 3)
        .map((u) => (u === "" ? "none" : `"${clip(u, 60)}"`))
        .join(", ")}${uids.length > 3 ? ", …" : ""}); one object must hold one event`
    )
  let master: EventModel.VEvent | undefined
  const overrides = new Map<string, EventModel.VEvent>()
  for (const c of vevents) {
    const decoded = decodeEvent(c, ctx)
    if (Either.isLeft(decoded)) return bad(decoded.left)
    const event = decoded.right
    if (Option.isNone(event.recurrenceId)) {
      // Which of two masters is the event is a guess either way.
      if (master !== undefined)
        return bad(`two VEVENTs for UID "${clip(event.uid)}" without RECURRENCE-ID (two masters)`)
      master = event
    } else {
      // RFC 5545: of two versions of one instance, the higher SEQUENCE supersedes; with the
      // same SEQUENCE neither does, and picking one would drop the other silently.
      const key = JSON.stringify(event.recurrenceId.value)
      const existing = overrides.get(key)
      if (existing !== undefined && existing.sequence === event.sequence)
        return bad(
          `two overrides of UID "${clip(event.uid)}" for RECURRENCE-ID ${describeValue(event.recurrenceId.value)} with the same SEQUENCE`
        )
      if (existing === undefined || existing.sequence < event.sequence) overrides.set(key, event)
    }
  }
  const first = master ?? overrides.values().next().value
  if (first === undefined) return bad("no VEVENT in the calendar object")
  const uid = first.uid
  const all = [...(master === undefined ? [] : [master]), ...overrides.values()]
  const sortedOverrides = [...overrides.values()].sort((a, b) =>
    Option.isSome(a.recurrenceId) && Option.isSome(b.recurrenceId)
      ? compareDateValues(a.recurrenceId.value, b.recurrenceId.value)
      : 0
  )
  const used = new Set(all.flatMap(EventModel.tzidsOf))
  const timezones: Array<EventModel.TimeZoneDefinition> = []
  if (used.size > 0) {
    // The definitions' own text (unfolded), cut from the document: cheaper than writing the
    // parsed component again, and exactly what the server sent.
    const blocks = normalized.match(/^BEGIN:VTIMEZONE\r\n[\s\S]*?^END:VTIMEZONE\r\n/gim) ?? []
    for (const [tzid, comp] of vtimezones) {
      if (!used.has(tzid)) continue
      const block = blocks.find((b) => new RegExp(`^TZID:${escapeRegExp(tzid)}\r$`, "im").test(b))
      timezones.push({ tzid, text: block ?? Ical.stringify(comp) })
    }
  }
  const originSource = vevents.find((c) => firstProp(c, "recurrence-id") === undefined) ?? vevents[0]
  return Either.right({
    uid,
    master: master === undefined ? Option.none() : Option.some(master),
    overrides: sortedOverrides,
    timezones,
    origin: originSource === undefined ? Option.none() : decodeOrigin(originSource)
  })
}

/** Parses one calendar object; `item.href` names it in a `BadItem`. */
export const parse = (
  text: string,
  item: { readonly href: string }
): Effect.Effect<EventModel.EventResource, BadItem> => Effect.suspend(() => parseEither(text, item))

// ---------------------------------------------------------------------------------------------
// serialize

const prop = (
  name: string,
  type: string,
  value: unknown,
  params: Ical.JCalParams = {}
): Ical.JCalProperty => ({ name, params, type, values: [value] })

const dateProp = (name: string, d: EventModel.DateValue): Ical.JCalProperty => {
  const f = EventModel.fieldsOf(d)
  switch (d._tag) {
    case "Date":
      return prop(name, "date", Civil.formatJCalDate(f))
    case "UtcDateTime":
      return prop(name, "date-time", `${Civil.formatJCalDateTime(f)}Z`)
    case "ZonedDateTime":
      return prop(name, "date-time", Civil.formatJCalDateTime(f), { tzid: d.tzid })
    case "FloatingDateTime":
      return prop(name, "date-time", Civil.formatJCalDateTime(f))
  }
}

// Bare CR would end a line in the output; RFC 5545 text has LF line breaks only.
const lineBreaks = (value: string): string => value.replace(/\r\n?/g, "\n")

const text = (name: string, value: string): Ical.JCalProperty => prop(name, "text", lineBreaks(value))

/**
 * What an iCalendar object holds of a resource, as the codec reads it back: text with LF line
 * breaks only. Everything else the model carries survives the round trip as it is. Idempotent.
 */
export const normalize = (resource: EventModel.EventResource): EventModel.EventResource => {
  const event = (e: EventModel.VEvent): EventModel.VEvent => ({
    ...e,
    summary: Option.map(e.summary, lineBreaks),
    description: Option.map(e.description, lineBreaks),
    location: Option.map(e.location, lineBreaks)
  })
  return { ...resource, master: Option.map(resource.master, event), overrides: resource.overrides.map(event) }
}

const attendeeProp = (name: string, a: EventModel.Attendee): Ical.JCalProperty => {
  const params: Record<string, string> = {}
  if (Option.isSome(a.name)) params.cn = a.name.value
  if (Option.isSome(a.scheduleAgent)) params["schedule-agent"] = a.scheduleAgent.value
  return prop(name, "cal-address", a.address, params)
}

export const encodeOrigin = (origin: EventModel.CopyOrigin): string =>
  `almanac:v1?${new URLSearchParams({ relationship: origin.relationship, "source-uid": origin.sourceUid }).toString()}`

const encodeEvent = (
  e: EventModel.VEvent,
  dtstamp: string,
  origin: Option.Option<EventModel.CopyOrigin>
): Ical.JCalComponent => {
  const ps: Array<Ical.JCalProperty> = [prop("uid", "text", e.uid), prop("dtstamp", "date-time", dtstamp)]
  if (Option.isSome(e.recurrenceId)) ps.push(dateProp("recurrence-id", e.recurrenceId.value))
  ps.push(dateProp("dtstart", e.start), dateProp("dtend", e.end))
  if (Option.isSome(e.summary)) ps.push(text("summary", e.summary.value))
  if (Option.isSome(e.description)) ps.push(text("description", e.description.value))
  if (Option.isSome(e.location)) ps.push(text("location", e.location.value))
  if (Option.isSome(e.rrule)) {
    const rule = Ical.recurToJCal(e.rrule.value)
    if (rule !== undefined) ps.push(prop("rrule", "recur", rule))
  }
  for (const d of e.rdates) ps.push(dateProp("rdate", d))
  for (const d of e.exdates) ps.push(dateProp("exdate", d))
  if (Option.isSome(e.status)) ps.push(prop("status", "text", e.status.value))
  if (Option.isSome(e.class)) ps.push(prop("class", "text", e.class.value))
  if (Option.isSome(e.transp)) ps.push(prop("transp", "text", e.transp.value))
  if (Option.isSome(e.organizer)) ps.push(attendeeProp("organizer", e.organizer.value))
  for (const a of e.attendees) ps.push(attendeeProp("attendee", a))
  ps.push(prop("sequence", "integer", e.sequence))
  if (Option.isSome(e.lastModified)) {
    ps.push(
      prop(
        "last-modified",
        "date-time",
        `${Civil.formatJCalDateTime(EventModel.fieldsOf(e.lastModified.value))}Z`
      )
    )
  }
  if (Option.isSome(origin))
    ps.push(prop(ORIGIN_PROPERTY.toLowerCase(), "unknown", encodeOrigin(origin.value)))
  return { name: "vevent", properties: ps, components: [] }
}

// Parsed VTIMEZONEs by their text: a calendar's objects mostly share one or two definitions.
const componentCache = new Map<string, Ical.JCalComponent | null>()

const vtimezoneComponent = (text: string): Ical.JCalComponent | undefined => {
  const cached = componentCache.get(text)
  if (cached !== undefined) return cached ?? undefined
  const parsed = Ical.parse(text)
  const comp = parsed._tag === "Ok" ? parsed.components.find((c) => c.name === "vtimezone") : undefined
  if (componentCache.size >= 256) {
    const oldest = componentCache.keys().next()
    if (oldest.done !== true) componentCache.delete(oldest.value)
  }
  componentCache.set(text, comp ?? null)
  return comp
}

const vtimezoneFor = (
  tzid: string,
  resource: EventModel.EventResource,
  year: number
): Ical.JCalComponent | undefined => {
  const def = resource.timezones.find((t) => t.tzid === tzid)
  const comp = def === undefined ? undefined : vtimezoneComponent(def.text)
  if (comp !== undefined) return comp
  return Zone.generateVTimezone(tzid, year)
}

/**
 * Writes one calendar object. Events without a zone definition in `resource.timezones` get a
 * VTIMEZONE generated from the IANA database, with rules from the year of their earliest start.
 */
export const serialize = (resource: EventModel.EventResource, options?: { readonly now?: Date }): string => {
  const now = options?.now ?? new Date()
  const dtstamp = `${now.toISOString().slice(0, 19)}Z`
  const events = EventModel.eventsOf(resource)
  const firstYear = new Map<string, number>()
  for (const e of events) {
    for (const tzid of EventModel.tzidsOf(e)) {
      const y = Math.min(e.start.year, e.end.year)
      firstYear.set(tzid, Math.min(firstYear.get(tzid) ?? y, y))
    }
  }
  const components: Array<Ical.JCalComponent> = []
  for (const [tzid, year] of firstYear) {
    const vtz = vtimezoneFor(tzid, resource, year)
    if (vtz !== undefined) components.push(vtz)
  }
  for (const e of events) components.push(encodeEvent(e, dtstamp, resource.origin))
  return Ical.stringify({
    name: "vcalendar",
    properties: [
      prop("version", "text", "2.0"),
      prop("prodid", "text", PRODID),
      prop("calscale", "text", "GREGORIAN")
    ],
    components
  })
}

/** A resolver for the zones of a resource, as used by free/busy; exposed for the engine's own instants. */
export const zoneResolver = (resource: EventModel.EventResource): ResourceZones.Resolver =>
  ResourceZones.resolver(resource.timezones)
