/**
 * The API's words for the app services' errors: one function per error family, from the error's
 * data to the sentence the API answers with. These are the only place that names JSON fields and
 * endpoints to an API client; the classes carry data, the pages write their own words
 * (pages/Problems.ts), and the CLI its own.
 */
import type * as AccountService from "../app/AccountService.js"
import { isOAuthKind, services } from "../app/OAuthService.js"
import type * as RelationshipService from "../app/RelationshipService.js"
import type * as SchedulingError from "../app/SchedulingError.js"
import type * as StatusService from "../app/StatusService.js"

// --- relationships -----------------------------------------------------------------------------

export const relationshipProblem = (p: RelationshipService.RelationshipProblem): string => {
  switch (p.reason) {
    case "SameCalendar":
      return "targetCalendarId: the same calendar as sourceCalendarId; a calendar cannot sync into itself, choose another target"
    case "ReadOnlyTarget":
      return `targetCalendarId: "${p.calendarName}" is read-only for its account, so no copy can be written there; choose a calendar you can edit`
    case "ReadOnlySource":
      return `direction: "${p.calendarName}" is read-only for its account, so a two-way sync cannot write back to it; sync one way from it`
    case "AlreadyMirrored":
      return `these two calendars are already mirrored both ways (${p.relationshipId}); change it with PATCH /api/relationships/${p.relationshipId} instead`
    case "AlreadyExists":
      return `a relationship from this source to this target already exists (${p.relationshipId}); change it with PATCH /api/relationships/${p.relationshipId} instead`
    case "ReverseExists":
      return `a one-way relationship from the target to the source already exists (${p.relationshipId}); remove it first, then create the two-way one`
    case "WouldLoop":
      return `a one-way relationship from the target back to the source already exists (${p.relationshipId}): two one-way relationships in opposite directions make a loop; remove it and create one relationship with direction "two-way"`
    case "NothingToChange":
      return "nothing to change: send at least one of markPrivate, transp, attendees, window, paused"
    case "DirectionFixed":
      return `direction: this relationship is ${p.current} and its direction cannot be changed; remove it (DELETE with clean=true takes its copies away) and create a ${p.wanted} one`
  }
}

const inParens = (detail: string | undefined): string => (detail === undefined ? "" : ` (${detail})`)

/** What the target's server did, and what to do about it. */
const pollFailure = (e: RelationshipService.CleanupFailed): string => {
  switch (e.reason) {
    case "Unauthorized":
      return `the target's server refused the stored password${inParens(e.detail)}; re-authenticate its account first`
    case "RateLimited":
      return "the target's server asked us to slow down; try again in a minute"
    case "Transient":
      return `the target's server could not be reached${inParens(e.detail)}; try again later`
    case "TokenInvalid":
      return `the target's server rejected the request${inParens(e.detail)}`
  }
}

export const relationship = (
  e:
    | RelationshipService.RelationshipNotFound
    | RelationshipService.CalendarNotFound
    | RelationshipService.InvalidRelationship
    | RelationshipService.CleanupFailed
): { readonly message: string; readonly problems?: ReadonlyArray<string> } => {
  switch (e._tag) {
    case "RelationshipNotFound":
      return { message: `no relationship ${e.relationshipId}` }
    case "CalendarNotFound":
      return { message: calendarNotFound(e) }
    case "InvalidRelationship": {
      const problems = e.problems.map(relationshipProblem)
      return { message: problems.join("; "), problems }
    }
    case "CleanupFailed":
      return {
        message: `the copies could not all be removed: ${pollFailure(e)}. ${e.removedSoFar} were removed; the relationship is paused and kept so that removing it again (with clean=true) finishes the job, or remove it without clean to leave the remaining copies`
      }
  }
}

const calendarNotFound = (e: RelationshipService.CalendarNotFound): string =>
  `${e.field}: no calendar ${e.calendarId} among your accounts' calendars (GET /api/accounts/{id}/calendars lists them)`

// --- status ------------------------------------------------------------------------------------

export const status = (
  e:
    | RelationshipService.CalendarNotFound
    | StatusService.NotSynced
    | StatusService.NothingToConfirm
    | StatusService.ConfirmFailed
): string => {
  switch (e._tag) {
    case "CalendarNotFound":
      return calendarNotFound(e)
    case "NotSynced":
      return `calendar ${e.calendarId} takes part in no sync relationship, so there is nothing to sync; create one with POST /api/relationships`
    case "NothingToConfirm":
      return `calendar ${e.calendarId} has no mass deletion waiting for confirmation; its status says when one does`
    case "ConfirmFailed":
      return `the confirmed run of calendar ${e.calendarId} failed (${e.detail}); the deletions are still waiting, confirm again later`
  }
}

// --- free/busy and bookings ----------------------------------------------------------------------

export const needsReauth = (e: SchedulingError.NeedsReauth): string =>
  `account ${e.accountId} needs re-authentication: ${e.detail}; send its current (app-specific) password to PUT /api/accounts/${e.accountId}/password`

const instantExample = "e.g. 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00"

/** A field as the client sends it: the key is a header, the rest JSON members or query parameters. */
const named = (field: SchedulingError.Field): string =>
  field === "Idempotency-Key" ? "Idempotency-Key header" : field

