import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { type Answer, FreeBusyService } from "../../app/FreeBusyService.js"
import { AlmanacApi } from "../Api.js"
import { CurrentUser } from "../Auth.js"
import { answered } from "./SchedulingErrors.js"

const view = (a: Answer) => ({
  start: a.window.start.toISOString(),
  end: a.window.end.toISOString(),
  zone: a.zone,
  busy: a.busy.map((i) => ({ start: i.start.toISOString(), end: i.end.toISOString() })),
  calendars: a.calendars.map((c) => ({
    id: c.id,
    accountId: c.accountId,
    displayName: Option.getOrNull(c.displayName)
  })),
  skipped: { count: a.skipped.length, items: a.skipped }
})

/** Query parameters allow `calendarIds=a&calendarIds=b` and `calendarIds=a,b`. */
const idsOf = (ids: string | ReadonlyArray<string> | undefined) =>
  ids === undefined ? undefined : (typeof ids === "string" ? [ids] : ids).flatMap((i) => i.split(","))

export const freeBusyLayer = HttpApiBuilder.group(AlmanacApi, "freebusy", (handlers) =>
  Effect.gen(function* () {
    const service = yield* FreeBusyService
    return handlers
      .handle("accountFreeBusy", ({ path, urlParams }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const answer = yield* service.forAccount(user.id, path.accountId, {
            ...urlParams,
            calendarIds: idsOf(urlParams.calendarIds)
          })
          return view(answer)
        }).pipe(answered)
      )
      .handle("accountFreeBusyQuery", ({ path, payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return view(yield* service.forAccount(user.id, path.accountId, payload))
        }).pipe(answered)
      )
      .handle("freeBusy", ({ payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return view(yield* service.forUser(user.id, payload))
        }).pipe(answered)
      )
  })
)
