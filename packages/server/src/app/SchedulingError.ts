/**
 * What can go wrong when the server acts for a user on their calendars (free/busy, bookings),
 * one class per answer the API gives. The services below the HTTP layer fail with these; the
 * handlers turn each into its status (see http/handlers/SchedulingErrors.ts), so no service knows
 * about HTTP and no handler needs to know why a calendar server failed.
 */
import { Schema } from "effect"

/** The request cannot be acted on as sent; each problem names the field and what to send instead. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return this.problems.join("; ")
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

/** The request clashes with the state of a booking or of the event on the calendar. */
export class StateConflict extends Schema.TaggedError<StateConflict>()("StateConflict", {
  detail: Schema.String
}) {
  override get message() {
    return this.detail
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
  detail: Schema.String
}) {
  override get message() {
    return `calendar "${this.calendarName}" (${this.calendarId}): ${this.detail}`
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
