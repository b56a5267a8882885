/**
 * Bookings for scheduling tools: an event written to one of the user's calendars, moved and
 * cancelled later, never twice for one request. A client's Idempotency-Key names the request;
 * the booking is recorded as pending before its PUT (If-None-Match: *, at an href chosen up
 * front), so a retry after any failure finds the record and completes it instead of writing a
 * second event, and two identical requests racing each other meet at the unique key or at the
 * server's precondition. Changes to the event are conditional (If-Match); when it changed on the
 * calendar meanwhile, it is read again and the change retried once, as docs/design.md says for writes.
 */
import { createHash, randomUUID } from "node:crypto"
import type { CalDavClient, CalDavError } from "@almanac/caldav"
import { ConditionalWrite, EventModel, ProviderError, type SyncStore } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Context, Effect, Either, Layer, Option } from "effect"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import { type Booking, Bookings } from "../store/Bookings.js"
import { AccountClients } from "./AccountClients.js"
import * as Input from "./Input.js"
import {
  CalendarFailed,
  InvalidRequest,
  Missing,
  StateConflict,
  type UpstreamError
} from "./SchedulingError.js"

export interface CreateRequest {
  readonly idempotencyKey: string | undefined
  readonly calendarId: string
  readonly start: string
  readonly end: string
  readonly summary: string
  readonly description?: string | undefined
  readonly location?: string | undefined
  /** E-mail addresses; written with SCHEDULE-AGENT=CLIENT so that no server sends invitations. */
  readonly attendees?: ReadonlyArray<string> | undefined
  /** IANA zone for DTSTART/DTEND; UTC when absent. */
  readonly timeZone?: string | undefined
}

export interface RescheduleRequest {
  readonly start: string
  readonly end: string
  readonly summary?: string | undefined
}

export interface Created {
  readonly booking: Booking
  /** False when the key had been seen: the booking of the earlier request, no new event. */
  readonly created: boolean
}

type Outcome<A> =
  | { readonly _tag: "Done"; readonly value: A }
  | { readonly _tag: "Stale" }
  | { readonly _tag: "Gone" }

type Failure = InvalidRequest | Missing | StateConflict | UpstreamError | SyncStore.StoreError

export interface BookingServiceShape {
  readonly create: (userId: string, request: CreateRequest) => Effect.Effect<Created, Failure>
  readonly get: (userId: string, id: string) => Effect.Effect<Booking, Missing | SyncStore.StoreError>
  readonly reschedule: (
    userId: string,
    id: string,
    request: RescheduleRequest
  ) => Effect.Effect<Booking, Failure>
  readonly cancel: (userId: string, id: string) => Effect.Effect<Booking, Failure>
}

export class BookingService extends Context.Tag("@almanac/server/BookingService")<
  BookingService,
  BookingServiceShape
>() {}

