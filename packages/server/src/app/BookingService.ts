/**
 * Bookings for scheduling tools: an event written to one of the user's calendars, moved and
 * cancelled later, never twice for one request, on any provider (CalDAV, Google, Microsoft)
 * through the engine's provider port. A client's Idempotency-Key names the request; the booking
 * is recorded as pending before its event is created under the booking's own creation key (its
 * UID), so a retry after any failure finds the record and completes it — a create under the same
 * key meets the event already there (AlreadyExists) and adopts it — instead of writing a second
 * event, and two identical requests racing each other meet at the unique key or at the
 * provider's create. Changes to the event are conditional on its version; when it changed on the
 * calendar meanwhile, it is read again and the change retried once, as docs/design.md says for
 * writes. Attendees are written only where the provider keeps them without inviting anyone
 * (CalDAV, SCHEDULE-AGENT=CLIENT); Google and Microsoft calendars get the event without them.
 */
import { createHash, randomUUID } from "node:crypto"
import { CalendarProvider, ConditionalWrite, EventModel, ProviderError, type SyncStore } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Context, Effect, Either, Layer, Option } from "effect"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import { type Booking, Bookings } from "../store/Bookings.js"
import { AccountClients, type ProviderFailure } from "./AccountClients.js"
import * as Input from "./Input.js"
import {
  CalendarFailed,
  type ConflictReason,
  type Field,
  InvalidRequest,
  Missing,
  type RequestProblem,
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

const text = (field: Field, value: string | undefined, max: number, problems: Array<RequestProblem>) => {
  if (value === undefined) return Option.none<string>()
  if (value.length > max) problems.push({ reason: "TooLong", field, max })
  return value.trim() === "" ? Option.none<string>() : Option.some(value)
}

const readCreate = (r: CreateRequest): Either.Either<ValidCreate, InvalidRequest> => {
  const problems: Array<RequestProblem> = []
  const key = r.idempotencyKey ?? ""
  if (key === "") problems.push({ reason: "Required", field: "Idempotency-Key" })
  else if (key.length > MAX_KEY || !/^[\x21-\x7e]+$/.test(key))
    problems.push({ reason: "BadKey", field: "Idempotency-Key", maxLength: MAX_KEY })
  const window = Input.window(r.start, r.end, MAX_DAYS)
  if (Either.isLeft(window)) problems.push(...window.left)
  const summary = r.summary.trim()
  if (summary === "") problems.push({ reason: "Blank", field: "summary" })
  if (summary.length > 1000) problems.push({ reason: "TooLong", field: "summary", max: 1000 })
  const description = text("description", r.description, 10_000, problems)
  const location = text("location", r.location, 1000, problems)
  const attendees = (r.attendees ?? []).map((a) => a.trim().replace(/^mailto:/i, ""))
  if (attendees.length > MAX_ATTENDEES)
    problems.push({ reason: "TooMany", field: "attendees", max: MAX_ATTENDEES })
  for (const a of attendees)
    if (!EMAIL.test(a)) problems.push({ reason: "NotAnEmail", field: "attendees", given: a })
  const timeZone = Option.fromNullable(r.timeZone)
  if (Option.isSome(timeZone) && !Input.isZone(timeZone.value))
    problems.push({ reason: "UnknownZone", field: "timeZone", given: timeZone.value })
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

/** A port error in words for the edge (ProviderError classes carry data, not messages). */
const failureOf = (e: { readonly _tag: string }): ProviderFailure => ({
  _tag: e._tag,
  message:
    "detail" in e && typeof e.detail === "string"
      ? e.detail
      : "ref" in e && typeof e.ref === "string"
        ? `${e._tag} at ${e.ref}`
        : e._tag
})

type Found = Extract<CalendarProvider.Fetched, { _tag: "Found" | "Bad" }>

/** Why `booking` cannot be acted on as asked, with what the edges need to say so. */
const conflict = (booking: Booking, reason: ConflictReason, detail?: string) =>
  new StateConflict({
    reason,
    bookingId: booking.id,
    calendarId: booking.calendarId,
    ...(detail === undefined ? {} : { detail })
  })

export const make: Effect.Effect<
  BookingServiceShape,
  never,
  Bookings | Accounts | AccountClients | CalendarProvider.ProviderRegistry
> = Effect.gen(function* () {
  const bookings = yield* Bookings
  const accounts = yield* Accounts
  const clients = yield* AccountClients
  const registry = yield* CalendarProvider.ProviderRegistry

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
          onNone: () => Effect.fail(conflict(booking, "CalendarDisconnected")),
          onSome: Effect.succeed
        })
      )
    )

  const session = (calendar: CalendarInfo) =>
    Effect.gen(function* () {
      // Before the provider reads the credential: its refusals park the account only if it did not
      // resume since (the session's requests all go out on the credential read now).
      const startedAt = Date.now()
      const upstream = (e: { readonly _tag: string }) =>
        clients.providerFailure(calendar, startedAt)(failureOf(e))
      const account = yield* accounts.byId(calendar.accountId)
      if (Option.isNone(account)) return yield* new Missing({ what: `calendar ${calendar.id}` })
      const provider = yield* registry
        .open({ ref: calendar.url, accountId: calendar.accountId, kind: account.value.kind })
        .pipe(Effect.catchAll(upstream))
      if (!CalendarProvider.acceptsCopies(provider.capabilities))
        return yield* new InvalidRequest({
          problems: [{ reason: "ReadOnlyCalendar", field: "calendarId", calendarId: calendar.id }]
        })
      /** A conditional write's answer: done, refused as stale, or the event is not there. */
      const conditional = <A>(write: Effect.Effect<A, CalendarProvider.WriteError>) =>
        write.pipe(
          Effect.map((value): Outcome<A> => ({ _tag: "Done", value })),
          Effect.catchTag("EtagMismatch", () => Effect.succeed<Outcome<A>>({ _tag: "Stale" })),
          Effect.catchTag("NotFound", () => Effect.succeed<Outcome<A>>({ _tag: "Gone" })),
          Effect.catchAll(upstream)
        )
      return { provider, upstream, conditional }
    })
  type Session = Effect.Effect.Success<ReturnType<typeof session>>

  /** The event now, or none when it is not (or no longer) on the calendar. */
  const current = (s: Session, ref: string) =>
    s.provider.fetch([ref]).pipe(
      Effect.catchAll(s.upstream),
      Effect.map((fetched) => Option.fromNullable(fetched.find((f): f is Found => f._tag !== "Missing")))
    )

  /** A calendar failure while a booking is pending: the words say how to complete it. */
  const notePending =
    (booking: Booking) =>
    <A, E, R>(self: Effect.Effect<A, E, R>) =>
      Effect.catchIf(
        self,
        (e): e is Extract<E, CalendarFailed> => e instanceof CalendarFailed,
        (e) =>
          Effect.fail(
            new CalendarFailed({
              calendarId: e.calendarId,
              calendarName: e.calendarName,
              detail: e.detail,
              pendingBookingId: booking.id
            })
          )
      )

  /**
   * Creates the event under the booking's key; if the key is taken, an earlier attempt of the
   * same booking (or a concurrent one) wrote it first, and that event is the booking's.
   */
  const writeOnce = (s: Session, booking: Booking, v: ValidCreate) =>
    Effect.gen(function* () {
      const resource = s.provider.normalize(eventOf(booking.uid, v))
      const written = yield* s.provider.create(booking.uid, resource).pipe(
        Effect.map((w) => ({ _tag: "Written" as const, ...w })),
        Effect.catchTag("AlreadyExists", (e) => Effect.succeed({ _tag: "Taken" as const, ref: e.ref })),
        Effect.catchAll(s.upstream),
        notePending(booking)
      )
      if (written._tag === "Written")
        return yield* bookings.markBooked(booking.id, written.ref, written.version)
      const there = yield* current(s, written.ref).pipe(notePending(booking))
      if (Option.isNone(there)) return yield* conflict(booking, "RemovedWhileWriting")
      return yield* bookings.markBooked(booking.id, there.value.ref, there.value.version)
    })

  /** A pending booking of an earlier attempt: completed by creating again (an event already there is adopted). */
  const recover = writeOnce

  const replay = (userId: string, booking: Booking, v: ValidCreate) =>
    Effect.gen(function* () {
      if (booking.requestHash !== v.hash) return yield* conflict(booking, "KeyReused")
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
      // Where its event was seen before (a ref recorded), it may be there still.
      const there = booking.href === "" ? Option.none() : yield* current(s, booking.href)
      if (Option.isSome(there))
        return yield* bookings.markBooked(booking.id, there.value.ref, there.value.version)
      return yield* conflict(booking, "StillPending")
    })

  const notCancelled = (booking: Booking, reason: "Cancelled" | "AlreadyCancelled") =>
    booking.status === "cancelled" ? Effect.fail(conflict(booking, reason)) : Effect.void

  /** The event as stored, moved to the new time (in its own zone) and with SEQUENCE raised. */
  const moved = (
    found: Found,
    booking: Booking,
    startAt: number,
    endAt: number,
    summary: Option.Option<string>
  ) =>
    Effect.gen(function* () {
      if (found._tag === "Bad") return yield* conflict(booking, "EventUnreadable", found.reason)
      const resource = found.resource
      if (Option.isNone(resource.master)) return yield* conflict(booking, "NoMainEvent")
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

  const gone = (booking: Booking) => conflict(booking, "EventDeleted")

  const busyElsewhere = (booking: Booking) => conflict(booking, "EventKeptChanging")

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
          // The provider names the event when it is created (a Google or Graph id, a CalDAV href).
          href: "",
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
        const problems: Array<RequestProblem> = Either.isLeft(window) ? [...window.left] : []
        const summary = Option.map(Option.fromNullable(request.summary), (t) => t.trim())
        if (Option.exists(summary, (t) => t === ""))
          problems.push({ reason: "BlankChange", field: "summary" })
        if (Either.isLeft(window) || problems.length > 0) return yield* new InvalidRequest({ problems })
        const startAt = wholeSeconds(window.right.start)
        const endAt = wholeSeconds(window.right.end)
        const found = yield* owned(userId, id)
        yield* notCancelled(found, "Cancelled")
        const s = yield* session(yield* calendarOf(found))
        const booking = yield* settled(s, found)
        // Conditional on the version the booking knows: a change made on the calendar since
        // (by a person, or a server that re-tagged the event) comes back as 412 and takes the
        // one read-again-and-retry that docs/design.md gives every write.
        const attempt = (known: { readonly etag: string; readonly item: Found }) =>
          Effect.gen(function* () {
            const resource = s.provider.normalize(yield* moved(known.item, booking, startAt, endAt, summary))
            const outcome = yield* s.conditional(s.provider.update(booking.href, known.etag, resource))
            if (outcome._tag === "Stale") return yield* new ProviderError.EtagMismatch({ ref: booking.href })
            return { outcome, resource }
          })
        const fetched = yield* current(s, booking.href)
        if (Option.isNone(fetched)) return yield* gone(booking)
        const written = yield* ConditionalWrite.retryOnce({
          known: { etag: Option.getOrElse(booking.etag, () => fetched.value.version), item: fetched.value },
          attempt,
          refetch: Effect.logInfo(
            "a booked event changed on the calendar; rescheduling its new version",
            booking.id
          ).pipe(
            Effect.zipRight(current(s, booking.href)),
            Effect.map(Option.map((item) => ({ etag: item.version, item })))
          ),
          onGone: Effect.fail(gone(booking))
        }).pipe(Effect.catchTag("EtagMismatch", () => Effect.fail(busyElsewhere(booking))))
        if (written.outcome._tag === "Gone") return yield* gone(booking)
        const etag = written.outcome.value.version
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
        yield* notCancelled(found, "AlreadyCancelled")
        const s = yield* session(yield* calendarOf(found))
        const booking = yield* settled(s, found)
        // Already gone (404) is what a cancellation wants: fine, never an error.
        const remove = (etag: string) =>
          s
            .conditional(s.provider.remove(booking.href, etag))
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
          refetch: current(s, booking.href).pipe(Effect.map(Option.map((item) => item.version))),
          onGone: Effect.void
        }).pipe(Effect.catchTag("EtagMismatch", () => Effect.fail(busyElsewhere(booking))))
        yield* Effect.logInfo("booking cancelled", booking.id)
        return yield* bookings.markCancelled(booking.id)
      })
  }
})

export const layer: Layer.Layer<
  BookingService,
  never,
  Bookings | Accounts | AccountClients | CalendarProvider.ProviderRegistry
> = Layer.effect(BookingService, make)