export const requestProblem = (p: SchedulingError.RequestProblem): string => {
  const f = named(p.field)
  switch (p.reason) {
    case "Required":
      return p.field === "Idempotency-Key"
        ? `${f}: required; send a fresh unique value (e.g. a UUID) per booking and the same value when retrying it`
        : `${f}: required, an ISO 8601 date-time with Z or an offset (${instantExample})`
    case "BadKey":
      return `${f}: 1 to ${p.maxLength} visible ASCII characters, no spaces`
    case "NotAnInstant":
      return `${f}: "${p.given}" is not an ISO 8601 date-time with Z or an offset (${instantExample})`
    case "NotARealTime":
      return `${f}: "${p.given}" is not a real date and time`
    case "NotAnOffset":
      return `${f}: "${p.given}" is not a UTC offset`
    case "EndNotAfterStart":
      return `${f}: must be after start`
    case "RangeTooLong":
      return `${f}: the range may span at most ${p.maxDays} days`
    case "Blank":
      return `${f}: must not be empty`
    case "BlankChange":
      return `${f}: leave it out to keep it, or send text`
    case "TooLong":
      return `${f}: at most ${p.max} characters`
    case "TooMany":
      return `${f}: at most ${p.max}`
    case "NotAnEmail":
      return `${f}: "${p.given}" is not an e-mail address`
    case "UnknownZone":
      return `${f}: "${p.given}" is not an IANA time zone (e.g. Europe/Berlin${p.field === "zone" ? ", UTC" : ""})`
    case "NoneChosen":
      return `${f}: leave it out for all calendars, or give at least one calendar id`
    case "ReadOnlyCalendar":
      return `${f}: calendar ${p.calendarId} is read-only; book into a calendar its account may write`
  }
}

export const stateConflict = (e: SchedulingError.StateConflict): string => {
  const id = e.bookingId
  switch (e.reason) {
    case "CalendarDisconnected":
      return `the calendar of booking ${id} is no longer connected, so its event cannot be changed here`
    case "RemovedWhileWriting":
      return `the event of booking ${id} was removed while it was being written; retry the request`
    case "KeyReused":
      return `this Idempotency-Key was already used for a different booking request (booking ${id}); send a new key for a new booking, or the same body to get that booking again`
    case "StillPending":
      return `booking ${id} is still pending: its event is not on the calendar yet; retry the create request with the same Idempotency-Key to complete it first`
    case "Cancelled":
      return `booking ${id} is cancelled and cannot be rescheduled`
    case "AlreadyCancelled":
      return `booking ${id} is cancelled and cannot be cancelled again`
    case "EventUnreadable":
      return `the event of booking ${id} was changed on the calendar into something that cannot be rescheduled: ${e.detail ?? "it cannot be read"}`
    case "NoMainEvent":
      return `the event of booking ${id} was changed on the calendar into something that cannot be rescheduled: it has no main event`
    case "EventDeleted":
      return `the event of booking ${id} was deleted from the calendar outside Almanac; make a new booking`
    case "EventKeptChanging":
      return `the event of booking ${id} kept changing on the calendar while this request ran; try again`
  }
}

export const calendarFailed = (e: SchedulingError.CalendarFailed): string => {
  const pending =
    e.pendingBookingId === undefined
      ? ""
      : `; booking ${e.pendingBookingId} is recorded as pending: send the same request with the same Idempotency-Key again to complete it`
  return `the calendar server failed: calendar "${e.calendarName}" (${e.calendarId}): ${e.detail}${pending}`
}

// --- accounts ----------------------------------------------------------------------------------

const whereToCreate =
  "Create one at https://appleid.apple.com → Sign-In and Security → App-Specific Passwords, and paste it here."

/** The account errors that say what to send next; the others' messages already say it. */
export const account = (
  e:
    | AccountService.NotAnAppSpecificPassword
    | AccountService.CredentialsRefused
    | AccountService.AlreadyConnected
    | AccountService.NoPassword
): string => {
  switch (e._tag) {
    case "NotAnAppSpecificPassword":
      return `appSpecificPassword: this is not an app-specific password. Apple's have the form xxxx-xxxx-xxxx-xxxx (16 lowercase letters); your normal Apple ID password does not work for calendar access. ${whereToCreate}`
    case "CredentialsRefused":
      if (isOAuthKind(e.kind))
        return `${services[e.kind].label} refused the stored access (it was revoked, or has expired); connect it again with POST /api/accounts/${e.kind}`
      return e.kind === "icloud"
        ? `Apple refused the Apple ID or the app-specific password. Check the Apple ID (usually your iCloud email address). A normal Apple ID password does not work here, only an app-specific password; a revoked one does not either. ${whereToCreate}`
        : `the server at ${e.url} refused the user name or password; check both (some servers want the full email address as user name)`
    case "AlreadyConnected":
      return `this account is already connected as "${e.name}" (account ${e.accountId}); to give it a new password, use PUT /api/accounts/${e.accountId}/password`
    case "NoPassword":
      return `account ${e.accountId} is a ${services[e.kind].label} account and has no password; connect ${services[e.kind].label} again (POST /api/accounts/${e.kind}) to renew its access`
  }
}
