/**
 * Recurrence expansion: the instances of a resource (master series, RDATE, EXDATE and
 * RECURRENCE-ID overrides) that overlap a window, as UTC instants.
 *
 * Rules are iterated in the event's own wall time and each occurrence is then placed in the
 * event's zone, so a 09:00 meeting stays at 09:00 local across DST changes. Series that began
 * long before the window are fast-forwarded by whole rule periods instead of being walked from
 * their first occurrence. Work is bounded by a count, not a clock: at most `maxInstances`
 * occurrences are generated per series, lead-in before the window included. A series whose
 * budget runs out before the window's end is *cut*: what was generated is exact up to the cut,
 * and `expand` says where the cut is, so that no caller reads the rest of the window as free.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as EventModel from "./EventModel.js"
import * as Civil from "./internal/Civil.js"
import * as Ical from "./internal/Ical.js"
import * as ResourceZones from "./internal/ResourceZones.js"
import * as Zone from "./internal/Zone.js"

export interface Window {
  readonly start: Date
  readonly end: Date
}

export interface Instance {
  readonly start: Date
  readonly end: Date
  /** The master for generated occurrences, the override for overridden ones. */
  readonly event: EventModel.VEvent
  /** The instance's RECURRENCE-ID: its original start (None for a non-recurring event). */
  readonly recurrenceId: Option.Option<EventModel.DateValue>
}

export interface Options {
  /** Occurrences generated per series before giving up on it (default 5000). */
  readonly maxInstances?: number
  /** IANA zone that DATE and floating values are read in (default "UTC"). */
  readonly floatingZone?: string
}

export const DEFAULT_MAX_INSTANCES = 5_000

/**
 * Where the expansion of a series stopped short of the window's end. Instances before `until`
 * are all there; from `until` on, none of the series' generated occurrences are known.
 */
export interface Cut {
  /** The budget ran out (`maxInstances` occurrences generated), or ical.js could not iterate the rule. */
  readonly reason: "budget" | "unreadable"
  readonly limit: number
  readonly until: Date
}

export interface Expansion {
  readonly instances: ReadonlyArray<Instance>
  readonly cut: Option.Option<Cut>
}

interface Ctx {
  readonly resolve: ResourceZones.Resolver
  readonly floating: Zone.Zone | undefined
}

const wallToInstant = (kind: EventModel.DateValue, wall: number, ctx: Ctx): number => {
  switch (kind._tag) {
    case "UtcDateTime":
      return wall
    case "ZonedDateTime": {
      const zone = ctx.resolve(kind.tzid)
      return zone === undefined ? wall : Zone.wallToUtc(zone, wall)
    }
    case "Date":
    case "FloatingDateTime":
      return ctx.floating === undefined ? wall : Zone.wallToUtc(ctx.floating, wall)
  }
}

/** The UTC instant of a value (a DATE is its midnight in the floating zone). */
const instantOf = (d: EventModel.DateValue, ctx: Ctx): number =>
  wallToInstant(d, Civil.toWallMs(EventModel.fieldsOf(d)), ctx)

/** End of an instance starting at `wall` (wall ms, of `start`'s kind) of an event. */
const endFor = (event: EventModel.VEvent, startInstant: number, wall: number, ctx: Ctx): number => {
  if (event.start._tag === "Date" && event.end._tag === "Date") {
    // Nominal days, so an all-day event keeps whole days across DST.
    const days = Math.round(
      (Civil.toWallMs(EventModel.fieldsOf(event.end)) - Civil.toWallMs(EventModel.fieldsOf(event.start))) /
        Civil.DAY_MS
    )
    return wallToInstant(event.start, wall + Math.max(0, days) * Civil.DAY_MS, ctx)
  }
  const exact = instantOf(event.end, ctx) - instantOf(event.start, ctx)
  return startInstant + Math.max(0, exact)
}

const dateKey = (f: Civil.Fields): string => Civil.formatBasicDate(f)

// ---------------------------------------------------------------------------------------------
// rules

interface RuleInfo {
  readonly text: string
  readonly freq: string
  readonly interval: number
  readonly hasCount: boolean
  readonly byMonth: ReadonlyArray<number> | undefined
  readonly byMonthDay: ReadonlyArray<number> | undefined
  /** Days picked by weekday or position (BYDAY, BYSETPOS…): they move when the start is shifted. */
  readonly picksDays: boolean
}

