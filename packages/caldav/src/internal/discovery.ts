/**
 * What discovery asks and where. Each step asks only for what it needs, with smaller property
 * sets to retry with: some servers fail a whole PROPFIND (500) for one property they cannot
 * answer at that resource (`sync-token` at the root), while the same request without it works.
 */
import type { CalDavError } from "../CalDavError.js"
import { calendarProps } from "./calendars.js"
import { type PropName, prop } from "./props.js"

/** The first step: who am I, where is my home, what is this resource. */
export const entrySets: ReadonlyArray<ReadonlyArray<PropName>> = [
  [prop.currentUserPrincipal, prop.calendarHomeSet, prop.resourcetype],
  [prop.currentUserPrincipal]
]

/** Describing calendars (a home's listing, or a calendar URL itself): all we show, then less. */
export const calendarSets: ReadonlyArray<ReadonlyArray<PropName>> = [
  calendarProps,
  [prop.resourcetype, prop.displayname, prop.calendarColor, prop.getctag, prop.supportedCalendarComponentSet],
  [prop.resourcetype, prop.displayname]
]

/**
 * Where common servers keep their DAV tree when neither `/.well-known/caldav` nor the bare origin
 * answers (Nextcloud and ownCloud, Baïkal and other SabreDAV servers, SOGo, DAViCal, others).
 */
export const conventionalPaths: ReadonlyArray<string> = [
  "/remote.php/dav/",
  "/dav.php/",
  "/SOGo/dav/",
  "/dav/",
  "/caldav.php/",
  "/caldav/",
  "/principals/"
]

/**
 * A failure that asking for fewer properties may cure: the server choked on the request (500,
 * 400). Not an HTML page or a 404: those say the resource is not a DAV one, whatever is asked.
 */
export const fewerMayHelp = (e: CalDavError): boolean =>
  (e._tag === "Transient" && e.status._tag === "Some" && e.status.value >= 500) ||
  (e._tag === "Rejected" && (e.status === 400 || e.status === 422))

/**
 * A candidate that did not answer as CalDAV, so the next one is worth asking. Wrong credentials,
 * rate limits and an unreachable server end discovery at once: another path would not change them.
 */
export const tryNext = (e: CalDavError): boolean =>
  e._tag === "NotFound" ||
  e._tag === "Rejected" ||
  e._tag === "ProtocolError" ||
  (e._tag === "Transient" && e.status._tag === "Some")

/** How a candidate failed, for the "what was tried" list. */
export const outcome = (e: CalDavError): string => {
  switch (e._tag) {
    case "NotFound":
      return `not found (${e.status})`
    case "Rejected":
      return `refused (${e.status})`
    case "Transient":
      return e.status._tag === "Some" ? `server error (${e.status.value})` : e.reason
    case "ProtocolError":
      return e.reason
    case "Unauthorized":
      return "asked for credentials (none sent there)"
    default:
      return e._tag
  }
}

/** True for an answer that is a web page rather than a DAV answer (a login page, a 200 at the root). */
export const isHtml = (contentType: string | undefined, body: string): boolean =>
  (contentType ?? "").toLowerCase().includes("text/html") || /^\s*<(!doctype\s+html|html[\s>])/i.test(body)
