/**
 * The app services' errors as API answers: each to its status, in the API's words for its data
 * (ApiWords). An unreadable secret is the operator's problem: logged, and a 500
 * that does not describe the vault to the caller.
 */
import type { SyncStore } from "@almanac/core"
import { Effect } from "effect"
import type * as SchedulingError from "../../app/SchedulingError.js"
import { BadRequest, Conflict, InternalError, NotFound, Unprocessable, UpstreamFailed } from "../ApiError.js"
import * as ApiWords from "../ApiWords.js"
import { orInternal } from "./internal.js"

type Failure =
  | SchedulingError.InvalidRequest
  | SchedulingError.Missing
  | SchedulingError.StateConflict
  | SchedulingError.NeedsReauth
  | SchedulingError.SecretUnreadable
  | SchedulingError.CalendarFailed
  | SchedulingError.Unsupported

type Answer = BadRequest | NotFound | Conflict | Unprocessable | UpstreamFailed | InternalError

const answer = (e: Failure): Effect.Effect<never, Answer> => {
  switch (e._tag) {
    case "InvalidRequest": {
      const problems = e.problems.map(ApiWords.requestProblem)
      return Effect.fail(new BadRequest({ message: `fix the request: ${problems.join("; ")}`, problems }))
    }
    case "Missing":
      return Effect.fail(new NotFound({ message: e.message }))
    case "StateConflict":
      return Effect.fail(new Conflict({ message: ApiWords.stateConflict(e) }))
    case "NeedsReauth":
      return Effect.fail(new Unprocessable({ message: ApiWords.needsReauth(e) }))
    case "Unsupported":
      return Effect.fail(new Unprocessable({ message: e.message }))
    case "SecretUnreadable":
      return Effect.logError("account secret unreadable", e.accountId, e.detail).pipe(
        Effect.zipRight(
          Effect.fail(
            new InternalError({
              message: `the server cannot open the stored password of account ${e.accountId}; its operator must check the master key, or re-authenticate the account`
            })
          )
        )
      )
    case "CalendarFailed":
      return Effect.fail(new UpstreamFailed({ message: ApiWords.calendarFailed(e) }))
  }
}

/** The answer each failure gets, so that an endpoint declares only the statuses it can give. */
type AnswerOf<E> =
  | (E extends SchedulingError.InvalidRequest ? BadRequest : never)
  | (E extends SchedulingError.Missing ? NotFound : never)
  | (E extends SchedulingError.StateConflict ? Conflict : never)
  | (E extends SchedulingError.NeedsReauth | SchedulingError.Unsupported ? Unprocessable : never)
  | (E extends SchedulingError.CalendarFailed ? UpstreamFailed : never)
  | InternalError

export const answered = <A, E extends Failure | SyncStore.StoreError, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, AnswerOf<E>, R> =>
  orInternal<A, Failure, R>(effect).pipe(
    Effect.catchIf((e): e is Failure => e._tag !== "InternalError", answer)
  ) as Effect.Effect<A, AnswerOf<E>, R>
