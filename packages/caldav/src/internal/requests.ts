/** Request bodies. Prefixes are ours to choose; servers must resolve them by namespace. */
import type { PropName } from "./props.js"
import { APPLE_ICAL, CALDAV, CALSERVER, DAV, escapeText } from "./xml.js"

export type { PropName } from "./props.js"

const prefixes: ReadonlyArray<readonly [string, string]> = [
  ["d", DAV],
  ["c", CALDAV],
  ["cs", CALSERVER],
  ["a", APPLE_ICAL]
]

const allDeclarations = prefixes.map(([p, ns]) => `xmlns:${p}="${ns}"`).join(" ")

/** Only the namespaces a body uses: the ctag poll runs every few minutes per calendar, bytes add up. */
const declarationsFor = (props: ReadonlyArray<PropName>): string =>
  prefixes
    .filter(([p, ns]) => p === "d" || props.some(([n]) => n === ns))
    .map(([p, ns]) => `xmlns:${p}="${ns}"`)
    .join(" ")

const qname = ([ns, name]: PropName): string => {
  const p = prefixes.find(([, uri]) => uri === ns)
  return p === undefined ? `x:${name} xmlns:x="${escapeText(ns)}"` : `${p[0]}:${name}`
}

const propList = (props: ReadonlyArray<PropName>): string =>
  `<d:prop>${props.map((p) => `<${qname(p)}/>`).join("")}</d:prop>`

const head = '<?xml version="1.0" encoding="utf-8"?>'

export const propfind = (props: ReadonlyArray<PropName>): string =>
  `${head}<d:propfind ${declarationsFor(props)}>${propList(props)}</d:propfind>`

export const syncCollection = (token: string, props: ReadonlyArray<PropName>): string =>
  `${head}<d:sync-collection ${declarationsFor(props)}><d:sync-token>${escapeText(token)}</d:sync-token>` +
  `<d:sync-level>1</d:sync-level>${propList(props)}</d:sync-collection>`

export const calendarMultiget = (paths: ReadonlyArray<string>, props: ReadonlyArray<PropName>): string =>
  `${head}<c:calendar-multiget ${allDeclarations}>${propList(props)}` +
  `${paths.map((p) => `<d:href>${escapeText(p)}</d:href>`).join("")}</c:calendar-multiget>`

/** UTC date-time in the iCalendar basic format CalDAV time-range wants: 20260101T000000Z */
export const icalUtc = (d: Date): string =>
  d
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "")

export const calendarQuery = (
  range: { readonly start: Date; readonly end: Date },
  props: ReadonlyArray<PropName>
) =>
  `${head}<c:calendar-query ${allDeclarations}>${propList(props)}<c:filter><c:comp-filter name="VCALENDAR">` +
  `<c:comp-filter name="VEVENT"><c:time-range start="${icalUtc(range.start)}" end="${icalUtc(range.end)}"/>` +
  `</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>`

export const mkcalendar = (props: {
  readonly displayName?: string | undefined
  readonly components?: ReadonlyArray<string> | undefined
}): string | undefined => {
  const parts: Array<string> = []
  if (props.displayName !== undefined)
    parts.push(`<d:displayname>${escapeText(props.displayName)}</d:displayname>`)
  if (props.components !== undefined) {
    parts.push(
      `<c:supported-calendar-component-set>${props.components
        .map((c) => `<c:comp name="${escapeText(c)}"/>`)
        .join("")}</c:supported-calendar-component-set>`
    )
  }
  if (parts.length === 0) return undefined
  return `${head}<c:mkcalendar ${allDeclarations}><d:set><d:prop>${parts.join("")}</d:prop></d:set></c:mkcalendar>`
}
