/**
 * A failed poll in words, for the status a person reads (API, status page, overview). The
 * engine's errors carry the data (which kind, what the server said); this is the one place the
 * server words them, so the API and the pages say the same thing.
 */
import type { CalendarActor } from "@almanac/core"

type Unsuccessful = Exclude<CalendarActor.PollOutcome, { readonly _tag: "Ok" }>

export const words = (outcome: Unsuccessful): string => {
  if (outcome._tag === "Defect") return "an internal error stopped the poll; the server's log has the details"
  const e = outcome.error
  switch (e._tag) {
    case "Unauthorized":
      return `the calendar server refused the credentials (${e.detail}); connect the account again`
    case "Transient":
      return `the calendar server could not be reached or failed: ${e.detail}`
    case "RateLimited":
      return e.retryAfterMillis === undefined
        ? "the calendar server asked Almanac to slow down; it will try again later"
        : `the calendar server asked Almanac to wait ${Math.ceil(e.retryAfterMillis / 1000)} s before trying again`
    case "TokenInvalid":
      return `the calendar server refused the change cursor and the full listing that should replace it: ${e.detail}`
    case "StoreError":
      return `Almanac's own database failed (${e.operation}): ${e.detail}`
  }
}
