/**
 * The relationships endpoints at the HTTP edge: the current user's id goes into every call of the
 * RelationshipService (which checks ownership), and its typed errors become the API's statuses.
 */
import type { SyncStore } from "@almanac/core"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import {
  type CalendarNotFound,
  type CleanupFailed,
  type InvalidRelationship,
  type RelationshipNotFound,
  RelationshipService,
  type SyncRelationship
} from "../../app/RelationshipService.js"
import { AlmanacApi } from "../Api.js"
import { BadRequest, type InternalError, NotFound, UpstreamFailed } from "../ApiError.js"
import * as ApiWords from "../ApiWords.js"
import { CurrentUser } from "../Auth.js"
import { iso, orInternal } from "./internal.js"

export const relationshipView = (r: SyncRelationship) => ({
  id: r.id,
  sourceCalendarId: r.sourceCalendarId,
  targetCalendarId: r.targetCalendarId,
  direction: r.direction,
  markPrivate: r.policy.markPrivate,
  transp: r.policy.transp,
  attendees: r.policy.attendees,
  window: Option.getOrNull(r.window),
  paused: r.paused,
  copies: r.copies,
  createdAt: iso(r.createdAt)
})

type ServiceError = CalendarNotFound | InvalidRelationship | RelationshipNotFound | CleanupFailed

const toApi = (e: ServiceError) => {
  switch (e._tag) {
    case "CalendarNotFound":
    case "RelationshipNotFound":
      return new NotFound({ message: ApiWords.relationship(e).message })
    case "InvalidRelationship":
      return new BadRequest(ApiWords.relationship(e))
    case "CleanupFailed":
      return new UpstreamFailed({ message: ApiWords.relationship(e).message })
  }
}

/** Store failures become a logged 500; the service's own errors their status. */
const edge = <A, R>(
  effect: Effect.Effect<A, ServiceError | SyncStore.StoreError, R>
): Effect.Effect<A, BadRequest | NotFound | UpstreamFailed | InternalError, R> =>
  orInternal(effect).pipe(Effect.mapError((e) => (e._tag === "InternalError" ? e : toApi(e))))

export const relationshipsLayer = HttpApiBuilder.group(AlmanacApi, "relationships", (handlers) =>
  Effect.gen(function* () {
    const service = yield* RelationshipService
    return handlers
      .handle("createRelationship", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const created = yield* service.create(user.id, {
            sourceCalendarId: payload.sourceCalendarId,
            targetCalendarId: payload.targetCalendarId,
            direction: payload.direction,
            policy: {
              markPrivate: payload.markPrivate,
              transp: payload.transp,
              attendees: payload.attendees
            },
            window: Option.fromNullable(payload.window)
          })
          return relationshipView(created)
        }).pipe(edge)
      )
      .handle("listRelationships", () =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return (yield* service.list(user.id)).map(relationshipView)
        }).pipe(edge)
      )
      .handle("getRelationship", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return relationshipView(yield* service.get(user.id, path.relationshipId))
        }).pipe(edge)
      )
      .handle("changeRelationship", ({ path, payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const changed = yield* service.change(user.id, path.relationshipId, {
            direction: payload.direction,
            markPrivate: payload.markPrivate,
            transp: payload.transp,
            attendees: payload.attendees,
            // Absent: unchanged; null: no window any more.
            window: payload.window === undefined ? undefined : Option.fromNullable(payload.window),
            paused: payload.paused
          })
          return relationshipView(changed)
        }).pipe(edge)
      )
      .handle("removeRelationship", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return yield* service.remove(user.id, path.relationshipId, { clean: urlParams.clean })
        }).pipe(edge)
      )
  })
)
