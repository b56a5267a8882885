/**
 * Time zones as offset functions. A zone comes either from a document's own VTIMEZONE
 * (evaluated here, never registered anywhere global) or from the platform's IANA database
 * (Intl) when a document names a zone without defining it.
 */
import { findIana, findWindows } from "windows-iana"
import * as Civil from "./Civil.js"
import * as Ical from "./Ical.js"

export interface Zone {
  readonly tzid: string
  /** Offset from UTC in milliseconds at an instant. */
  readonly offsetAt: (utcMs: number) => number
}

/**
 * Wall time to instant. In a gap (spring forward) the offset before the gap applies, and in
 * an overlap the earlier instant, as RFC 5545 section 3.3.5 says.
 */
export const wallToUtc = (zone: Zone, wallMs: number): number => {
  const before = zone.offsetAt(wallMs - Civil.DAY_MS)
  const after = zone.offsetAt(wallMs + Civil.DAY_MS)
  let best: number | undefined
  for (const off of before === after ? [before] : [before, after]) {
    const candidate = wallMs - off
    if (zone.offsetAt(candidate) === off && (best === undefined || candidate < best)) best = candidate
  }
  return best ?? wallMs - before
}

export const utcToWall = (zone: Zone, utcMs: number): number => utcMs + zone.offsetAt(utcMs)

// ---------------------------------------------------------------------------------------------
// IANA zones through Intl

const formatters = new Map<string, Intl.DateTimeFormat | null>()

const formatterFor = (tzid: string): Intl.DateTimeFormat | null => {
  const cached = formatters.get(tzid)
  if (cached !== undefined) return cached
  let f: Intl.DateTimeFormat | null
  try {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tzid,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      era: "short"
    })
  } catch {
    f = null
  }
  formatters.set(tzid, f)
  return f
}

export const isIanaZone = (tzid: string): boolean => formatterFor(tzid) !== null

const intlZones = new Map<string, Zone>()

export const intlZone = (tzid: string): Zone | undefined => {
  const existing = intlZones.get(tzid)
  if (existing !== undefined) return existing
  const f = formatterFor(tzid)
  if (f === null) return undefined
  const offsetAt = (utcMs: number): number => {
    const t = Math.floor(utcMs / 1000) * 1000
    let year = 0
    let month = 1
    let day = 1
    let hour = 0
    let minute = 0
    let second = 0
    let bc = false
    for (const part of f.formatToParts(t)) {
      const v = Number(part.value)
      switch (part.type) {
        case "year":
          year = v
          break
        case "month":
          month = v
          break
        case "day":
          day = v
          break
        case "hour":
          hour = v
          break
        case "minute":
          minute = v
          break
        case "second":
          second = v
          break
        case "era":
          bc = part.value.startsWith("B")
          break
      }
    }
    const wall = Civil.toWallMs({ year: bc ? 1 - year : year, month, day, hour, minute, second })
    return wall - t
  }
  const zone: Zone = { tzid, offsetAt }
  intlZones.set(tzid, zone)
  return zone
}

// ---------------------------------------------------------------------------------------------
// VTIMEZONE components

const MAX_ONSETS_PER_OBSERVANCE = 1_000
const LAST_YEAR = 2200

const parseOffset = (text: string): number | undefined => {
  const m = /^([+-])(\d{2}):?(\d{2})(?::?(\d{2}))?$/.exec(text.trim())
  if (m === null) return undefined
  const ms = (Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4] ?? 0)) * 1000
  return m[1] === "-" ? -ms : ms
}

const firstValue = (c: Ical.JCalComponent, name: string): unknown =>
  c.properties.find((p) => p.name === name)?.values[0]

/**
 * An observance's UNTIL is in UTC (RFC 5545 3.6.5) while its onsets iterate in local time;
 * moved into local time, east of Greenwich the last onset is not lost.
 */
const localUntil = (rule: string, fromOffset: number): string =>
  rule.replace(/UNTIL=(\d{8}T\d{6})Z/i, (whole, stamp: string) => {
    const parsed = Civil.parseStamp(stamp)
    return parsed === undefined
      ? whole
      : `UNTIL=${Civil.formatBasicDateTime(Civil.fromWallMs(Civil.toWallMs(parsed.fields) + fromOffset))}`
  })

interface Transition {
  readonly at: number
  readonly from: number
  readonly offset: number
}

const EVALUATED_LIMIT = 512
const evaluated = new Map<string, Zone | null>()

/**
 * Evaluates a VTIMEZONE: every observance's onsets (DTSTART, RDATE, RRULE expanded in the
 * observance's local time) become transitions on the UTC line. Returns undefined when the
 * component has no usable observance. Expanding the rules to 2200 was a fifth of a first sync's
 * CPU when done for every event (each object carries its zones, mostly the same few), so zones
 * are kept by their content, never by TZID alone: two documents that define one TZID differently
 * each get their own.
 */
