/**
 * What discovery finds: the principal, its calendar home, and the calendars in it that can hold
 * events. Inbox, outbox, notification collections and VTODO-only lists (iCloud Reminders) are
 * left out.
 */
import * as Schema from "effect/Schema"

/** Absent values travel as `null` in JSON (for the CLI's --json) and are `Option` in code. */
const OptionalText = Schema.OptionFromNullOr(Schema.String)

export const CalendarInfo = Schema.Struct({
  /** Absolute URL of the calendar collection. */
  url: Schema.String,
  displayName: OptionalText,
  /** As the server gives it, typically "#RRGGBB" or "#RRGGBBAA". */
  color: OptionalText,
  ctag: OptionalText,
  syncToken: OptionalText,
  /**
   * Component types the calendar accepts. A server that does not list them accepts every type
   * (RFC 4791 §5.2.3); we then report VEVENT, VTODO and VJOURNAL.
   */
  components: Schema.Array(Schema.String),
  /** Local names of the REPORTs the collection supports, e.g. "sync-collection", "calendar-multiget". */
  supportedReports: Schema.Array(Schema.String),
  /**
   * Local names of the current user's privileges, with aggregates expanded ("all" implies "read"
   * and "write", "write" implies "write-content", "bind", "unbind"). Empty when the server did
   * not say.
   */
  privileges: Schema.Array(Schema.String)
})
export interface CalendarInfo extends Schema.Schema.Type<typeof CalendarInfo> {}

export const DiscoveryResult = Schema.Struct({
  /** The current-user-principal URL; the URL discovery settled on when the server names none. */
  principal: Schema.String,
  /** The calendar home; for a URL that is already a calendar, the home its principal names, or its parent. */
  home: Schema.String,
  /** Calendars that accept VEVENT. */
  calendars: Schema.Array(CalendarInfo)
})
export interface DiscoveryResult extends Schema.Schema.Type<typeof DiscoveryResult> {}

export const supportsEvents = (calendar: CalendarInfo): boolean => calendar.components.includes("VEVENT")

export const supportsSyncCollection = (calendar: CalendarInfo): boolean =>
  calendar.supportedReports.includes("sync-collection")

/** True when the privileges say we may write; unknown privileges (an empty list) count as writable. */
export const isWritable = (calendar: CalendarInfo): boolean =>
  calendar.privileges.length === 0 || calendar.privileges.includes("write-content")