const parseParts = (rule: string): Map<string, string> => {
  const parts = new Map<string, string>()
  for (const part of rule.split(";")) {
    const i = part.indexOf("=")
    if (i > 0) parts.set(part.slice(0, i).toUpperCase(), part.slice(i + 1))
  }
  return parts
}

const numbers = (v: string | undefined): ReadonlyArray<number> | undefined =>
  v === undefined ? undefined : v.split(",").map((x) => Number.parseInt(x, 10))

/**
 * ical.js compares UNTIL with occurrences in wall time, so an UNTIL in UTC is moved into the
 * event's zone first; a DATE series gets a DATE UNTIL and a DATE-TIME series a DATE-TIME one.
 */
const prepareRule = (rule: string, start: EventModel.DateValue, ctx: Ctx): RuleInfo => {
  const parts = parseParts(rule)
  const until = parts.get("UNTIL")
  if (until !== undefined) {
    const stamp = Civil.parseStamp(until)
    if (stamp !== undefined) {
      let f = stamp.fields
      if (start._tag === "Date") {
        if (stamp.hasTime && stamp.utc && ctx.floating !== undefined) {
          f = Civil.fromWallMs(Zone.utcToWall(ctx.floating, Civil.toWallMs(f)))
        }
        parts.set("UNTIL", Civil.formatBasicDate(f))
      } else if (!stamp.hasTime) {
        parts.set("UNTIL", Civil.formatBasicDateTime({ ...f, hour: 23, minute: 59, second: 59 }))
      } else if (stamp.utc && start._tag !== "UtcDateTime") {
        const zone = start._tag === "ZonedDateTime" ? ctx.resolve(start.tzid) : ctx.floating
        const wall = zone === undefined ? Civil.toWallMs(f) : Zone.utcToWall(zone, Civil.toWallMs(f))
        parts.set("UNTIL", Civil.formatBasicDateTime(Civil.fromWallMs(wall)))
      } else {
        parts.set("UNTIL", Civil.formatBasicDateTime(f))
      }
    }
  }
  const text = [...parts].map(([k, v]) => `${k}=${v}`).join(";")
  return {
    text,
    freq: parts.get("FREQ") ?? "",
    interval: Math.max(1, Number.parseInt(parts.get("INTERVAL") ?? "1", 10) || 1),
    hasCount: parts.has("COUNT"),
    byMonth: numbers(parts.get("BYMONTH")),
    byMonthDay: numbers(parts.get("BYMONTHDAY")),
    picksDays: ["BYDAY", "BYSETPOS", "BYWEEKNO", "BYYEARDAY"].some((k) => parts.has(k))
  }
}

/** ical.js can emit dates outside BYMONTH/BYMONTHDAY for impossible rules (30 February). */
const satisfiesByParts = (info: RuleInfo, f: Civil.Fields): boolean => {
  if (info.byMonth !== undefined && !info.byMonth.includes(f.month)) return false
  if (info.byMonthDay !== undefined) {
    const dim = Civil.daysInMonth(f.year, f.month)
    if (!info.byMonthDay.some((d) => (d > 0 ? d === f.day : dim + d + 1 === f.day))) return false
  }
  return true
}

const UNIT_MS: Readonly<Record<string, number>> = {
  SECONDLY: 1000,
  MINUTELY: 60_000,
  HOURLY: 3_600_000,
  DAILY: Civil.DAY_MS,
  WEEKLY: 7 * Civil.DAY_MS
}

/**
 * A later start for the iteration that yields the same occurrences from `notBefore` on:
 * the original start moved by whole rule periods. Not possible with COUNT (the count runs
 * from the first occurrence) nor where the shifted day might not exist.
 */
const fastForward = (info: RuleInfo, start: Civil.Fields, notBefore: number): Civil.Fields | undefined => {
  if (info.hasCount) return undefined
  const startWall = Civil.toWallMs(start)
  if (startWall >= notBefore) return undefined
  const unit = UNIT_MS[info.freq]
  if (unit !== undefined) {
    const period = unit * info.interval
    const k = Math.floor((notBefore - startWall) / period) - 1
    return k > 0 ? Civil.fromWallMs(startWall + k * period) : undefined
  }
  // A month or year later the start's day is another weekday, and ical.js, iterating from a
  // start its BYDAY does not match, skips occurrences (FREQ=YEARLY;INTERVAL=3;BYMONTH=9;BYDAY=1MO).
  if (info.picksDays) return undefined
  if (
    (info.freq === "MONTHLY" && start.day <= 28) ||
    (info.freq === "YEARLY" && !(start.month === 2 && start.day === 29))
  ) {
    const target = Civil.fromWallMs(notBefore)
    const monthsApart = (target.year - start.year) * 12 + (target.month - start.month)
    const periodMonths = info.freq === "MONTHLY" ? info.interval : 12 * info.interval
    const k = Math.floor(monthsApart / periodMonths) - 1
    if (k <= 0) return undefined
    const total = start.month - 1 + k * periodMonths
    return { ...start, year: start.year + Math.floor(total / 12), month: (total % 12) + 1 }
  }
  return undefined
}

