/**
 * Resolving a TZID to a zone within one resource: the resource's own VTIMEZONE first, the
 * platform's IANA database second. Evaluated VTIMEZONEs are cached by their text, not by their
 * TZID, so two documents defining the same TZID differently never see each other's zone.
 */
import type { TimeZoneDefinition } from "../EventModel.js"
import * as Ical from "./Ical.js"
import * as Zone from "./Zone.js"

const CACHE_LIMIT = 512
const byText = new Map<string, Zone.Zone | null>()

export const fromDefinitionText = (text: string): Zone.Zone | undefined => {
  const cached = byText.get(text)
  if (cached !== undefined) return cached ?? undefined
  const parsed = Ical.parse(text)
  const component = parsed._tag === "Ok" ? findVTimezone(parsed.components) : undefined
  const zone = component === undefined ? undefined : Zone.fromVTimezone(component)
  if (byText.size >= CACHE_LIMIT) {
    const oldest = byText.keys().next()
    if (oldest.done !== true) byText.delete(oldest.value)
  }
  byText.set(text, zone ?? null)
  return zone
}

const findVTimezone = (components: ReadonlyArray<Ical.JCalComponent>): Ical.JCalComponent | undefined => {
  for (const c of components) {
    if (c.name === "vtimezone") return c
    const inner = findVTimezone(c.components)
    if (inner !== undefined) return inner
  }
  return undefined
}

export type Resolver = (tzid: string) => Zone.Zone | undefined

export const resolver = (timezones: ReadonlyArray<TimeZoneDefinition>): Resolver => {
  const local = new Map<string, Zone.Zone | undefined>()
  return (tzid) => {
    if (local.has(tzid)) return local.get(tzid)
    const def = timezones.find((t) => t.tzid === tzid)
    const zone =
      (def === undefined ? undefined : fromDefinitionText(def.text)) ??
      Zone.intlZone(tzid) ??
      Zone.intlZone(Zone.windowsToIana(tzid) ?? "")
    local.set(tzid, zone)
    return zone
  }
}
