import * as Option from "effect/Option"
import type { CalendarInfo } from "../Discovery.js"
import * as Multistatus from "./multistatus.js"
import { type PropName, prop as propName } from "./props.js"
import * as Xml from "./xml.js"

export const calendarProps: ReadonlyArray<PropName> = [
  propName.resourcetype,
  propName.displayname,
  propName.calendarColor,
  propName.getctag,
  propName.syncToken,
  propName.supportedCalendarComponentSet,
  propName.supportedReportSet,
  propName.currentUserPrivilegeSet
]

const allComponents = ["VEVENT", "VTODO", "VJOURNAL"]

const implied: Readonly<Record<string, ReadonlyArray<string>>> = {
  all: ["read", "write", "write-content", "write-properties", "bind", "unbind", "read-free-busy"],
  write: ["write-content", "write-properties", "bind", "unbind"],
  read: ["read-free-busy"]
}

export const resourceTypes = (r: Multistatus.PropResponse): ReadonlyArray<string> =>
  (Multistatus.prop(r, Xml.DAV, "resourcetype")?.children ?? []).map((c) => Multistatus.key(c.ns, c.name))

export const isCalendar = (r: Multistatus.PropResponse): boolean =>
  resourceTypes(r).includes(Multistatus.key(Xml.CALDAV, "calendar"))

export const isCollection = (r: Multistatus.PropResponse): boolean =>
  resourceTypes(r).includes(Multistatus.key(Xml.DAV, "collection"))

const privileges = (r: Multistatus.PropResponse): ReadonlyArray<string> => {
  const set = Multistatus.prop(r, Xml.DAV, "current-user-privilege-set")
  if (set === undefined) return []
  const out = new Set<string>()
  for (const p of Xml.children(set, Xml.DAV, "privilege")) {
    for (const c of p.children) {
      out.add(c.name)
      for (const i of implied[c.name] ?? []) out.add(i)
    }
  }
  return [...out]
}

/** RFC 3253 wraps each report in `<report>`; Xandikos puts the report element directly under `<supported-report>`. */
const reports = (r: Multistatus.PropResponse): ReadonlyArray<string> => {
  const set = Multistatus.prop(r, Xml.DAV, "supported-report-set")
  if (set === undefined) return []
  const out = new Set<string>()
  for (const sr of Xml.children(set, Xml.DAV, "supported-report")) {
    const wrapper = Xml.child(sr, Xml.DAV, "report")
    for (const c of (wrapper ?? sr).children) out.add(c.name)
  }
  return [...out]
}

const components = (r: Multistatus.PropResponse): ReadonlyArray<string> => {
  const set = Multistatus.prop(r, Xml.CALDAV, "supported-calendar-component-set")
  if (set === undefined) return allComponents
  return Xml.children(set, Xml.CALDAV, "comp").flatMap((c) => {
    const name = c.attributes.name
    return name === undefined ? [] : [name.toUpperCase()]
  })
}

export const toCalendarInfo = (r: Multistatus.PropResponse): CalendarInfo => ({
  url: r.href,
  displayName: Multistatus.propText(r, Xml.DAV, "displayname"),
  color: Multistatus.propText(r, Xml.APPLE_ICAL, "calendar-color"),
  ctag: Multistatus.propText(r, Xml.CALSERVER, "getctag"),
  syncToken: Multistatus.propText(r, Xml.DAV, "sync-token"),
  components: components(r),
  supportedReports: reports(r),
  privileges: privileges(r)
})

/** The calendars of a home listing that accept events; the home's own row is not one of them. */
export const eventCalendars = (
  ms: Multistatus.Multistatus,
  ...homes: ReadonlyArray<string>
): ReadonlyArray<CalendarInfo> => {
  // the home as asked for and, after a redirect, as answered
  const selves = new Set(homes.map(Multistatus.sameResourceKey))
  return ms.responses
    .filter((r) => !selves.has(Multistatus.sameResourceKey(r.href)) && isCalendar(r))
    .filter((r) => Option.getOrElse(r.status, () => 200) < 300)
    .map(toCalendarInfo)
    .filter((c) => c.components.includes("VEVENT"))
}

/** First href inside a property such as current-user-principal or calendar-home-set, made absolute. */
export const hrefIn = (
  r: Multistatus.PropResponse,
  ns: string,
  name: string,
  base: string
): Option.Option<string> =>
  Option.flatMap(Multistatus.text(Xml.find(Multistatus.prop(r, ns, name) ?? emptyEl, Xml.DAV, "href")), (h) =>
    Multistatus.resolveHref(h, base)
  )

const emptyEl: Xml.XmlElement = { ns: "", name: "", attributes: {}, children: [], text: "" }
