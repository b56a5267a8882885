import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { BookingService } from "../../app/BookingService.js"
import type { Booking } from "../../store/Bookings.js"
import { AlmanacApi } from "../Api.js"
import { CurrentUser } from "../Auth.js"
import { BookingView } from "../groups/Bookings.js"
import { iso } from "./internal.js"
import { answered } from "./SchedulingErrors.js"

const view = (b: Booking): typeof BookingView.Type => ({
  id: b.id,
  calendarId: b.calendarId,
  uid: b.uid,
  href: b.href,
  status: b.status,
  summary: b.summary,
  start: iso(b.startAt),
  end: iso(b.endAt),
  createdAt: iso(b.createdAt),
  updatedAt: iso(b.updatedAt)
})

const encode = Schema.encode(BookingView)

export const bookingsLayer = HttpApiBuilder.group(AlmanacApi, "bookings", (handlers) =>
  Effect.gen(function* () {
    const service = yield* BookingService
    return handlers
      .handle("createBooking", ({ headers, payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          const result = yield* service.create(user.id, {
            ...payload,
            idempotencyKey: headers["idempotency-key"]
          })
          if (result.created) return view(result.booking)
          // A replay: the earlier request's booking, said so in the status and a header.
          const body = yield* encode(view(result.booking)).pipe(Effect.orDie)
          return yield* HttpServerResponse.json(body, {
            status: 200,
            headers: { "idempotent-replayed": "true" }
          }).pipe(Effect.orDie)
        }).pipe(answered)
      )
      .handle("getBooking", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return view(yield* service.get(user.id, path.id))
        }).pipe(answered)
      )
      .handle("rescheduleBooking", ({ path, payload }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return view(yield* service.reschedule(user.id, path.id, payload))
        }).pipe(answered)
      )
      .handle("cancelBooking", ({ path }) =>
        Effect.gen(function* () {
          const user = yield* CurrentUser
          return view(yield* service.cancel(user.id, path.id))
        }).pipe(answered)
      )
  })
)
