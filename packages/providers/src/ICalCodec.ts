/**
 * The iCalendar codec: calendar-object text to `EventResource` and back, on ical.js.
 *
 * Parsing is tolerant of what real servers send (duplicated DTSTAMP, trailing whitespace,
 * LF or CRLF, folding, Windows zone names, missing DTEND); anything it cannot make sense of is
 * a `BadItem` naming the item. Serializing writes what servers accept: CRLF and folding, a
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
  return Either.left(`unknown time zone "${name}" with no VTIMEZONE`)
}

const decodeDateValue = (p: Ical.JCalProperty, raw: unknown, ctx: Context): Result<EventModel.DateValue> => {
  const text = Array.isArray(raw) ? raw[0] : raw
  const stamp = typeof text === "string" ? Civil.parseStamp(text) : undefined
  if (stamp === undefined)
    return Either.left(`${p.name.toUpperCase()} has an invalid value "${String(text)}"`)
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

const STATUSES: ReadonlyArray<string> = ["TENTATIVE", "CONFIRMED", "CANCELLED"]
const TRANSPARENCIES: ReadonlyArray<string> = ["OPAQUE", "TRANSPARENT"]

const decodeEvent = (c: Ical.JCalComponent, ctx: Context): Result<EventModel.VEvent> =>
  Either.gen(function* () {
    const uid = Option.getOrUndefined(textOf(firstProp(c, "uid")))?.trim()
    if (uid === undefined || uid === "") return yield* Either.left("VEVENT without UID")
    const dtstart = firstProp(c, "dtstart")
    if (dtstart === undefined) return yield* Either.left(`VEVENT ${uid} without DTSTART`)
    const start = yield* decodeDateValue(dtstart, dtstart.values[0], ctx)
    const dtend = firstProp(c, "dtend")
    const duration = firstProp(c, "duration")
    let end: EventModel.DateValue
    if (dtend !== undefined) {
      end = yield* decodeDateValue(dtend, dtend.values[0], ctx)
    } else if (duration !== undefined) {
      const parts = Ical.parseDuration(String(duration.values[0]))
      if (parts === undefined) return yield* Either.left(`VEVENT ${uid} has an invalid DURATION`)
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
    const ridProp = firstProp(c, "recurrence-id")
    const recurrenceId =
      ridProp === undefined
        ? Option.none()
        : Option.some(yield* decodeDateValue(ridProp, ridProp.values[0], ctx))
    const rruleProp = firstProp(c, "rrule")
    let rrule: Option.Option<string> = Option.none()
    if (rruleProp !== undefined) {
      const text = Ical.recurToString(rruleProp.values[0])
      if (text === undefined) return yield* Either.left(`VEVENT ${uid} has an unreadable RRULE`)
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

const compareDateValues = (a: EventModel.DateValue, b: EventModel.DateValue): number =>
  Civil.toWallMs(EventModel.fieldsOf(a)) - Civil.toWallMs(EventModel.fieldsOf(b))

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Synchronous parse, for loops that do not want an Effect per item. */
export const parseEither = (
  text: string,
  item: { readonly href: string }
): Either.Either<EventModel.EventResource, BadItem> => {
  const bad = (reason: string) => Either.left(new BadItem({ ref: item.href, reason }))
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
  if (vevents.length === 0) return bad("no VEVENT in the calendar object")
  let master: EventModel.VEvent | undefined
  const overrides = new Map<string, EventModel.VEvent>()
  for (const c of vevents) {
    const decoded = decodeEvent(c, ctx)
    if (Either.isLeft(decoded)) return bad(decoded.left)
    const event = decoded.right
    if (Option.isNone(event.recurrenceId)) {
      // Two masters break RFC 4791; keep the first rather than guess a merge.
      if (master === undefined) master = event
    } else {
      const key = JSON.stringify(event.recurrenceId.value)
      const existing = overrides.get(key)
      if (existing === undefined || existing.sequence <= event.sequence) overrides.set(key, event)
    }
  }
  const first = master ?? overrides.values().next().value
  if (first === undefined) return bad("no VEVENT in the calendar object")
  const uid = first.uid
  const all = [...(master === undefined ? [] : [master]), ...overrides.values()]
  const other = all.find((e) => e.uid !== uid)
  if (other !== undefined) return bad(`VEVENTs with different UIDs: "${uid}" and "${other.uid}"`)
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
