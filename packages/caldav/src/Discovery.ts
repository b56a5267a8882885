/**
 * What discovery finds: the principal, its calendar home, and the calendars in it that can hold
 * events. Inbox, outbox, notification collections and VTODO-only lists (iCloud Reminders) are
 * left out.
 */
import type * as Option from "effect/Option"

export interface CalendarInfo {
  /** Absolute URL of the calendar collection. */
  readonly url: string
  readonly displayName: Option.Option<string>
  /** As the server gives it, typically "#RRGGBB" or "#RRGGBBAA". */
  readonly color: Option.Option<string>
  readonly ctag: Option.Option<string>
  readonly syncToken: Option.Option<string>
  /**
   * Component types the calendar accepts. A server that does not list them accepts every type
   * (RFC 4791 §5.2.3); we then report VEVENT, VTODO and VJOURNAL.
   */
  readonly components: ReadonlyArray<string>
  /** Local names of the REPORTs the collection supports, e.g. "sync-collection", "calendar-multiget". */
  readonly supportedReports: ReadonlyArray<string>
  /**
   * Local names of the current user's privileges, with aggregates expanded ("all" implies "read"
   * and "write", "write" implies "write-content", "bind", "unbind"). Empty when the server did
   * not say.
   */
  readonly privileges: ReadonlyArray<string>
}

export interface DiscoveryResult {
  /** The current-user-principal URL; the URL discovery settled on when the server names none. */
  readonly principal: string
  /** The calendar home; for a URL that is already a calendar, the home its principal names, or its parent. */
  readonly home: string
  /** Calendars that accept VEVENT. */
  readonly calendars: ReadonlyArray<CalendarInfo>
}

export const supportsEvents = (calendar: CalendarInfo): boolean => calendar.components.includes("VEVENT")

export const supportsSyncCollection = (calendar: CalendarInfo): boolean =>
  calendar.supportedReports.includes("sync-collection")

/** True when the privileges say we may write; unknown privileges (an empty list) count as writable. */
export const isWritable = (calendar: CalendarInfo): boolean =>
  calendar.privileges.length === 0 || calendar.privileges.includes("write-content")
