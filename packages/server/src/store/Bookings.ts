/**
 * Bookings written for scheduling tools, each owned by one user and found again by the client's
 * idempotency key. A row is written as "pending" before its event is PUT and becomes "booked"
 * after, so a crash in between leaves a record that a retry completes instead of writing a second
 * event; the unique index on (user_id, idempotency_key) lets only one of two concurrent identical
 * requests claim the key. Status changes are conditional on the status they leave, so two
 * requests racing on one booking cannot move it backwards.
 */
import { createHash } from "node:crypto"
import { SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Option, Schema } from "effect"

export const BookingStatus = Schema.Literal("pending", "booked", "cancelled")
export type BookingStatus = typeof BookingStatus.Type

export interface Booking {
  readonly id: string
  readonly userId: string
  readonly calendarId: string
  readonly uid: string
  /** Where the event lives (or will): chosen before the PUT, so a retry knows where to look. */
  readonly href: string
  readonly etag: Option.Option<string>
  readonly status: BookingStatus
  readonly summary: string
  readonly startAt: number
  readonly endAt: number
  readonly requestHash: string
  readonly createdAt: number
  readonly updatedAt: number
}

export type Claim =
  /** The key was free: this request owns the new pending booking. */
  | { readonly _tag: "Claimed"; readonly booking: Booking }
  /** The key was taken (now or just before, by a concurrent request): its booking. */
  | { readonly _tag: "Existing"; readonly booking: Booking }

export interface BookingsShape {
  /** The user's booking under this idempotency key, if any. */
  readonly byKey: (userId: string, key: string) => Effect.Effect<Option.Option<Booking>, SyncStore.StoreError>
  /** Records a pending booking under the key, unless the key is already taken. */
  readonly claim: (
    key: string,
    booking: Omit<Booking, "status" | "etag" | "createdAt" | "updatedAt">
  ) => Effect.Effect<Claim, SyncStore.StoreError>
  /** The booking if it exists and belongs to `userId`. */
  readonly get: (userId: string, id: string) => Effect.Effect<Option.Option<Booking>, SyncStore.StoreError>
  /** pending → booked with the ref and version of the written event; a booking no longer pending is left as is. */
  readonly markBooked: (id: string, ref: string, etag: string) => Effect.Effect<Booking, SyncStore.StoreError>
  /** A booked booking's new time, summary and etag. */
  readonly rescheduled: (
    id: string,
    change: {
      readonly startAt: number
      readonly endAt: number
      readonly summary: string
      readonly etag: string
    }
  ) => Effect.Effect<Booking, SyncStore.StoreError>
  readonly markCancelled: (id: string) => Effect.Effect<Booking, SyncStore.StoreError>
}

export class Bookings extends Context.Tag("@almanac/server/Bookings")<Bookings, BookingsShape>() {}

/**
 * Keys are stored hashed: the column is a 64-character key column (an index on SQL Server cannot
 * take more), while clients may send longer keys.
 */
export const keyDigest = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex")

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const OptStr = Schema.NullOr(Schema.String)
const BookingRow = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  request_hash: Schema.String,
  calendar_id: Schema.String,
  uid: Schema.String,
  href: OptStr,
  etag: OptStr,
  status: BookingStatus,
  summary: Schema.String,
  start_at: Num,
  end_at: Num,
  created_at: Num,
  updated_at: Num
})

const toBooking = (r: typeof BookingRow.Type): Booking => ({
  id: r.id,
  userId: r.user_id,
  calendarId: r.calendar_id,
  uid: r.uid,
  href: r.href ?? "",
  etag: Option.fromNullable(r.etag),
  status: r.status,
  summary: r.summary,
  startAt: r.start_at,
  endAt: r.end_at,
  requestHash: r.request_hash,
  createdAt: r.created_at,
  updatedAt: r.updated_at
})

export const make: Effect.Effect<BookingsShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const guard =
    (operation: string) =>
    <A, E extends { readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(Effect.mapError((e) => new SyncStore.StoreError({ operation, detail: e.message })))
  const decode = Schema.decodeUnknown(Schema.Array(BookingRow))
  const columns = sql`id, user_id, request_hash, calendar_id, uid, href, etag, status, summary, start_at, end_at, created_at, updated_at`
  const one = <E, R>(rows: Effect.Effect<ReadonlyArray<unknown>, E, R>) =>
    rows.pipe(
      Effect.flatMap(decode),
      Effect.map((r) => Option.map(Option.fromNullable(r[0]), toBooking))
    )

  const byId = (id: string) =>
    one(sql`SELECT ${columns} FROM bookings WHERE id = ${id}`).pipe(guard("read booking"))
  const byKey = (userId: string, key: string) =>
    one(
      sql`SELECT ${columns} FROM bookings WHERE user_id = ${userId} AND idempotency_key = ${keyDigest(key)}`
    ).pipe(guard("read booking"))
  const reread = (id: string) =>
    byId(id).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () =>
            Effect.fail(new SyncStore.StoreError({ operation: "read booking", detail: `${id} vanished` })),
          onSome: Effect.succeed
        })
      )
    )

  return {
    byKey,
    claim: (key, b) =>
      Effect.gen(function* () {
        const now = Date.now()
        const inserted =
          yield* sql`INSERT INTO bookings (id, user_id, idempotency_key, request_hash, calendar_id, uid, href, etag, status, summary, start_at, end_at, created_at, updated_at)
          VALUES (${b.id}, ${b.userId}, ${keyDigest(key)}, ${b.requestHash}, ${b.calendarId}, ${b.uid}, ${b.href}, ${null},
                  ${"pending"}, ${b.summary}, ${b.startAt}, ${b.endAt}, ${now}, ${now})`.pipe(Effect.either)
        if (inserted._tag === "Right") return { _tag: "Claimed", booking: yield* reread(b.id) } as const
        // Whatever the dialect calls a unique violation: if the key now has a row, someone else
        // claimed it first; if not, the insert failed for another reason, which is ours to report.
        const existing = yield* byKey(b.userId, key)
        if (Option.isSome(existing)) return { _tag: "Existing", booking: existing.value } as const
        return yield* new SyncStore.StoreError({ operation: "save booking", detail: inserted.left.message })
      }),
    get: (userId, id) =>
      Effect.map(
        byId(id),
        Option.filter((b) => b.userId === userId)
      ),
    markBooked: (id, ref, etag) =>
      sql`UPDATE bookings SET status = ${"booked"}, href = ${ref}, etag = ${etag}, updated_at = ${Date.now()}
        WHERE id = ${id} AND status = ${"pending"}`.pipe(guard("save booking"), Effect.zipRight(reread(id))),
    rescheduled: (id, c) =>
      sql`UPDATE bookings SET start_at = ${c.startAt}, end_at = ${c.endAt}, summary = ${c.summary}, etag = ${c.etag},
        updated_at = ${Date.now()} WHERE id = ${id} AND status = ${"booked"}`.pipe(
        guard("save booking"),
        Effect.zipRight(reread(id))
      ),
    markCancelled: (id) =>
      sql`UPDATE bookings SET status = ${"cancelled"}, updated_at = ${Date.now()}
        WHERE id = ${id} AND status <> ${"cancelled"}`.pipe(
        guard("save booking"),
        Effect.zipRight(reread(id))
      )
  }
})

export const layer: Layer.Layer<Bookings, never, SqlClient.SqlClient> = Layer.effect(Bookings, make)
