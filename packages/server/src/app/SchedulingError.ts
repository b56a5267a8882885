/**
 * What can go wrong when the server acts for a user on their calendars (free/busy, bookings),
 * one class per answer the API gives. The services below the HTTP layer fail with these; the
 * handlers turn each into its status (see http/handlers/SchedulingErrors.ts), so no service knows
 * about HTTP and no handler needs to know why a calendar server failed.
 */
import { Schema } from "effect"

/** The request fields a problem can name (`Idempotency-Key` is a header, the others are JSON members or query parameters). */
export const Field = Schema.Literal(
  "Idempotency-Key",
  "calendarId",
  "calendarIds",
  "start",
  "end",
  "summary",
  "description",
  "location",
  "attendees",
  "timeZone",
  "zone"
)
export type Field = typeof Field.Type

/** A problem of one kind: the field it names, why, and what else the words need. */
const problem = <R extends string, F extends Schema.Struct.Fields = {}>(reason: R, fields?: F) =>
  Schema.Struct({ reason: Schema.Literal(reason), field: Field, ...(fields ?? ({} as F)) })

/** One thing wrong with a request: the field, why (`reason`), and what was given or allowed. */
export const RequestProblem = Schema.Union(
  /** The field is required and was not sent (or sent empty). */
  problem("Required"),
  /** An Idempotency-Key longer than `maxLength`, or with characters other than visible ASCII. */
  problem("BadKey", { maxLength: Schema.Number }),
  /** `given` is not an ISO 8601 date-time with Z or an offset. */
  problem("NotAnInstant", { given: Schema.String }),
  /** `given` has the form of a date-time but names no real one (February 30, 25:00). */
  problem("NotARealTime", { given: Schema.String }),
  /** The UTC offset `given` (e.g. +19:00) is out of range. */
  problem("NotAnOffset", { given: Schema.String }),
  /** The end (`field`) is not after the start. */
  problem("EndNotAfterStart"),
  /** The range is longer than `maxDays`. */
  problem("RangeTooLong", { maxDays: Schema.Number }),
  /** A text that must not be blank is blank. */
  problem("Blank"),
  /** A change to a text was sent blank: leaving it out keeps the text, a blank one is not a change. */
  problem("BlankChange"),
  /** A text longer than `max` characters. */
  problem("TooLong", { max: Schema.Number }),
  /** A list longer than `max` entries. */
  problem("TooMany", { max: Schema.Number }),
  /** `given` is not an e-mail address. */
  problem("NotAnEmail", { given: Schema.String }),
  /** `given` is not an IANA time zone the server knows. */
  problem("UnknownZone", { given: Schema.String }),
  /** A list of choices was sent empty: leave it out for all, or choose at least one. */
  problem("NoneChosen"),
  /** The calendar `calendarId` is read-only for its account: nothing can be written there. */
  problem("ReadOnlyCalendar", { calendarId: Schema.String })
)
export type RequestProblem = typeof RequestProblem.Type

const problemLog = (p: RequestProblem): string => {
  switch (p.reason) {
    case "Required":
    case "EndNotAfterStart":
    case "Blank":
    case "BlankChange":
    case "NoneChosen":
      return `${p.field} ${p.reason}`
    case "BadKey":
      return `${p.field} ${p.reason} (max ${p.maxLength})`
    case "RangeTooLong":
      return `${p.field} ${p.reason} (max ${p.maxDays} days)`
    case "TooLong":
    case "TooMany":
      return `${p.field} ${p.reason} (max ${p.max})`
    case "NotAnInstant":
    case "NotARealTime":
    case "NotAnOffset":
    case "NotAnEmail":
    case "UnknownZone":
      return `${p.field} ${p.reason} ${JSON.stringify(p.given)}`
    case "ReadOnlyCalendar":
      return `${p.field} ${p.reason} ${p.calendarId}`
  }
}

/** The request cannot be acted on as sent; each problem names the field and why. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  problems: Schema.Array(RequestProblem)
}) {
  override get message() {
    return `invalid request: ${this.problems.map(problemLog).join(", ")}`
  }
}

/** No such thing for this user: missing and someone else's are the same answer on purpose. */
export class Missing extends Schema.TaggedError<Missing>()("Missing", {
  what: Schema.String
}) {
  override get message() {
    return `${this.what} not found`
  }
}

/** Why a request clashes with the state of a booking or of its event on the calendar. */
export const ConflictReason = Schema.Literal(
  /** The booking's calendar is no longer connected, so its event cannot be changed. */
  "CalendarDisconnected",
  /** The event was removed from the calendar while the booking was being written; a retry writes it again. */
  "RemovedWhileWriting",
  /** The Idempotency-Key was used before for a different request (which made `bookingId`). */
  "KeyReused",
  /** The booking is still pending: its event is not on the calendar yet; the create must be retried first. */
  "StillPending",
  /** The booking is cancelled and cannot be rescheduled. */
  "Cancelled",
  /** The booking is cancelled already. */
  "AlreadyCancelled",
  /** The event was changed on the calendar into something that cannot be read (`detail` says why). */
  "EventUnreadable",
  /** The event was changed on the calendar into one without a main event (only overrides). */
  "NoMainEvent",
  /** The event was deleted from the calendar outside Almanac. */
  "EventDeleted",
  /** The event kept changing on the calendar while the request ran (two stale writes). */
  "EventKeptChanging"
)
export type ConflictReason = typeof ConflictReason.Type

/** The request clashes with the state of booking `bookingId` or of its event on calendar `calendarId`. */
export class StateConflict extends Schema.TaggedError<StateConflict>()("StateConflict", {
  reason: ConflictReason,
  bookingId: Schema.String,
  calendarId: Schema.String,
  /** The calendar's or the codec's own detail, where there is one (EventUnreadable). */
  detail: Schema.optional(Schema.String)
}) {
  override get message() {
    return `booking ${this.bookingId} (calendar ${this.calendarId}): ${this.reason}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

/**
 * The account's calendar server refuses its password (or there is none): a person must
 * re-authenticate the account. The account is marked so before this is raised.
 */
export class NeedsReauth extends Schema.TaggedError<NeedsReauth>()("NeedsReauth", {
  accountId: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `account ${this.accountId} needs re-authentication: ${this.detail}`
  }
}

/** The stored password does not open with the configured master key: an operator's problem, not the user's. */
export class SecretUnreadable extends Schema.TaggedError<SecretUnreadable>()("SecretUnreadable", {
  accountId: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `the stored password of account ${this.accountId} cannot be opened: ${this.detail}`
  }
}

/** A calendar server failed or could not be reached for one calendar; trying again later may work. */
export class CalendarFailed extends Schema.TaggedError<CalendarFailed>()("CalendarFailed", {
  calendarId: Schema.String,
  calendarName: Schema.String,
  detail: Schema.String,
  /** A booking left pending by this failure: the same request again completes it. */
  pendingBookingId: Schema.optional(Schema.String)
}) {
  override get message() {
    const pending =
      this.pendingBookingId === undefined ? "" : `; booking ${this.pendingBookingId} is recorded as pending`
    return `calendar "${this.calendarName}" (${this.calendarId}): ${this.detail}${pending}`
  }
}

/** The account is of a kind this request cannot use yet (free/busy and bookings on Google). */
export class Unsupported extends Schema.TaggedError<Unsupported>()("Unsupported", {
  accountId: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `account ${this.accountId}: ${this.detail}`
  }
}

/** Errors of talking to an account's calendar server. */
export type UpstreamError = NeedsReauth | SecretUnreadable | CalendarFailed | Unsupported