// ---------------------------------------------------------------------------------------------
// expansion

const overlaps = (start: number, end: number, w: { start: number; end: number }): boolean =>
  end > start ? start < w.end && end > w.start : start >= w.start && start < w.end

const SUB_DAILY: ReadonlySet<string> = new Set(["SECONDLY", "MINUTELY", "HOURLY"])

/** Wall-clock slack around a zone's offset at the window's start: DST moves and zone history. */
const OFFSET_SLACK_MS = 3 * 3_600_000

/**
 * The wall times between which an occurrence overlapping the window can start. Daily and
 * coarser rules take a generous two days either side (cheap: a few iterations); sub-daily rules
 * would spend their whole budget there (two days of minutes is 2,880), so they take the zone's
 * own offset at the window's edges, some slack, and the event's length.
 */
const wallBounds = (
  info: RuleInfo,
  start: EventModel.DateValue,
  w: { start: number; end: number },
  duration: number,
  ctx: Ctx
): { readonly from: number; readonly to: number } => {
  const length = Math.max(0, duration)
  if (!SUB_DAILY.has(info.freq))
    return { from: w.start - 2 * Civil.DAY_MS - length, to: w.end + 2 * Civil.DAY_MS }
  if (start._tag === "UtcDateTime") return { from: w.start - length, to: w.end }
  const zone = start._tag === "ZonedDateTime" ? ctx.resolve(start.tzid) : ctx.floating
  const wall = (t: number) => (zone === undefined ? t : Zone.utcToWall(zone, t))
  return { from: wall(w.start) - OFFSET_SLACK_MS - length, to: wall(w.end) + OFFSET_SLACK_MS }
}

/** Expands one series into `out`; answers where it was cut, if it was. */
const expandSeries = (
  master: EventModel.VEvent,
  overriddenKeys: ReadonlySet<number>,
  exInstants: ReadonlySet<number>,
  exDays: ReadonlySet<string>,
  w: { start: number; end: number },
  ctx: Ctx,
  max: number,
  out: Array<Instance>
): Cut | undefined => {
  const startFields = EventModel.fieldsOf(master.start)
  const isDate = master.start._tag === "Date"
  const duration =
    endFor(master, instantOf(master.start, ctx), Civil.toWallMs(startFields), ctx) -
    instantOf(master.start, ctx)
  const seen = new Set<number>()
  const emit = (kind: EventModel.DateValue, f: Civil.Fields): void => {
    const wall = Civil.toWallMs(f)
    const s = wallToInstant(kind, wall, ctx)
    if (seen.has(s)) return
    seen.add(s)
    if (exInstants.has(s) || exDays.has(dateKey(f)) || overriddenKeys.has(s)) return
    const e =
      kind._tag === "Date" && master.start._tag === "Date" ? endFor(master, s, wall, ctx) : s + duration
    if (overlaps(s, e, w)) {
      out.push({
        start: new Date(s),
        end: new Date(e),
        event: master,
        recurrenceId: Option.some(EventModel.withFields(kind, f))
      })
    }
  }
  const rdates = () => {
    for (const r of master.rdates)
      emit(r._tag === "Date" && !isDate ? master.start : r, EventModel.fieldsOf(r))
  }
  if (Option.isNone(master.rrule)) {
    emit(master.start, startFields)
    rdates()
    return undefined
  }
  const cut = expandRule(master, master.rrule.value, w, duration, ctx, max, emit)
  rdates()
  return cut
}