export const MAX_DAYS = 366
const MAX_KEY = 255
const MAX_ATTENDEES = 100
const EMAIL = /^[^\s@<>",;:]+@[^\s@<>",;:]+\.[^\s@<>",;:]+$/

interface ValidCreate {
  readonly key: string
  readonly hash: string
  readonly calendarId: string
  readonly startAt: number
  readonly endAt: number
  readonly summary: string
  readonly description: Option.Option<string>
  readonly location: Option.Option<string>
  readonly attendees: ReadonlyArray<string>
  readonly timeZone: Option.Option<string>
}

/** DTSTART has whole seconds: what is booked is what is written. */
const wholeSeconds = (d: Date) => Math.floor(d.getTime() / 1000) * 1000

const text = (field: string, value: string | undefined, max: number, problems: Array<string>) => {
  if (value === undefined) return Option.none<string>()
  if (value.length > max) problems.push(`${field}: at most ${max} characters`)
  return value.trim() === "" ? Option.none<string>() : Option.some(value)
}

const readCreate = (r: CreateRequest): Either.Either<ValidCreate, InvalidRequest> => {
  const problems: Array<string> = []
  const key = r.idempotencyKey ?? ""
  if (key === "")
    problems.push(
      "Idempotency-Key header: required; send a fresh unique value (e.g. a UUID) per booking and the same value when retrying it"
    )
  else if (key.length > MAX_KEY || !/^[\x21-\x7e]+$/.test(key))
    problems.push(`Idempotency-Key header: 1 to ${MAX_KEY} visible ASCII characters, no spaces`)
  const window = Input.window(r.start, r.end, MAX_DAYS)
  if (Either.isLeft(window)) problems.push(...window.left)
  const summary = r.summary.trim()
  if (summary === "") problems.push("summary: must not be empty")
  if (summary.length > 1000) problems.push("summary: at most 1000 characters")
  const description = text("description", r.description, 10_000, problems)
  const location = text("location", r.location, 1000, problems)
  const attendees = (r.attendees ?? []).map((a) => a.trim().replace(/^mailto:/i, ""))
  if (attendees.length > MAX_ATTENDEES) problems.push(`attendees: at most ${MAX_ATTENDEES}`)
  for (const a of attendees) if (!EMAIL.test(a)) problems.push(`attendees: "${a}" is not an e-mail address`)
  const timeZone = Option.fromNullable(r.timeZone)
  if (Option.isSome(timeZone) && !Input.isZone(timeZone.value))
    problems.push(`timeZone: "${timeZone.value}" is not an IANA time zone (e.g. Europe/Berlin)`)
  if (Either.isLeft(window) || problems.length > 0) return Either.left(new InvalidRequest({ problems }))
  const startAt = wholeSeconds(window.right.start)
  const endAt = wholeSeconds(window.right.end)
  const content = {
    calendarId: r.calendarId,
    startAt,
    endAt,
    summary,
    description: Option.getOrNull(description),
    location: Option.getOrNull(location),
    attendees,
    timeZone: Option.getOrNull(timeZone)
  }
  // Hashed as read, not as sent: the same instants with Z or an offset, or the JSON members in
  // another order, are the same request.
  const hash = createHash("sha256").update(JSON.stringify(content)).digest("hex")
  return Either.right({ key, hash, ...content, description, location, timeZone })
}

type Resolver = ReturnType<typeof ICalCodec.zoneResolver>

/** The instant as wall-clock time in `tzid` (resolved by `resolve`), or in UTC where that zone is unknown. */
const at = (ms: number, tzid: Option.Option<string>, resolve: Resolver): EventModel.DateValue => {
  const zone = Option.flatMapNullable(tzid, resolve)
  const wall = new Date(Option.match(zone, { onNone: () => ms, onSome: (z) => ms + z.offsetAt(ms) }))
  const fields = [
    wall.getUTCFullYear(),
    wall.getUTCMonth() + 1,
    wall.getUTCDate(),
    wall.getUTCHours(),
    wall.getUTCMinutes(),
    wall.getUTCSeconds()
  ] as const
  return Option.isSome(zone) && Option.isSome(tzid)
    ? EventModel.zoned(tzid.value, ...fields)
    : EventModel.utc(...fields)
}

/** A resolver with no definitions of its own: the platform's IANA database. */
const ianaZones: Resolver = ICalCodec.zoneResolver({
  uid: "none",
  master: Option.none(),
  overrides: [],
  timezones: [],
  origin: Option.none()
})

const eventOf = (uid: string, v: ValidCreate): EventModel.EventResource =>
  EventModel.makeResource(
    EventModel.makeEvent({
      uid,
      start: at(v.startAt, v.timeZone, ianaZones),
      end: at(v.endAt, v.timeZone, ianaZones),
      summary: Option.some(v.summary),
      description: v.description,
      location: v.location,
      status: Option.some("CONFIRMED"),
      attendees: v.attendees.map((address) => ({
        address: `mailto:${address}`,
        name: Option.none(),
        scheduleAgent: Option.some("CLIENT")
      }))
    })
  )

const within = (calendarUrl: string, name: string) =>
  new URL(encodeURIComponent(name), calendarUrl.endsWith("/") ? calendarUrl : `${calendarUrl}/`).href

export const make: Effect.Effect<BookingServiceShape, never, Bookings | Accounts | AccountClients> =
  Effect.gen(function* () {
    const bookings = yield* Bookings
    const accounts = yield* Accounts
    const clients = yield* AccountClients

    const owned = (userId: string, id: string) =>
      bookings.get(userId, id).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () => Effect.fail(new Missing({ what: `booking ${id}` })),
            onSome: Effect.succeed
          })
        )
      )

    /** The booking's calendar, as long as it is still connected. */
    const calendarOf = (booking: Booking) =>
      accounts.calendarOf(booking.userId, booking.calendarId).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () =>
              Effect.fail(
                new StateConflict({
                  detail: `the calendar of booking ${booking.id} is no longer connected, so its event cannot be changed here`
                })
              ),
            onSome: Effect.succeed
          })
        )
      )

    const session = (calendar: CalendarInfo) =>
      Effect.map(clients.clientFor(calendar.accountId), (client) => {
        const upstream = clients.failure(calendar)
        /** A conditional write's answer: done, refused as stale (412), or the event is not there (404). */
        const conditional = <A>(write: Effect.Effect<A, CalDavError.CalDavError>) =>
          write.pipe(
            Effect.map((value): Outcome<A> => ({ _tag: "Done", value })),
            Effect.catchTag("EtagMismatch", () => Effect.succeed<Outcome<A>>({ _tag: "Stale" })),
            Effect.catchTag("NotFound", () => Effect.succeed<Outcome<A>>({ _tag: "Gone" })),
            Effect.catchAll(upstream)
          )
        return { client, upstream, conditional }
      })
    type Session = Effect.Effect.Success<ReturnType<typeof session>>

    /** The event now, or none when it is not (or no longer) on the calendar. */
    const current = (s: Session, href: string) =>
      s.client.get(href).pipe(
        Effect.map(Option.some),
        Effect.catchTag("NotFound", () => Effect.succeed(Option.none<CalDavClient.Item>())),
        Effect.catchAll(s.upstream)
      )

    /** PUT If-None-Match: *; if the href is taken, a concurrent request of the same booking wrote it first. */
    const writeOnce = (s: Session, booking: Booking, v: ValidCreate) =>
      Effect.gen(function* () {
        const data = ICalCodec.serialize(eventOf(booking.uid, v))
        const written = yield* s.client.put(booking.href, data, { _tag: "Create" }).pipe(
          Effect.map((w) => Option.some(w.etag)),
          Effect.catchTag("EtagMismatch", () => Effect.succeed(Option.none<string>())),
          Effect.catchAll(s.upstream),
          Effect.mapError((e) =>
            e._tag === "CalendarFailed"
              ? new CalendarFailed({
                  calendarId: e.calendarId,
                  calendarName: e.calendarName,
                  detail: `${e.detail}; booking ${booking.id} is recorded as pending: send the same request with the same Idempotency-Key again to complete it`
                })
              : e
          )
        )
        if (Option.isSome(written)) return yield* bookings.markBooked(booking.id, written.value)
        const there = yield* current(s, booking.href)
        if (Option.isNone(there))
          return yield* new StateConflict({
            detail: `the event of booking ${booking.id} was removed while it was being written; retry the request`
          })
        return yield* bookings.markBooked(booking.id, there.value.etag)
      })

    /** A pending booking of an earlier attempt: its event if it got written, else written now. */
    const recover = (s: Session, booking: Booking, v: ValidCreate) =>
      Effect.gen(function* () {
        const there = yield* current(s, booking.href)
        if (Option.isSome(there)) return yield* bookings.markBooked(booking.id, there.value.etag)
        return yield* writeOnce(s, booking, v)
      })

    const replay = (userId: string, booking: Booking, v: ValidCreate) =>
      Effect.gen(function* () {
        if (booking.requestHash !== v.hash)
          return yield* new StateConflict({
            detail: `this Idempotency-Key was already used for a different booking request (booking ${booking.id}); send a new key for a new booking, or the same body to get that booking again`
          })
        if (booking.status !== "pending") return { booking, created: false }
        const calendar = yield* accounts.calendarOf(userId, booking.calendarId)
        if (Option.isNone(calendar)) return yield* new Missing({ what: `calendar ${booking.calendarId}` })
        const s = yield* session(calendar.value)
        return { booking: yield* recover(s, booking, v), created: false }
      })

    /**
     * A pending booking must reach the calendar before it can be changed: if the event is there,
     * the booking is completed with it; if not, only a retry of the create (which carries the
     * content) can write it.
     */
    const settled = (s: Session, booking: Booking) =>
      Effect.gen(function* () {
        if (booking.status !== "pending") return booking
        const there = yield* current(s, booking.href)
        if (Option.isSome(there)) return yield* bookings.markBooked(booking.id, there.value.etag)
        return yield* new StateConflict({
          detail: `booking ${booking.id} is still pending: its event is not on the calendar yet; retry the create request with the same Idempotency-Key to complete it first`
        })
      })

    const notCancelled = (booking: Booking, action: string) =>
      booking.status === "cancelled"
        ? Effect.fail(
            new StateConflict({ detail: `booking ${booking.id} is cancelled and cannot be ${action}` })
          )
        : Effect.void

    /** The event as stored, moved to the new time (in its own zone) and with SEQUENCE raised. */
    const moved = (
      item: CalDavClient.Item,
      booking: Booking,
      startAt: number,
      endAt: number,
      summary: Option.Option<string>
    ) =>
      Effect.gen(function* () {
        const unreadable = (why: string) =>
          new StateConflict({
            detail: `the event of booking ${booking.id} was changed on the calendar into something that cannot be rescheduled: ${why}`
          })
        const resource = yield* ICalCodec.parse(item.data, { href: item.href }).pipe(
          Effect.mapError((e) => unreadable(e.reason))
        )
        if (Option.isNone(resource.master)) return yield* unreadable("it has no main event")
        const master = resource.master.value
        const resolve = ICalCodec.zoneResolver(resource)
        const start = at(startAt, EventModel.tzidOf(master.start), resolve)
        const end = at(endAt, EventModel.tzidOf(master.start), resolve)
        const next: EventModel.VEvent = {
          ...master,
          start,
          end,
          allDay: false,
          summary: Option.orElse(summary, () => master.summary),
          sequence: master.sequence + 1
        }
        return { ...resource, master: Option.some(next) }
      })

    const gone = (booking: Booking) =>
      new StateConflict({
        detail: `the event of booking ${booking.id} was deleted from the calendar outside Almanac; make a new booking`
      })

    const busyElsewhere = (booking: Booking) =>
      new StateConflict({
        detail: `the event of booking ${booking.id} kept changing on the calendar while this request ran; try again`
      })

    return {
      create: (userId, request) =>
        Effect.gen(function* () {
          const v = yield* readCreate(request)
          const earlier = yield* bookings.byKey(userId, v.key)
          if (Option.isSome(earlier)) return yield* replay(userId, earlier.value, v)
          const calendar = yield* accounts.calendarOf(userId, v.calendarId)
          if (Option.isNone(calendar)) return yield* new Missing({ what: `calendar ${v.calendarId}` })
          const s = yield* session(calendar.value)
          const uid = `almanac-booking-${randomUUID()}`
          const claim = yield* bookings.claim(v.key, {
            id: randomUUID(),
            userId,
            calendarId: v.calendarId,
            uid,
            href: within(calendar.value.url, `${uid}.ics`),
            summary: v.summary,
            startAt: v.startAt,
            endAt: v.endAt,
            requestHash: v.hash
          })
          if (claim._tag === "Existing") return yield* replay(userId, claim.booking, v)
          yield* Effect.logInfo("booking", claim.booking.id, "calendar", v.calendarId)
          return { booking: yield* writeOnce(s, claim.booking, v), created: true }
        }),

      get: owned,

      reschedule: (userId, id, request) =>
        Effect.gen(function* () {
          const window = Input.window(request.start, request.end, MAX_DAYS)
          const problems = Either.isLeft(window) ? [...window.left] : []
          const summary = Option.map(Option.fromNullable(request.summary), (t) => t.trim())
          if (Option.exists(summary, (t) => t === ""))
            problems.push("summary: leave it out to keep it, or send text")
          if (Either.isLeft(window) || problems.length > 0) return yield* new InvalidRequest({ problems })
          const startAt = wholeSeconds(window.right.start)
          const endAt = wholeSeconds(window.right.end)
          const found = yield* owned(userId, id)
          yield* notCancelled(found, "rescheduled")
          const s = yield* session(yield* calendarOf(found))
          const booking = yield* settled(s, found)
          // Conditional on the version the booking knows: a change made on the calendar since
          // (by a person, or a server that re-tagged the event) comes back as 412 and takes the
          // one read-again-and-retry that docs/design.md gives every write.
          const attempt = (known: { readonly etag: string; readonly item: CalDavClient.Item }) =>
            Effect.gen(function* () {
              const resource = yield* moved(known.item, booking, startAt, endAt, summary)
              const data = ICalCodec.serialize(resource)
              const outcome = yield* s.conditional(
                s.client.put(booking.href, data, { _tag: "Update", etag: known.etag })
              )
              if (outcome._tag === "Stale")
                return yield* new ProviderError.EtagMismatch({ ref: booking.href })
              return { outcome, resource }
            })
          const fetched = yield* current(s, booking.href)
          if (Option.isNone(fetched)) return yield* gone(booking)
          const written = yield* ConditionalWrite.retryOnce({
            known: { etag: Option.getOrElse(booking.etag, () => fetched.value.etag), item: fetched.value },
            attempt,
            refetch: Effect.logInfo(
              "a booked event changed on the calendar; rescheduling its new version",
              booking.id
            ).pipe(
              Effect.zipRight(current(s, booking.href)),
              Effect.map(Option.map((item) => ({ etag: item.etag, item })))
            ),
            onGone: Effect.fail(gone(booking))
          }).pipe(Effect.catchTag("EtagMismatch", () => Effect.fail(busyElsewhere(booking))))
          if (written.outcome._tag === "Gone") return yield* gone(booking)
          const etag = written.outcome.value.etag
          const summaryNow = Option.flatMap(written.resource.master, (m) => m.summary)
          return yield* bookings.rescheduled(booking.id, {
            startAt,
            endAt,
            summary: Option.getOrElse(summaryNow, () => booking.summary),
            etag
          })
        }),

      cancel: (userId, id) =>
        Effect.gen(function* () {
          const found = yield* owned(userId, id)
          yield* notCancelled(found, "cancelled again")
          const s = yield* session(yield* calendarOf(found))
          const booking = yield* settled(s, found)
          // Already gone (404) is what a cancellation wants: fine, never an error.
          const remove = (etag: string) =>
            s
              .conditional(s.client.remove(booking.href, etag))
              .pipe(
                Effect.flatMap((o) =>
                  o._tag === "Stale"
                    ? Effect.fail(new ProviderError.EtagMismatch({ ref: booking.href }))
                    : Effect.void
                )
              )
          yield* ConditionalWrite.retryOnce({
            known: Option.getOrElse(booking.etag, () => "*"),
            attempt: remove,
            refetch: current(s, booking.href).pipe(Effect.map(Option.map((item) => item.etag))),
            onGone: Effect.void
          }).pipe(Effect.catchTag("EtagMismatch", () => Effect.fail(busyElsewhere(booking))))
          yield* Effect.logInfo("booking cancelled", booking.id)
          return yield* bookings.markCancelled(booking.id)
        })
    }
  })

export const layer: Layer.Layer<BookingService, never, Bookings | Accounts | AccountClients> = Layer.effect(
  BookingService,
  make
)
