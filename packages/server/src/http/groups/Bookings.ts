/**
 * Bookings for scheduling tools: create (the event is written to one of the user's calendars),
 * read, reschedule and cancel. Creating needs an Idempotency-Key header, so that a retried
 * request never books twice.
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { BadRequest, Conflict, InternalError, NotFound, Unprocessable, UpstreamFailed } from "../ApiError.js"
import { Authentication } from "../Auth.js"
import { strict } from "../Payload.js"

const Instant = (what: string) =>
  Schema.String.annotations({
    description: `${what}, ISO 8601 with Z or an offset (e.g. 2026-11-23T10:00:00+01:00)`
  })

export const BookingView = Schema.Struct({
  id: Schema.String,
  calendarId: Schema.String,
  uid: Schema.String.annotations({ description: "the UID of the event on the calendar" }),
  href: Schema.String.annotations({ description: "the URL of the event on the calendar server" }),
  status: Schema.Literal("pending", "booked", "cancelled").annotations({
    description:
      "pending: recorded, the event is not confirmed on the calendar yet (retry the create with the same key to complete it)"
  }),
  summary: Schema.String,
  start: Schema.String.annotations({ description: "UTC, ISO 8601" }),
  end: Schema.String.annotations({ description: "UTC, ISO 8601" }),
  createdAt: Schema.String,
  updatedAt: Schema.String
}).annotations({ identifier: "Booking" })

export const CreateBooking = Schema.Struct({
  calendarId: Schema.String.annotations({ description: "one of your calendars" }),
  start: Instant("start"),
  end: Instant("end (after start)"),
  summary: Schema.String,
  description: Schema.optional(Schema.String),
  location: Schema.optional(Schema.String),
  attendees: Schema.optional(
    Schema.Array(Schema.String).annotations({
      description:
        "e-mail addresses, written with SCHEDULE-AGENT=CLIENT: the calendar server sends no invitations"
    })
  ),
  timeZone: Schema.optional(
    Schema.String.annotations({
      description: "IANA zone for the event's times (e.g. Europe/Berlin); UTC by default"
    })
  )
})

export const Reschedule = Schema.Struct({
  start: Instant("new start"),
  end: Instant("new end (after start)"),
  summary: Schema.optional(Schema.String.annotations({ description: "a new summary; kept when left out" }))
})

const IdempotencyHeader = Schema.Struct({
  "idempotency-key": Schema.optional(
    Schema.String.annotations({
      description:
        "required: a unique value per booking (e.g. a UUID), sent again unchanged when retrying; the same key with a different body is refused (409)"
    })
  )
})

const BookingPath = Schema.Struct({ id: Schema.String })

export class BookingsGroup extends HttpApiGroup.make("bookings")
  .add(
    HttpApiEndpoint.post("createBooking", "/bookings")
      .setHeaders(IdempotencyHeader)
      .setPayload(strict(CreateBooking))
      .addSuccess(BookingView, { status: 201 })
      .addSuccess(
        BookingView.annotations({
          identifier: "ReplayedBooking",
          description: "the key was seen before: the booking of that request, no new event"
        }),
        { status: 200 }
      )
      .annotate(OpenApi.Summary, "Book: write an event to one of your calendars")
      .annotate(
        OpenApi.Description,
        "Idempotent by the Idempotency-Key header: the same key and body again return the same booking (200, header Idempotent-Replayed) and never write a second event, also when the first request failed half-way (a pending booking is completed). The same key with another body is a 409."
      )
  )
  .add(
    HttpApiEndpoint.get("getBooking", "/bookings/:id")
      .setPath(BookingPath)
      .addSuccess(BookingView)
      .annotate(OpenApi.Summary, "One booking")
  )
  .add(
    HttpApiEndpoint.patch("rescheduleBooking", "/bookings/:id")
      .setPath(BookingPath)
      .setPayload(strict(Reschedule))
      .addSuccess(BookingView)
      .annotate(OpenApi.Summary, "Reschedule a booking")
      .annotate(
        OpenApi.Description,
        "Moves the event (in its own time zone) with If-Match. Changes someone made to the event on the calendar are kept: when its version changed, it is read again and the move retried once; if it keeps changing, 409. A cancelled booking, or one whose event was deleted on the calendar, is a 409."
      )
  )
  .add(
    HttpApiEndpoint.del("cancelBooking", "/bookings/:id")
      .setPath(BookingPath)
      .addSuccess(BookingView)
      .annotate(OpenApi.Summary, "Cancel a booking: its event is deleted (already gone is fine)")
  )
  .addError(BadRequest)
  .addError(NotFound)
  .addError(Conflict)
  .addError(Unprocessable)
  .addError(UpstreamFailed)
  .addError(InternalError)
  .middleware(Authentication)
  .annotate(
    OpenApi.Description,
    "Events written for scheduling tools: create (idempotent), reschedule and cancel a booking on one of your calendars."
  ) {}