export const fromVTimezone = (component: Ical.JCalComponent): Zone | undefined => {
  const key = JSON.stringify(component)
  const known = evaluated.get(key)
  if (known !== undefined) return known ?? undefined
  const zone = evaluate(component)
  if (evaluated.size >= EVALUATED_LIMIT) {
    const oldest = evaluated.keys().next()
    if (oldest.done !== true) evaluated.delete(oldest.value)
  }
  evaluated.set(key, zone ?? null)
  return zone
}

const evaluate = (component: Ical.JCalComponent): Zone | undefined => {
  const tzid = firstValue(component, "tzid")
  if (typeof tzid !== "string") return undefined
  const transitions: Array<Transition> = []
  for (const obs of component.components) {
    if (obs.name !== "standard" && obs.name !== "daylight") continue
    const fromText = firstValue(obs, "tzoffsetfrom")
    const toText = firstValue(obs, "tzoffsetto")
    const startText = firstValue(obs, "dtstart")
    if (typeof toText !== "string" || typeof startText !== "string") continue
    const to = parseOffset(toText)
    const from = typeof fromText === "string" ? (parseOffset(fromText) ?? to) : to
    const start = Civil.parseStamp(startText)
    if (to === undefined || from === undefined || start === undefined) continue
    const onsets: Array<Civil.Fields> = [start.fields]
    for (const p of obs.properties) {
      if (p.name !== "rdate") continue
      for (const v of p.values) {
        const s = typeof v === "string" ? Civil.parseStamp(v) : undefined
        if (s !== undefined) onsets.push(s.fields)
      }
    }
    const rrule = obs.properties.find((p) => p.name === "rrule")
    const ruleText = rrule === undefined ? undefined : Ical.recurToString(rrule.values[0])
    if (ruleText !== undefined) {
      try {
        const next = Ical.iterateRule(localUntil(ruleText, from), start.fields, false)
        for (let i = 0; i < MAX_ONSETS_PER_OBSERVANCE; i++) {
          const f = next()
          if (f === undefined || f.year > LAST_YEAR) break
          onsets.push(f)
        }
      } catch {
        // A rule ical.js cannot iterate leaves the observance with its explicit onsets.
      }
    }
    for (const f of onsets) transitions.push({ at: Civil.toWallMs(f) - from, from, offset: to })
  }
  if (transitions.length === 0) return undefined
  transitions.sort((a, b) => a.at - b.at)
  const first = transitions[0]
  const initial = first === undefined ? 0 : first.from
  const offsetAt = (utcMs: number): number => {
    let lo = 0
    let hi = transitions.length - 1
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const t = transitions[mid]
      if (t !== undefined && t.at <= utcMs) {
        found = mid
        lo = mid + 1
      } else {
        hi = mid - 1
      }
    }
    return found < 0 ? initial : (transitions[found]?.offset ?? initial)
  }
  return { tzid, offsetAt }
}

// ---------------------------------------------------------------------------------------------
// Generating a VTIMEZONE for an IANA zone, for documents that name a zone without defining it

/** A UTC offset in jCal form ("+01:00"); ical.js writes it as iCalendar's "+0100". */
const formatOffset = (ms: number): string => {
  const sign = ms < 0 ? "-" : "+"
  const total = Math.abs(Math.round(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  const base = `${sign}${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`
  return s === 0 ? base : `${base}:${String(s).padStart(2, "0")}`
}

const WEEKDAYS = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"] as const

const WEEK_MS = 7 * Civil.DAY_MS

interface Found {
  readonly at: number
  readonly from: number
  readonly to: number
}

/** Transitions whose local onset falls in `year`, found by weekly steps and bisection. */
const findTransitions = (zone: Zone, year: number): Array<Found> => {
  const out: Array<Found> = []
  const start = Date.UTC(year, 0, 1) - WEEK_MS
  const end = Date.UTC(year + 1, 0, 1) + WEEK_MS
  let t = start
  let off = zone.offsetAt(t)
  while (t < end) {
    const next = t + WEEK_MS
    const nextOff = zone.offsetAt(next)
    if (nextOff !== off) {
      let lo = t
      let hi = next
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2000) * 1000
        if (zone.offsetAt(mid) === off) lo = mid
        else hi = mid
      }
      if (Civil.fromWallMs(hi + off).year === year) out.push({ at: hi, from: off, to: nextOff })
      off = nextOff
    }
    t = next
  }
  return out
}

interface YearRules {
  readonly year: number
  readonly signature: string
  readonly transitions: ReadonlyArray<Found & { readonly local: Civil.Fields; readonly byday: string }>
  readonly offset: number
}

