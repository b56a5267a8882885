/**
 * @almanac/caldav: a CalDAV/WebDAV client that speaks hrefs, etags and iCalendar text.
 */
export * as CalDavClient from "./CalDavClient.js"
export * as CalDavError from "./CalDavError.js"
export * as Discovery from "./Discovery.js"