const expandRule = (
  master: EventModel.VEvent,
  rule: string,
  w: { start: number; end: number },
  duration: number,
  ctx: Ctx,
  max: number,
  emit: (kind: EventModel.DateValue, f: Civil.Fields) => void
): Cut | undefined => {
  const startFields = EventModel.fieldsOf(master.start)
  const isDate = master.start._tag === "Date"
  let cut: Cut | undefined
  // Known complete up to here (a wall time of the series); a cut is placed at it.
  let reached = Number.NEGATIVE_INFINITY
  const cutAt = (reason: Cut["reason"]): Cut => {
    const at = Number.isFinite(reached) ? wallToInstant(master.start, reached, ctx) : w.start
    return { reason, limit: max, until: new Date(Math.min(w.end, Math.max(w.start, at))) }
  }
  let info: RuleInfo
  let next: () => Civil.Fields | undefined
  let bounds: { readonly from: number; readonly to: number }
  try {
    info = prepareRule(rule, master.start, ctx)
    emit(master.start, startFields)
    reached = Civil.toWallMs(startFields)
    bounds = wallBounds(info, master.start, w, duration, ctx)
    const shifted = fastForward(info, startFields, bounds.from)
    next = Ical.iterateRule(info.text, shifted ?? startFields, isDate)
    // The iteration's first result is its own start, an occurrence only when unshifted
    // (and then already emitted above); a shifted start ends before the window anyway.
    next()
    if (shifted !== undefined) reached = Math.max(reached, Civil.toWallMs(shifted))
  } catch {
    return cutAt("unreadable")
  }
  try {
    let done = false
    for (let i = 0; i < max; i++) {
      const f = next()
      if (f === undefined) {
        done = true
        break
      }
      const wall = Civil.toWallMs(f)
      reached = wall
      if (wall >= bounds.to) {
        done = true
        break
      }
      if (satisfiesByParts(info, f)) emit(master.start, f)
    }
    // Out of budget past the window's end: nothing inside it is missing.
    if (!done) cut = cutAt("budget")
    if (cut !== undefined && cut.until.getTime() >= w.end) cut = undefined
  } catch {
    cut = cutAt("unreadable")
  }
  return cut
}

/**
 * Every instance of a resource overlapping `window` (half-open; a zero-length instance counts
 * when it starts inside), unsorted, including cancelled and transparent ones; and where the
 * series was cut, if its budget ran out before the window's end.
 */
export const expand = (resource: EventModel.EventResource, window: Window, options?: Options): Expansion => {
  const ctx: Ctx = {
    resolve: ResourceZones.resolver(resource.timezones),
    floating: Zone.intlZone(options?.floatingZone ?? "UTC")
  }
  const w = { start: window.start.getTime(), end: window.end.getTime() }
  const max = options?.maxInstances ?? DEFAULT_MAX_INSTANCES
  const out: Array<Instance> = []
  const master = Option.getOrUndefined(resource.master)
  const exInstants = new Set<number>()
  const exDays = new Set<string>()
  if (master !== undefined) {
    for (const x of master.exdates) {
      if (x._tag === "Date" && master.start._tag !== "Date") exDays.add(dateKey(EventModel.fieldsOf(x)))
      else exInstants.add(instantOf(x, ctx))
    }
  }
  const overriddenKeys = new Set<number>()
  for (const o of resource.overrides) {
    if (Option.isNone(o.recurrenceId)) continue
    const key = instantOf(o.recurrenceId.value, ctx)
    if (exInstants.has(key)) continue
    overriddenKeys.add(key)
    const s = instantOf(o.start, ctx)
    const e = endFor(o, s, Civil.toWallMs(EventModel.fieldsOf(o.start)), ctx)
    if (overlaps(s, e, w)) {
      out.push({ start: new Date(s), end: new Date(e), event: o, recurrenceId: o.recurrenceId })
    }
  }
  let cut: Cut | undefined
  if (master !== undefined) {
    const isSeries = Option.isSome(master.rrule) || master.rdates.length > 0
    if (isSeries) {
      cut = expandSeries(master, overriddenKeys, exInstants, exDays, w, ctx, max, out)
    } else {
      const s = instantOf(master.start, ctx)
      const e = endFor(master, s, Civil.toWallMs(EventModel.fieldsOf(master.start)), ctx)
      if (overlaps(s, e, w))
        out.push({ start: new Date(s), end: new Date(e), event: master, recurrenceId: Option.none() })
    }
  }
  // Only what lies before the cut is exact; an instance after it (an RDATE, a late one of the
  // rule) is still true and kept.
  return { instances: out, cut: Option.fromNullable(cut) }
}

/** The instances of `expand`, for callers that need no word on cut series. */
export const instances = (
  resource: EventModel.EventResource,
  window: Window,
  options?: Options
): ReadonlyArray<Instance> => expand(resource, window, options).instances
