/**
 * The status endpoints at the HTTP edge: the current user's id goes into every call of the
 * StatusService (which checks ownership), and its typed errors become the API's statuses.
 */
import type { SyncStore } from "@almanac/core"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import type { CalendarNotFound } from "../../app/RelationshipService.js"
import {
  type CalendarStatus,
  type ConfirmFailed,
  type NothingToConfirm,
  type NotSynced,
  StatusService
} from "../../app/StatusService.js"
import { AlmanacApi } from "../Api.js"
import { Conflict, type InternalError, NotFound, UpstreamFailed } from "../ApiError.js"
import * as ApiWords from "../ApiWords.js"
import { CurrentUser } from "../Auth.js"
import { iso, isoOrNull, orInternal } from "./internal.js"

const statusView = (s: CalendarStatus) => ({
  calendarId: s.calendar.id,
  accountId: s.calendar.accountId,
  name: Option.getOrNull(s.calendar.displayName),
  url: s.calendar.url,
  polls: s.polls,
  lastPollAt: isoOrNull(s.lastPollAt),
  lastSuccessAt: isoOrNull(s.lastSuccessAt),
  nextPollAt: isoOrNull(s.nextPollAt),
  polling: Option.getOrNull(
    Option.map(s.polling, (p) => ({
      startedAt: iso(p.startedAt),
      phase: p.phase,
      done: p.done,
      total: p.total
    }))
  ),
  lastError: Option.getOrNull(s.lastError),
  lastErrorAt: isoOrNull(s.lastErrorAt),
  failuresInARow: s.failuresInARow,
  deletesAwaitingConfirmation: Option.getOrNull(s.deletesAwaitingConfirmation),
  copiesHeld: s.copiesHeld,
  copiesMade: s.copiesMade,
  quarantined: s.quarantined,
  relationships: s.relationships,
  runs: s.runs.map((r) => ({ outcome: r.outcome, finishedAt: iso(r.finishedAt), summary: r.summary }))
})

type ServiceError = CalendarNotFound | NotSynced | NothingToConfirm | ConfirmFailed

const toApi = (e: ServiceError) => {
  switch (e._tag) {
    case "CalendarNotFound":
      return new NotFound({ message: ApiWords.status(e) })
    case "NotSynced":
    case "NothingToConfirm":
      return new Conflict({ message: ApiWords.status(e) })
    case "ConfirmFailed":
      return new UpstreamFailed({ message: ApiWords.status(e) })
  }
}

/** Store failures become a logged 500; the service's own errors their status. */
const edge = <A, R>(
  effect: Effect.Effect<A, ServiceError | SyncStore.StoreError, R>
): Effect.Effect<A, Conflict | NotFound | UpstreamFailed | InternalError, R> =>
  orInternal(effect).pipe(Effect.mapError((e) => (e._tag === "InternalError" ? e : toApi(e))))

export const statusLayer = HttpApiBuilder.group(AlmanacApi, "status", (handlers) =>
  Effect.gen(function* () {
    const service = yield* StatusService
    return handlers
      .handle("allStatus", () =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return (yield* service.all(user.id)).map(statusView)
        }).pipe(edge)
      )
      .handle("calendarStatus", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return statusView(yield* service.ofCalendar(user.id, path.calendarId))
        }).pipe(edge)
      )
      .handle("syncNow", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          yield* service.syncNow(user.id, path.calendarId)
          return { calendarId: path.calendarId, message: "a poll was requested; the status shows its result" }
        }).pipe(edge)
      )
      .handle("confirmDeletes", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const r = yield* service.confirmDeletes(user.id, path.calendarId)
          return {
            outcome: r.outcome,
            created: r.created,
            updated: r.updated,
            deleted: r.deleted,
            unchanged: r.unchanged,
            conflicts: r.conflicts,
            quarantined: r.quarantined,
            halted: r.halted
          }
        }).pipe(edge)
      )
  })
)
