/**
 * A feed's text cut into one calendar object per UID, before any of it is decoded. The cut is by
 * lines, not by a full parse, so that one broken VEVENT (a line ical.js cannot read, a missing
 * END) spoils only its own item: the codec then reads each item on its own, and a failure there
 * is that item's `Bad`, never the feed's.
 *
 * - An item is every VEVENT of one UID (a series: the master and its RECURRENCE-ID overrides),
 *   with the VTIMEZONEs they name, wrapped in its own VCALENDAR.
 * - Its version is a digest of that text without DTSTAMP lines: many feed generators stamp every
 *   event with the time of the request, which would make every poll look like a change of
 *   everything. The feed's digest is over the sorted (ref, version) pairs, so reordering the
 *   file is no change either.
 * - A VEVENT without UID (RFC 5545 requires one, some generators forget) gets a synthetic UID
 *   from a digest of its content, so it is stable while the event is; an edit to such an event
 *   reads as the old one deleted and a new one created, since nothing else can tie them.
 * - Text that is not iCalendar at all (an HTML sign-in page, an empty body, a file cut before
 *   END:VCALENDAR) is refused as a whole: read as a calendar with no events, it would delete
 *   every copy.
 */
import { createHash } from "node:crypto"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

export interface FeedItem {
  /** The UID (or the synthetic one). */
  readonly ref: string
  readonly version: string
  /** One calendar object: VCALENDAR with this UID's VEVENTs and the VTIMEZONEs they use. */
  readonly text: string
  /** The UID was made up here: the feed's VEVENT had none. */
  readonly synthetic: boolean
  /** Why the item is broken before decoding even starts (a VEVENT without END). */
  readonly problem: Option.Option<string>
}

export interface ParsedFeed {
  /** X-WR-CALNAME, or RFC 7986 NAME. */
  readonly name: Option.Option<string>
  readonly items: ReadonlyArray<FeedItem>
  /** Changes exactly when some item's ref or version does. */
  readonly digest: string
}

const digest = (text: string): string => createHash("sha256").update(text).digest("base64url")

/** Logical lines: unfolded, without their line ends. */
const logicalLines = (text: string): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (const line of text.replace(/^\uFEFF/, "").split(/\r\n|\n|\r/)) {
    if ((line.startsWith(" ") || line.startsWith("\t")) && out.length > 0) {
      out[out.length - 1] += line.slice(1)
    } else out.push(line)
  }
  return out
}

const keyOf = (line: string): string => line.trim().toUpperCase()
const isBegin = (key: string) => key.startsWith("BEGIN:")
const isEnd = (key: string) => key.startsWith("END:")
const propName = (line: string): string => (/^([A-Za-z0-9-]+)[;:]/.exec(line)?.[1] ?? "").toUpperCase()
const propValue = (line: string): string => {
  // The value starts after the first colon outside a quoted parameter value.
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const c = line[i]
    if (c === '"') quoted = !quoted
    else if (c === ":" && !quoted) return line.slice(i + 1)
  }
  return ""
}

interface Component {
  readonly name: string
  readonly lines: ReadonlyArray<string>
  /** The component's own property lines, not those of nested components (a VALARM's UID). */
  readonly own: ReadonlyArray<string>
  readonly problem: Option.Option<string>
}

/** What does not look like iCalendar, in words a person can act on. */
const notICalendar = (text: string): Option.Option<string> => {
  const start = text.replace(/^\uFEFF/, "").trimStart()
  if (start === "") return Option.some("the feed's server sent an empty answer, not a calendar")
  const head = start.slice(0, 512).toLowerCase()
  if (head.startsWith("<") && (head.includes("<html") || head.includes("<!doctype html")))
    return Option.some(
      "the address gives a web page (perhaps a sign-in or sharing page), not a calendar feed; use the calendar's iCalendar address (it often ends in .ics)"
    )
  if (!/^begin:vcalendar\s*(\r\n|\n|\r|$)/.test(head))
    return Option.some(
      `the address does not give iCalendar (the answer does not begin with BEGIN:VCALENDAR but with ${JSON.stringify(start.slice(0, 40))})`
    )
  return Option.none()
}

/**
 * The calendar's components, read from the line after a BEGIN at calendar level. A VEVENT that
 * meets another BEGIN:VEVENT or END:VCALENDAR before its END is cut there and marked broken.
 */