const rulesOf = (zone: Zone, year: number): YearRules => {
  const transitions = findTransitions(zone, year).map((t) => {
    const local = Civil.fromWallMs(t.at + t.from)
    const dim = Civil.daysInMonth(local.year, local.month)
    const nth = local.day > dim - 7 ? -1 : Math.ceil(local.day / 7)
    const weekday = WEEKDAYS[new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay()] ?? "SU"
    return { ...t, local, byday: `${nth}${weekday}` }
  })
  const offset = zone.offsetAt(Date.UTC(year, 6, 1))
  const signature =
    transitions.length === 0
      ? `fixed ${offset}`
      : transitions
          .map(
            (t) =>
              `${t.local.month} ${t.byday} ${t.local.hour}:${t.local.minute}:${t.local.second} ${t.from} ${t.to}`
          )
          .join("|")
  return { year, signature, transitions, offset }
}

const generated = new Map<string, Ical.JCalComponent | null>()

/**
 * A VTIMEZONE (as jCal) for an IANA zone covering `fromYear` on: the platform's transitions
 * year by year, grouped into yearly rules ("last Sunday of March") with UNTIL where the rules
 * changed, the latest rules open-ended.
 */
export const generateVTimezone = (tzid: string, fromYear: number): Ical.JCalComponent | undefined => {
  const toYear = Math.max(fromYear, new Date().getUTCFullYear()) + 2
  const first = Math.max(1970, fromYear, toYear - 60)
  const key = `${tzid} ${first} ${toYear}`
  const cached = generated.get(key)
  if (cached !== undefined) return cached ?? undefined
  const zone = intlZone(tzid)
  const result = zone === undefined ? undefined : build(tzid, zone, first, toYear)
  if (generated.size >= 256) {
    const oldest = generated.keys().next()
    if (oldest.done !== true) generated.delete(oldest.value)
  }
  generated.set(key, result ?? null)
  return result
}

const build = (tzid: string, zone: Zone, fromYear: number, toYear: number): Ical.JCalComponent => {
  const groups: Array<{ first: YearRules; last: YearRules }> = []
  for (let y = fromYear; y <= toYear; y++) {
    const rules = rulesOf(zone, y)
    const current = groups[groups.length - 1]
    if (current !== undefined && current.first.signature === rules.signature) current.last = rules
    else groups.push({ first: rules, last: rules })
  }
  const prop = (name: string, type: string, value: unknown): Ical.JCalProperty => ({
    name,
    params: {},
    type,
    values: [value]
  })
  const observances: Array<Ical.JCalComponent> = []
  let previousOffset = zone.offsetAt(Date.UTC(fromYear, 0, 1))
  groups.forEach((group, i) => {
    const open = i === groups.length - 1
    const { transitions } = group.first
    if (transitions.length === 0) {
      const from = formatOffset(previousOffset)
      observances.push({
        name: "standard",
        properties: [
          prop(
            "dtstart",
            "date-time",
            i === 0
              ? "1970-01-01T00:00:00"
              : Civil.formatJCalDateTime({
                  year: group.first.year,
                  month: 1,
                  day: 1,
                  hour: 0,
                  minute: 0,
                  second: 0
                })
          ),
          prop("tzoffsetfrom", "utc-offset", i === 0 ? formatOffset(group.first.offset) : from),
          prop("tzoffsetto", "utc-offset", formatOffset(group.first.offset))
        ],
        components: []
      })
      previousOffset = group.first.offset
      return
    }
    const maxOffset = Math.max(...transitions.map((t) => t.to))
    transitions.forEach((t, j) => {
      const isDaylight = t.to === maxOffset && transitions.some((o) => o.to < t.to)
      const lastOnset = group.last.transitions[j]
      const rule: Record<string, unknown> = { freq: "YEARLY", bymonth: t.local.month, byday: t.byday }
      if (!open && lastOnset !== undefined)
        rule.until = `${Civil.formatJCalDateTime(Civil.fromWallMs(lastOnset.at))}Z`
      observances.push({
        name: isDaylight ? "daylight" : "standard",
        properties: [
          prop("dtstart", "date-time", Civil.formatJCalDateTime(t.local)),
          prop("tzoffsetfrom", "utc-offset", formatOffset(t.from)),
          prop("tzoffsetto", "utc-offset", formatOffset(t.to)),
          prop("rrule", "recur", rule)
        ],
        components: []
      })
    })
    previousOffset = group.last.transitions[group.last.transitions.length - 1]?.to ?? previousOffset
  })
  return { name: "vtimezone", properties: [prop("tzid", "text", tzid)], components: observances }
}

// ---------------------------------------------------------------------------------------------
// Windows zone names (Outlook, Exchange, Graph) ⇄ IANA, through CLDR's windowsZones as the
// windows-iana package keeps it (pinned; a hand-copied table went stale with every CLDR release).

/**
 * The IANA name for a Windows zone name: CLDR's "001" territory zone, the one CLDR lists first
 * (e.g. "W. Europe Standard Time" is Europe/Berlin). Names are matched exactly, as CLDR spells them.
 */
export const windowsToIana = (name: string): string | undefined => findIana(name.trim())[0]

/** The Windows zone an IANA zone (or one of its aliases) belongs to, if CLDR maps it to one. */
export const ianaToWindows = (tzid: string): string | undefined => findWindows(tzid.trim())[0]
