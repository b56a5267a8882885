/**
 * The domain's typed errors in words for a person filling in a form, written from their data;
 * the API writes its own (http/ApiWords.ts). Where an error's own message already says what to
 * fix in plain words (a server that could not be reached, no calendar found), the page uses it.
 */

import type { AccountNotFound, AlreadyConnected, ConnectError } from "../app/AccountService.js"
import { services } from "../app/OAuthService.js"
import type {
  CalendarNotFound,
  CleanupFailed,
  InvalidRelationship,
  RelationshipNotFound,
  RelationshipProblem
} from "../app/RelationshipService.js"
import type { ConfirmFailed, NothingToConfirm, NotSynced } from "../app/StatusService.js"

const sentence = (text: string): string => {
  const trimmed = text.trim()
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1)
  return /[.!?)]$/.test(first) ? first : `${first}.`
}

const appleHelp =
  "Create one at appleid.apple.com → Sign-In and Security → App-Specific Passwords; your normal Apple ID password does not work here."

export const connect = (e: ConnectError | AlreadyConnected): string => {
  switch (e._tag) {
    case "NotAnAppSpecificPassword":
      return `That is not an app-specific password: Apple's look like xxxx-xxxx-xxxx-xxxx (16 lowercase letters). ${appleHelp}`
    case "NoPassword":
      return `A ${services[e.kind].label} account has no password here: to renew its access, use “${services[e.kind].connect} again” on its page.`
    case "CredentialsRefused":
      if (e.kind === "google" || e.kind === "microsoft")
        return `${services[e.kind].label} refused the stored access (it was revoked, or has expired). Use “${services[e.kind].connect} again” on the account's page to renew it.`
      return e.kind === "icloud"
        ? `Apple refused the Apple ID or the app-specific password. Check the Apple ID (usually your iCloud email address) and that the password was not revoked. ${appleHelp}`
        : `The server at ${e.url} refused the user name or password; check both (some servers want the full email address as user name).`
    case "AlreadyConnected":
      return `This account is already connected as “${e.name}” (account ${e.accountId}, in the list above). To give it a new password, open it there.`
    case "UrlRejected":
    case "FeedUnreadable":
    case "ServerUnreachable":
    case "NotCalDav":
    case "NoEventCalendars":
      return sentence(e.message)
  }
}

export const accountMissing = (_e: AccountNotFound): string =>
  "There is no such account among yours (it may have been removed)."

/** One reason a sync cannot be made or changed, in the words of the Syncs page. */
export const relationshipProblem = (p: RelationshipProblem): string => {
  switch (p.reason) {
    case "SameCalendar":
      return "A calendar cannot sync into itself: choose two different calendars."
    case "ReadOnlyTarget":
      return `“${p.calendarName}” is read-only for its account, so no copy can be written there; choose a calendar you can edit under “Into”.`
    case "ReadOnlySource":
      return `“${p.calendarName}” is read-only for its account, so a sync both ways cannot write back to it; sync one way from it.`
    case "AlreadyMirrored":
      return "These two calendars are already synced both ways (in the list above); change that sync instead."
    case "AlreadyExists":
      return "A sync from this calendar into that one already exists (in the list above); change that sync instead."
    case "ReverseExists":
      return "A one-way sync the other way round already exists (in the list above); remove it first, then create the sync both ways."
    case "WouldLoop":
      return "A one-way sync the other way round already exists (in the list above): two one-way syncs in opposite directions would copy back and forth. Remove it and create one sync with “Both ways” ticked."
    case "NothingToChange":
      return "Nothing was changed: choose something to change."
    case "DirectionFixed":
      return `This sync is ${p.current === "two-way" ? "both ways" : "one way"} and cannot be turned ${p.wanted === "two-way" ? "into a sync both ways" : "into a one-way sync"}; remove it (ticking “also delete the copies” takes its copies away) and create a new one.`
  }
}

export const relationship = (e: CalendarNotFound | InvalidRelationship | RelationshipNotFound): string => {
  switch (e._tag) {
    case "CalendarNotFound":
      return "One of the chosen calendars is no longer among your accounts' calendars; reload the page and choose again."
    case "RelationshipNotFound":
      return "There is no such sync among yours (it may have been removed already)."
    case "InvalidRelationship":
      return e.problems.map(relationshipProblem).join(" ")
  }
}

/** How the target's server failed while copies were being deleted. */
const cleanupCause = (e: CleanupFailed): string => {
  const detail = e.detail === undefined ? "" : ` (${e.detail})`
  switch (e.reason) {
    case "Unauthorized":
      return `the server of the target calendar refused the stored password${detail}; re-authenticate its account on the Accounts page first`
    case "RateLimited":
      return "the server of the target calendar asked Almanac to slow down; try again in a minute"
    case "Transient":
      return `the server of the target calendar could not be reached${detail}; try again later`
    case "TokenInvalid":
      return `the server of the target calendar rejected the request${detail}`
  }
}

export const cleanup = (e: CleanupFailed): string =>
  `Not every copy could be deleted: ${cleanupCause(e)}. ${e.removedSoFar} were deleted. The sync is paused and kept: remove it again with “also delete the copies” ticked to finish, or without it to leave the remaining copies where they are.`

export const status = (e: CalendarNotFound | NotSynced | NothingToConfirm | ConfirmFailed): string => {
  switch (e._tag) {
    case "CalendarNotFound":
      return "There is no such calendar among your accounts' calendars."
    case "NotSynced":
      return "This calendar takes part in no sync, so there is nothing to sync; create one on the Syncs page."
    case "NothingToConfirm":
      return "No deletions are waiting for confirmation on this calendar any more."
    case "ConfirmFailed":
      return `The confirmed run failed (${e.detail}); the deletions are still waiting. Confirm again later.`
  }
}
