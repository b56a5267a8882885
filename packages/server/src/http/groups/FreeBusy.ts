/**
 * Free/busy for scheduling tools: busy intervals across one account's calendars, or across all
 * of the user's accounts. Computed from the events themselves (recurrences expanded, transparent
 * and cancelled time left out), so it answers the same for iCloud as for any CalDAV server.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { BadRequest, InternalError, NotFound, Unprocessable, UpstreamFailed } from "../ApiError.js"
import { Authentication } from "../Auth.js"
import { strict } from "../Payload.js"

const Instant = (what: string) =>
  Schema.String.annotations({
    description: `${what}, ISO 8601 with Z or an offset (e.g. 2026-11-23T09:00:00Z); the range may span at most 366 days`
  })

const Zone = Schema.String.annotations({
  description:
    "IANA zone in which all-day and floating events fall (e.g. Europe/Berlin); UTC when left out. Timed events keep their own zones."
})

const CalendarIds = Schema.Array(Schema.String).annotations({
  description: "calendar ids to consult; all event calendars in scope when left out"
})

export const FreeBusyQuery = Schema.Struct({
  start: Instant("start of the range"),
  end: Instant("end of the range (exclusive)"),
  calendarIds: Schema.optional(CalendarIds),
  zone: Schema.optional(Zone)
})

/** The same as query parameters: calendarIds repeated or comma-separated. */
const FreeBusyParams = Schema.Struct({
  start: Instant("start of the range"),
  end: Instant("end of the range (exclusive)"),
  calendarIds: Schema.optional(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  zone: Schema.optional(Zone)
})

const Interval = Schema.Struct({
  start: Schema.String.annotations({ description: "UTC, ISO 8601" }),
  end: Schema.String.annotations({ description: "UTC, ISO 8601, exclusive" })
})

export const FreeBusyAnswer = Schema.Struct({
  start: Schema.String,
  end: Schema.String,
  zone: Schema.String,
  busy: Schema.Array(Interval).annotations({ description: "sorted, disjoint, clipped to the range" }),
  calendars: Schema.Array(
    Schema.Struct({ id: Schema.String, accountId: Schema.String, displayName: Schema.NullOr(Schema.String) })
  ).annotations({ description: "the calendars consulted" }),
  skipped: Schema.Struct({
    count: Schema.Number,
    items: Schema.Array(
      Schema.Struct({ calendarId: Schema.String, href: Schema.String, reason: Schema.String })
    )
  }).annotations({
    description:
      "events that could not be read and were left out of the answer, and series that repeat more often than can be expanded: their busy time is shown only up to the time the reason names"
  })
})

const AccountPath = Schema.Struct({ accountId: Schema.String })

export class FreeBusyGroup extends HttpApiGroup.make("freebusy")
  .add(
    HttpApiEndpoint.get("accountFreeBusy", "/accounts/:accountId/freebusy")
      .setPath(AccountPath)
      .setUrlParams(FreeBusyParams)
      .addSuccess(FreeBusyAnswer)
      .annotate(OpenApi.Summary, "Busy time across an account's calendars")
      .annotate(
        OpenApi.Description,
        "Busy intervals (UTC) across the account's event calendars, or the chosen ones. Recurrences are expanded; transparent and cancelled events are free. An event that cannot be read is left out and listed under `skipped`. A calendar that cannot be asked fails the answer (502): free time is never guessed. A refused password answers 422 and marks the account as needing re-authentication."
      )
  )
  .add(
    HttpApiEndpoint.post("accountFreeBusyQuery", "/accounts/:accountId/freebusy")
      .setPath(AccountPath)
      .setPayload(strict(FreeBusyQuery))
      .addSuccess(FreeBusyAnswer)
      .annotate(OpenApi.Summary, "Busy time across an account's calendars (the question in a JSON body)")
  )
  .add(
    HttpApiEndpoint.post("freeBusy", "/freebusy")
      .setPayload(strict(FreeBusyQuery))
      .addSuccess(FreeBusyAnswer)
      .annotate(OpenApi.Summary, "Busy time across all your accounts")
  )
  .addError(BadRequest)
  .addError(NotFound)
  .addError(Unprocessable)
  .addError(UpstreamFailed)
  .addError(InternalError)
  .middleware(Authentication)
  .annotate(
    OpenApi.Description,
    "Busy time across your calendars, read live from their servers, for scheduling: intervals in UTC, recurrences expanded."
  ) {}