const readComponent = (
  lines: ReadonlyArray<string>,
  from: number,
  name: string
): { readonly component: Component; readonly next: number } => {
  const collected: Array<string> = [lines[from] ?? ""]
  const own: Array<string> = []
  const stack: Array<string> = []
  for (let i = from + 1; i < lines.length; i++) {
    const line = lines[i] ?? ""
    const key = keyOf(line)
    if (key === "") continue
    // A calendar's end, or a second event, ends a component that never said END, at any depth.
    if (key === "END:VCALENDAR" || key === `BEGIN:${name}`)
      return {
        component: {
          name,
          lines: collected,
          own,
          problem: Option.some(`${name} has no END:${name}`)
        },
        next: i
      }
    if (isBegin(key)) stack.push(key.slice(6))
    else if (isEnd(key)) {
      if (stack.length === 0) {
        collected.push(line)
        const problem =
          key === `END:${name}` ? Option.none() : Option.some(`${name} ends with ${line.trim()}`)
        return { component: { name, lines: collected, own, problem }, next: i + 1 }
      }
      stack.pop()
    } else if (stack.length === 0) own.push(line)
    collected.push(line)
  }
  return {
    component: { name, lines: collected, own, problem: Option.some(`${name} has no END:${name}`) },
    next: lines.length
  }
}

const tzidsIn = (lines: ReadonlyArray<string>): ReadonlySet<string> => {
  const out = new Set<string>()
  for (const line of lines) {
    for (const m of line.matchAll(/;TZID=(?:"([^"]*)"|([^;:]*))/gi)) {
      const tzid = (m[1] ?? m[2] ?? "").trim()
      if (tzid !== "") out.add(tzid)
    }
  }
  return out
}

export const syntheticPrefix = "almanac-no-uid-"

export const parse = (text: string): Either.Either<ParsedFeed, string> => {
  const refused = notICalendar(text)
  if (Option.isSome(refused)) return Either.left(refused.value)
  const lines = logicalLines(text)
  const events: Array<Component> = []
  const timezones = new Map<string, ReadonlyArray<string>>()
  let name = Option.none<string>()
  let open = false
  for (let i = 0; i < lines.length; ) {
    const line = lines[i] ?? ""
    const key = keyOf(line)
    if (!open) {
      if (key === "BEGIN:VCALENDAR") open = true
      // anything between calendars (or after the last) is not ours to read
      i++
      continue
    }
    if (key === "END:VCALENDAR") {
      open = false
      i++
      continue
    }
    if (isBegin(key)) {
      const { component, next } = readComponent(lines, i, key.slice(6))
      if (component.name === "VEVENT") events.push(component)
      else if (component.name === "VTIMEZONE" && Option.isNone(component.problem)) {
        const tzid = component.own.find((l) => propName(l) === "TZID")
        if (tzid !== undefined && !timezones.has(propValue(tzid).trim()))
          timezones.set(propValue(tzid).trim(), component.lines)
      }
      i = next
      continue
    }
    const prop = propName(line)
    if (Option.isNone(name) && (prop === "X-WR-CALNAME" || prop === "NAME")) {
      const value = propValue(line).trim()
      if (value !== "") name = Option.some(value.replace(/\\([,;\\])/g, "$1").replace(/\\n/gi, " "))
    }
    i++
  }
  if (open)
    return Either.left(
      "the feed ends before END:VCALENDAR: it was cut off, so it was not taken as the whole calendar"
    )

  // Every VEVENT of one UID, in the order the feed has them.
  const groups = new Map<string, { lines: Array<string>; synthetic: boolean; problems: Array<string> }>()
  for (const event of events) {
    const uidLine = event.own.find((l) => propName(l) === "UID")
    const uid = uidLine === undefined ? "" : propValue(uidLine).trim()
    let body = event.lines
    let ref = uid
    const synthetic = uid === ""
    if (synthetic) {
      const content = event.lines.filter((l) => propName(l) !== "DTSTAMP" && propName(l) !== "UID")
      ref = `${syntheticPrefix}${digest(content.join("\n")).slice(0, 32)}`
      const rest = event.lines.filter((l) => propName(l) !== "UID")
      body = [rest[0] ?? "BEGIN:VEVENT", `UID:${ref}`, ...rest.slice(1)]
    }
    const group = groups.get(ref) ?? { lines: [], synthetic, problems: [] }
    group.lines.push(...body)
    if (Option.isSome(event.problem)) group.problems.push(event.problem.value)
    groups.set(ref, group)
  }

  const items: Array<FeedItem> = []
  for (const [ref, group] of groups) {
    const zones: Array<string> = []
    for (const tzid of tzidsIn(group.lines)) {
      const block = timezones.get(tzid)
      if (block !== undefined) zones.push(...block)
    }
    const text = `${[
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Almanac//ICS feed item//EN",
      ...zones,
      ...group.lines,
      "END:VCALENDAR"
    ].join("\r\n")}\r\n`
    const stable = [...zones, "", ...group.lines.filter((l) => propName(l) !== "DTSTAMP")].join("\n")
    items.push({
      ref,
      version: digest(stable).slice(0, 32),
      text,
      synthetic: group.synthetic,
      problem: group.problems.length === 0 ? Option.none() : Option.some(group.problems.join("; "))
    })
  }
  const pairs = items.map((i) => `${i.ref}\t${i.version}`).sort()
  return Either.right({ name, items, digest: digest(pairs.join("\n")) })
}
