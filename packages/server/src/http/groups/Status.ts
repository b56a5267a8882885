/**
 * The "status" endpoints: how syncing is going for each of a user's calendars, and the two
 * actions a person takes on it: poll now, and confirm a mass deletion that the safety stop halted.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Direction } from "../../app/RelationshipService.js"
import { Conflict, InternalError, NotFound, UpstreamFailed } from "../ApiError.js"
import { Authentication } from "../Auth.js"

const Iso = Schema.String.annotations({ description: "ISO 8601 time" })
const NullableIso = Schema.NullOr(Iso)

const RelationshipStatusView = Schema.Struct({
  relationshipId: Schema.String,
  direction: Direction,
  role: Schema.Literal("source", "target", "both").annotations({
    description: "this calendar's end of the relationship (both: a two-way mirror)"
  }),
  otherCalendarId: Schema.String,
  paused: Schema.Boolean,
  copies: Schema.Number.annotations({ description: "copies the relationship keeps" }),
  conflicts: Schema.Array(Schema.Struct({ sourceUid: Schema.String, detail: Schema.String })).annotations({
    description: "the most recent writes that lost a race or that the target refused, oldest first"
  })
}).annotations({ identifier: "RelationshipStatus" })

export const CalendarStatusView = Schema.Struct({
  calendarId: Schema.String,
  accountId: Schema.String,
  name: Schema.NullOr(Schema.String),
  url: Schema.String,
  polls: Schema.Number.annotations({ description: "polls so far" }),
  lastPollAt: NullableIso,
  lastSuccessAt: NullableIso,
  nextPollAt: NullableIso.annotations({
    description: "when the calendar polls next; null until its actor has polled once, or while it is parked"
  }),
  polling: Schema.NullOr(
    Schema.Struct({
      startedAt: Iso,
      phase: Schema.Literal("list", "fetch", "write").annotations({
        description:
          "list: asking the calendar what changed; fetch: reading changed events; write: writing copies"
      }),
      done: Schema.Number.annotations({ description: "items of this phase done so far" }),
      total: Schema.Number.annotations({ description: "items of this phase in all (0 while listing)" })
    }).annotations({ identifier: "PollInProgress" })
  ).annotations({ description: "the poll running now and how far it has got; null when none is running" }),
  lastError: Schema.NullOr(Schema.String).annotations({
    description: "why the last poll failed, in words; null after a successful poll"
  }),
  lastErrorAt: NullableIso.annotations({
    description: "when the last failed poll ended; kept after a recovery (null if no poll ever failed)"
  }),
  failuresInARow: Schema.Number.annotations({
    description: "polls in a row that failed; 0 once a poll works again"
  }),
  deletesAwaitingConfirmation: Schema.NullOr(Schema.String).annotations({
    description:
      "set when the mass-delete safety stop halted this calendar's runs: why. Nothing is deleted until a person confirms with POST /api/calendars/{calendarId}/confirm-deletes."
  }),
  copiesHeld: Schema.Number.annotations({ description: "copies Almanac keeps on this calendar" }),
  copiesMade: Schema.Number.annotations({
    description: "copies of this calendar's events on other calendars"
  }),
  quarantined: Schema.Array(Schema.Struct({ href: Schema.String, reason: Schema.String })).annotations({
    description:
      "items that could not be read (or whose copy a target refused); they are skipped until they change, and the rest syncs"
  }),
  relationships: Schema.Array(RelationshipStatusView),
  runs: Schema.Array(
    Schema.Struct({
      outcome: Schema.String.annotations({ description: "synced, or incomplete (tried again next poll)" }),
      finishedAt: Iso,
      summary: Schema.Unknown.annotations({
        description: "counts of the run: created, updated, deleted, unchanged, conflicts, quarantined…"
      })
    })
  ).annotations({ description: "the most recent runs that found changes, newest first" })
}).annotations({ identifier: "CalendarStatus" })

export const ConfirmedRun = Schema.Struct({
  outcome: Schema.String,
  created: Schema.Number,
  updated: Schema.Number,
  deleted: Schema.Number,
  unchanged: Schema.Number,
  conflicts: Schema.Number,
  quarantined: Schema.Number,
  halted: Schema.Array(Schema.String).annotations({ description: "empty unless the run stopped again" })
}).annotations({ identifier: "ConfirmedRun" })

const CalendarPath = Schema.Struct({ calendarId: Schema.String })

export class StatusGroup extends HttpApiGroup.make("status")
  .add(
    HttpApiEndpoint.get("allStatus", "/status")
      .addSuccess(Schema.Array(CalendarStatusView))
      .annotate(OpenApi.Summary, "Sync status of every calendar in a relationship")
  )
  .add(
    HttpApiEndpoint.get("calendarStatus", "/calendars/:calendarId/status")
      .setPath(CalendarPath)
      .addSuccess(CalendarStatusView)
      .annotate(OpenApi.Summary, "Sync status of one calendar")
  )
  .add(
    HttpApiEndpoint.post("syncNow", "/calendars/:calendarId/sync")
      .setPath(CalendarPath)
      .addSuccess(Schema.Struct({ calendarId: Schema.String, message: Schema.String }), { status: 202 })
      .annotate(OpenApi.Summary, "Sync now")
      .annotate(
        OpenApi.Description,
        "Asks for a poll of the calendar now and answers at once (202); the status shows the result. 409 when no relationship uses the calendar."
      )
  )
  .add(
    HttpApiEndpoint.post("confirmDeletes", "/calendars/:calendarId/confirm-deletes")
      .setPath(CalendarPath)
      .addSuccess(ConfirmedRun)
      .annotate(OpenApi.Summary, "Confirm a mass deletion")
      .annotate(
        OpenApi.Description,
        "When the source lost many events at once, the safety stop halts and deletes nothing. Confirming runs one poll with the deletions let through and returns its counts. 409 when nothing is waiting for confirmation; 502 when that poll failed (nothing was confirmed; try again)."
      )
  )
  .addError(Conflict)
  .addError(NotFound)
  .addError(UpstreamFailed)
  .addError(InternalError)
  .middleware(Authentication)
  .annotate(OpenApi.Description, "How syncing is going, per calendar; sync now; confirm a mass deletion.") {}
