/**
 * The "relationships" endpoints: which of a user's calendars is copied into which, one way or both
 * ways, with what privacy, TRANSP, attendee and window options; pause, resume and remove (with an
 * optional clean unsync that deletes the copies).
 */
import { Policy } from "@almanac/core"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Direction, SyncWindow } from "../../app/RelationshipService.js"
import { BadRequest, InternalError, NotFound, UpstreamFailed } from "../ApiError.js"
import { Authentication } from "../Auth.js"
import { strict } from "../Payload.js"

const Transp = Policy.SyncPolicy.fields.transp.annotations({
  description:
    'TRANSP of the copies: "keep" the source\'s (busy or free as it is), or force "opaque" (busy) or "transparent" (free)'
})

const DirectionField = Direction.annotations({
  description:
    '"one-way": the source\'s events are copied into the target. "two-way": each calendar\'s own events are copied into the other (copies are never copied again, so nothing echoes).'
})

const MarkPrivate = Schema.Boolean.annotations({
  description:
    'Copies say "Busy" and carry no description, location or attendees (CLASS:PRIVATE); their times stay exact.'
})

const Attendees = Schema.Boolean.annotations({
  description:
    "Copy ORGANIZER and ATTENDEE addresses (with SCHEDULE-AGENT=CLIENT, so no server sends invitations). Ignored for private copies."
})

const CalendarId = (role: string) =>
  Schema.String.pipe(
    Schema.minLength(1, { message: () => `${role}CalendarId: must not be empty` })
  ).annotations({
    description: `the ${role} calendar's id (from GET /api/accounts/{accountId}/calendars); it must be yours`
  })

export const RelationshipView = Schema.Struct({
  id: Schema.String,
  sourceCalendarId: Schema.String,
  targetCalendarId: Schema.String,
  direction: DirectionField,
  markPrivate: MarkPrivate,
  transp: Transp,
  attendees: Attendees,
  window: Schema.NullOr(SyncWindow),
  paused: Schema.Boolean.annotations({ description: "a paused relationship copies nothing until resumed" }),
  copies: Schema.Number.annotations({
    description: "copies this relationship keeps on its target (both directions of a two-way mirror)"
  }),
  createdAt: Schema.String.annotations({ description: "ISO 8601 time" })
}).annotations({ identifier: "SyncRelationship" })

export const CreateRelationship = Schema.Struct({
  sourceCalendarId: CalendarId("source"),
  targetCalendarId: CalendarId("target"),
  direction: Schema.optionalWith(DirectionField, { default: () => "one-way" as const }),
  markPrivate: Schema.optionalWith(MarkPrivate, { default: () => true }),
  transp: Schema.optionalWith(Transp, { default: () => "keep" as const }),
  attendees: Schema.optionalWith(Attendees, { default: () => false }),
  window: Schema.optional(SyncWindow)
}).annotations({ identifier: "CreateSyncRelationship" })

export const ChangeRelationship = Schema.Struct({
  markPrivate: Schema.optional(MarkPrivate),
  transp: Schema.optional(Transp),
  attendees: Schema.optional(Attendees),
  window: Schema.optional(
    Schema.NullOr(SyncWindow).annotations({ description: "a new window, or null to copy every event" })
  ),
  paused: Schema.optional(
    Schema.Boolean.annotations({ description: "true pauses the relationship, false resumes it" })
  ),
  direction: Schema.optional(
    DirectionField.annotations({ description: "accepted only when unchanged: a direction cannot be changed" })
  )
}).annotations({ identifier: "ChangeSyncRelationship" })

export const RemovalView = Schema.Struct({
  clean: Schema.Boolean,
  removed: Schema.Number.annotations({ description: "copies deleted from the target" }),
  alreadyGone: Schema.Number.annotations({ description: "copies that someone had already deleted" }),
  kept: Schema.Array(Schema.Struct({ href: Schema.String, reason: Schema.String })).annotations({
    description:
      "copies a clean unsync left in place (changed on the target since Almanac wrote them), and why"
  }),
  left: Schema.Number.annotations({
    description: "copies left on the target because clean was not asked for"
  })
}).annotations({ identifier: "SyncRelationshipRemoval" })

const RelationshipPath = Schema.Struct({ relationshipId: Schema.String })

export class RelationshipsGroup extends HttpApiGroup.make("relationships")
  .add(
    HttpApiEndpoint.post("createRelationship", "/relationships")
      .setPayload(strict(CreateRelationship))
      .addSuccess(RelationshipView, { status: 201 })
      .annotate(OpenApi.Summary, "Sync one of your calendars into another")
      .annotate(
        OpenApi.Description,
        'Both calendars must be yours and different. Defaults: one-way, private copies ("Busy"), TRANSP kept, no attendees, no window. Refused (400): a calendar into itself, a pair that already has a relationship (change it instead), and a one-way relationship opposite to an existing one-way one (make one two-way relationship instead). The source is polled right away.'
      )
  )
  .add(
    HttpApiEndpoint.get("listRelationships", "/relationships")
      .addSuccess(Schema.Array(RelationshipView))
      .annotate(OpenApi.Summary, "Your sync relationships")
      .annotate(OpenApi.Description, "Oldest first; a two-way mirror is one relationship.")
  )
  .add(
    HttpApiEndpoint.get("getRelationship", "/relationships/:relationshipId")
      .setPath(RelationshipPath)
      .addSuccess(RelationshipView)
      .annotate(OpenApi.Summary, "One sync relationship")
  )
  .add(
    HttpApiEndpoint.patch("changeRelationship", "/relationships/:relationshipId")
      .setPath(RelationshipPath)
      .setPayload(strict(ChangeRelationship))
      .addSuccess(RelationshipView)
      .annotate(OpenApi.Summary, "Change options, pause or resume")
      .annotate(
        OpenApi.Description,
        'Send only what changes. Existing copies follow a new privacy, TRANSP or attendee option at the source\'s next poll (every original is read again once); `{"paused": true}` pauses, `{"paused": false}` resumes and copies what arrived meanwhile. The direction cannot be changed: remove the relationship and create another.'
      )
  )
  .add(
    HttpApiEndpoint.del("removeRelationship", "/relationships/:relationshipId")
      .setPath(RelationshipPath)
      .setUrlParams(
        Schema.Struct({
          clean: Schema.optionalWith(
            Schema.BooleanFromString.annotations({
              description:
                "true: first delete every copy this relationship wrote on its target (a clean unsync)"
            }),
            { default: () => false }
          )
        })
      )
      .addSuccess(RemovalView)
      .annotate(OpenApi.Summary, "Remove a sync relationship, optionally with its copies")
      .annotate(
        OpenApi.Description,
        "Without clean, the copies stay on the target as ordinary events. With clean=true (a clean unsync), every copy the relationship wrote is deleted from the target first, except copies someone changed since (listed under `kept` with the reason); copies already deleted count as `alreadyGone`. If the target's server cannot be reached the answer is 502, the relationship stays (paused) and removing it again finishes the job."
      )
  )
  .addError(BadRequest)
  .addError(NotFound)
  .addError(UpstreamFailed)
  .addError(InternalError)
  .middleware(Authentication)
  .annotate(
    OpenApi.Description,
    "Sync relationships: which of your calendars is copied into which, and how."
  ) {}
