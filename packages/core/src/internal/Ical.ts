/**
 * The one place that touches ical.js. Its typings degrade to `any` under NodeNext, so every
 * value that crosses this boundary is checked here and given an explicit type. Only the pure
 * layers are used (text <-> jCal, recurrence rules); ical.js's process-wide TimezoneService is
 * never consulted, so time zones cannot leak between documents.
 */
import ICAL from "ical.js"
import type { Fields } from "./Civil.js"

export type JCalParams = Readonly<Record<string, string | ReadonlyArray<string>>>

export interface JCalProperty {
  readonly name: string
  readonly params: JCalParams
  readonly type: string
  readonly values: ReadonlyArray<unknown>
}

export interface JCalComponent {
  readonly name: string
  readonly properties: ReadonlyArray<JCalProperty>
  readonly components: ReadonlyArray<JCalComponent>
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const toParams = (u: unknown): JCalParams => {
  const out: Record<string, string | ReadonlyArray<string>> = {}
  if (!isRecord(u)) return out
  for (const [k, v] of Object.entries(u)) {
    if (typeof v === "string") out[k] = v
    else if (Array.isArray(v)) out[k] = v.map(String)
    else if (v !== undefined && v !== null) out[k] = String(v)
  }
  return out
}

const toProperty = (u: unknown): JCalProperty | undefined => {
  if (!Array.isArray(u) || u.length < 3) return undefined
  const [name, params, type, ...values] = u as ReadonlyArray<unknown>
  if (typeof name !== "string" || typeof type !== "string") return undefined
  return { name, params: toParams(params), type, values }
}

const toComponent = (u: unknown): JCalComponent | undefined => {
  if (!Array.isArray(u) || u.length < 3) return undefined
  const [name, props, comps] = u as ReadonlyArray<unknown>
  if (typeof name !== "string" || !Array.isArray(props) || !Array.isArray(comps)) return undefined
  const properties: Array<JCalProperty> = []
  for (const p of props as ReadonlyArray<unknown>) {
    const prop = toProperty(p)
    if (prop !== undefined) properties.push(prop)
  }
  const components: Array<JCalComponent> = []
  for (const c of comps as ReadonlyArray<unknown>) {
    const comp = toComponent(c)
    if (comp !== undefined) components.push(comp)
  }
  return { name, properties, components }
}

export type ParseResult =
  | { readonly _tag: "Ok"; readonly components: ReadonlyArray<JCalComponent> }
  | { readonly _tag: "Error"; readonly message: string }

/** Text to typed jCal. Never throws. */
export const parse = (text: string): ParseResult => {
  let raw: unknown
  try {
    raw = ICAL.parse(text) as unknown
  } catch (e) {
    return { _tag: "Error", message: e instanceof Error ? e.message : String(e) }
  }
  // ical.js returns one component, or an array of them when the text holds several.
  const list: ReadonlyArray<unknown> =
    Array.isArray(raw) && typeof raw[0] === "string" ? [raw] : Array.isArray(raw) ? raw : []
  const components: Array<JCalComponent> = []
  for (const c of list) {
    const comp = toComponent(c)
    if (comp !== undefined) components.push(comp)
  }
  return { _tag: "Ok", components }
}

const fromProperty = (p: JCalProperty): ReadonlyArray<unknown> => [p.name, p.params, p.type, ...p.values]

const fromComponent = (c: JCalComponent): ReadonlyArray<unknown> => [
  c.name,
  c.properties.map(fromProperty),
  c.components.map(fromComponent)
]

const FOLD_OCTETS = 75

/**
 * Folds one line so that no physical line exceeds 75 octets, the leading space of a
 * continuation included (ical.js's own folding lets continuations reach 76), and never inside
 * a code point.
 */
const fold = (line: string): string => {
  let out = ""
  let current = ""
  let octets = 0
  for (const ch of line) {
    const cp = ch.codePointAt(0) ?? 0
    const size = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
    if (octets + size > FOLD_OCTETS) {
      out += `${current}\r\n`
      current = " "
      octets = 1
    }
    current += ch
    octets += size
  }
  return out + current
}

/** Typed jCal to text: CRLF line ends, folded at 75 octets. */
export const stringify = (component: JCalComponent): string => {
  const raw: unknown = ICAL.stringify(fromComponent(component) as never)
  const text = typeof raw === "string" ? raw : String(raw)
  // ical.js escapes line breaks inside values, so every CRLF + space in its output is a fold.
  const lines = text.replace(/\r\n /g, "").split("\r\n")
  return `${lines
    .filter((l) => l !== "")
    .map(fold)
    .join("\r\n")}\r\n`
}

/** Canonical RFC 5545 text of a recurrence rule from its jCal value (or its text). */
export const recurToString = (value: unknown): string | undefined => {
  try {
    if (typeof value === "string") return String(ICAL.Recur.fromString(value).toString())
    if (isRecord(value)) return String(ICAL.Recur.fromData(value as never).toString())
  } catch {
    return undefined
  }
  return undefined
}

/** jCal value of a recurrence rule, or undefined if ical.js cannot read it. */
export const recurToJCal = (rule: string): unknown => {
  try {
    return ICAL.Recur.fromString(rule).toJSON() as unknown
  } catch {
    return undefined
  }
}

/**
 * Iterates the wall-clock occurrences of a rule from a start, in the rule's own wall time
 * (floating). The caller maps wall times to instants in the event's zone, which keeps
 * occurrences at the same local time across DST changes.
 */
export const iterateRule = (rule: string, start: Fields, isDate: boolean): (() => Fields | undefined) => {
  const recur = ICAL.Recur.fromString(rule)
  const dtstart = ICAL.Time.fromData({
    year: start.year,
    month: start.month,
    day: start.day,
    hour: isDate ? 0 : start.hour,
    minute: isDate ? 0 : start.minute,
    second: isDate ? 0 : start.second,
    isDate
  })
  const iterator = recur.iterator(dtstart)
  return () => {
    const next: unknown = iterator.next()
    if (next === null || next === undefined || typeof next !== "object") return undefined
    const t = next as {
      year: number
      month: number
      day: number
      hour: number
      minute: number
      second: number
    }
    return { year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute, second: t.second }
  }
}

export interface DurationParts {
  readonly negative: boolean
  readonly weeks: number
  readonly days: number
  readonly hours: number
  readonly minutes: number
  readonly seconds: number
}

export const parseDuration = (text: string): DurationParts | undefined => {
  const m = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(text.trim())
  if (m === null || text.trim() === "P" || text.trim().endsWith("T")) return undefined
  return {
    negative: m[1] === "-",
    weeks: Number(m[2] ?? 0),
    days: Number(m[3] ?? 0),
    hours: Number(m[4] ?? 0),
    minutes: Number(m[5] ?? 0),
    seconds: Number(m[6] ?? 0)
  }
}
