/**
 * The provider port over one Google calendar: `events.list` sync tokens for changes, the codec for
 * events, and series as the unit of sync.
 *
 * A series is its master's id (the ref) and ONE version for all its members: the master's etag and
 * a digest of the etags of its exceptions and cancelled instances (`g1:<master etag>:<digest>`).
 * A full listing has every member; a delta names only the members that changed, so each series a
 * delta touches is read whole (`get` of the master, and for a recurring one the members that share
 * its iCalUID) to report its exact version. An idle calendar costs one request: an incremental
 * list with no items is `Unchanged`.
 *
 * Writing a series writes the master first and then each exception under its instance id, each
 * with If-Match on what was read; an override the source dropped is written back as the plain
 * occurrence, and one that became an EXDATE is deleted (Google then keeps it as a cancelled
 * instance). Every step is a full replace of one member, so re-applying a half-written series is
 * safe. A create's id is derived from the engine's key (`GoogleCodec.eventIdFor`), so a retried
 * create meets its own copy as `AlreadyExists`.
 *
 * Copies never invite: `normalize` drops attendees and the organizer and the codec never writes
 * them, and the client sends `sendUpdates=none` on every write anyway. Keeping attendees on Google
 * copies (a relationship option on CalDAV) is deliberately not offered: one write without
 * `sendUpdates=none` anywhere would mail every guest.
 *
 * Series whose master this calendar cannot see (an invitation to one instance) are left out of
 * listings: there is no series to decode.
 */
import { createHash } from "node:crypto"
import { type EventModel, ProviderError } from "@almanac/core"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ClientError, EventItem, GoogleCalendarClientShape } from "./GoogleCalendarClient.js"
import * as GoogleCodec from "./GoogleCodec.js"
import type * as Port from "./internal/google/Port.js"

export type {
  CalendarProvider,
  Capabilities,
  Changes,
  Fetched,
  ItemVersion,
  Scope,
  WriteError
} from "./internal/google/Port.js"
export { AlreadyExists } from "./internal/google/Port.js"

export interface GoogleCalendar {
  /** Google's calendar id (an address, or "…@group.calendar.google.com"). */
  readonly id: string
  /** The calendar's own zone (calendarList `timeZone`): floating times are placed in it. */
  readonly timeZone: string
  /** From the access role: owner or writer. */
  readonly writable: boolean
}

// ---------------------------------------------------------------------------------------------
// cursor and versions

const Cursor = Schema.parseJson(Schema.Struct({ google: Schema.Literal(1), syncToken: Schema.String }))
const decodeCursor = Schema.decodeUnknownOption(Cursor)
const encodeCursor = (syncToken: string): string => JSON.stringify({ google: 1, syncToken })

interface Series {
  readonly master: EventItem
  /** Exceptions and cancelled instances. */
  readonly instances: ReadonlyArray<EventItem>
}

/** One version for a series: the master's etag, and a digest of its other members' etags. */
export const versionOf = (series: Series): string => {
  const members = series.instances.map((i) => `${i.id}\t${i.etag}`).sort()
  const digest =
    members.length === 0
      ? "-"
      : createHash("sha256").update(members.join("\n")).digest("base64url").slice(0, 22)
  return `g1:${Buffer.from(series.master.etag, "utf8").toString("base64url")}:${digest}`
}

const parseVersion = (
  version: string
): Option.Option<{ readonly masterEtag: string; readonly digest: string }> => {
  const m = /^g1:([A-Za-z0-9_-]*):([A-Za-z0-9_-]+)$/.exec(version)
  if (m === null || m[1] === undefined || m[2] === undefined) return Option.none()
  return Option.some({ masterEtag: Buffer.from(m[1], "base64url").toString("utf8"), digest: m[2] })
}

const isMaster = (i: EventItem) => Option.isNone(i.recurringEventId)
const isCancelled = (i: EventItem) => Option.contains(i.status, "cancelled")
const seriesIdOf = (i: EventItem) => Option.getOrElse(i.recurringEventId, () => i.id)

/** Members grouped by series, in first-seen order. */
const group = (items: ReadonlyArray<EventItem>): ReadonlyMap<string, ReadonlyArray<EventItem>> => {
  const out = new Map<string, Array<EventItem>>()
  for (const i of items) {
    const id = seriesIdOf(i)
    const list = out.get(id)
    if (list === undefined) out.set(id, [i])
    else list.push(i)
  }
  return out
}

// ---------------------------------------------------------------------------------------------

export const make = (client: GoogleCalendarClientShape, calendar: GoogleCalendar): Port.CalendarProvider => {
  const cal = calendar.id
  const zone = calendar.timeZone

  /** Errors a read can meet that are not poll errors cannot happen; if one does, back off. */
  const asPoll = (e: ClientError): Port.PollError =>
    e._tag === "TokenInvalid" ||
    e._tag === "Unauthorized" ||
    e._tag === "RateLimited" ||
    e._tag === "Transient"
      ? e
      : new ProviderError.Transient({ calendar: cal, detail: `unexpected ${e._tag} while reading` })

  const asWrite = (e: ClientError): Port.WriteError => (e._tag === "TokenInvalid" ? asPoll(e) : e)

  const takenWhileWriting = (e: Port.AlreadyExists) =>
    Effect.fail(
      new ProviderError.Rejected({
        ref: e.ref,
        detail: "an instance id of this series is taken by another event"
      })
    )

  /** The whole series as Google holds it now; None when the master is gone. */
  const readSeries = (ref: string): Effect.Effect<Option.Option<Series>, ClientError> =>
    Effect.gen(function* () {
      const got = yield* client.get(cal, ref).pipe(
        Effect.map(Option.some),
        Effect.catchTag("NotFound", () => Effect.succeed(Option.none<EventItem>()))
      )
      if (Option.isNone(got) || isCancelled(got.value) || !isMaster(got.value)) return Option.none()
      const master = got.value
      if (!master.recurring) return Option.some({ master, instances: [] })
      const uid = Option.getOrElse(master.iCalUID, () => "")
      const members = uid === "" ? [] : yield* client.listByUid(cal, uid)
      return Option.some({
        master,
        instances: members.filter((i) => i.id !== ref && Option.contains(i.recurringEventId, ref))
      })
    })

  const snapshot = Effect.gen(function* () {
    const listing = yield* client.listAll(cal)
    const items: Array<Port.ItemVersion> = []
    for (const [ref, members] of group(listing.items)) {
      const master = members.find((m) => m.id === ref && isMaster(m))
      if (master === undefined || isCancelled(master)) continue
      items.push({ ref, version: versionOf({ master, instances: members.filter((m) => m !== master) }) })
    }
    return {
      _tag: "Snapshot" as const,
      items,
      cursor: Option.match(listing.nextSyncToken, { onNone: () => "", onSome: encodeCursor }),
      scope: { _tag: "Whole" as const }
    }
  }).pipe(Effect.mapError(asPoll))

  const changes = (cursor: Option.Option<string>): Effect.Effect<Port.Changes, Port.PollError> =>
    Effect.gen(function* () {
      const state = Option.flatMap(cursor, decodeCursor)
      if (Option.isNone(state)) return yield* snapshot
      const listing = yield* client.listChanges(cal, state.value.syncToken).pipe(Effect.mapError(asPoll))
      if (listing.items.length === 0) return { _tag: "Unchanged" as const }
      const changed: Array<Port.ItemVersion> = []
      const deleted: Array<string> = []
      for (const [ref, members] of group(listing.items)) {
        const master = members.find((m) => m.id === ref && isMaster(m))
        if (master !== undefined && isCancelled(master)) {
          deleted.push(ref)
          continue
        }
        // A single event that came whole in the delta needs no second look.
        if (master !== undefined && !master.recurring && members.length === 1) {
          changed.push({ ref, version: versionOf({ master, instances: [] }) })
          continue
        }
        const series = yield* readSeries(ref).pipe(Effect.mapError(asPoll))
        if (Option.isSome(series)) changed.push({ ref, version: versionOf(series.value) })
        else if (master !== undefined) deleted.push(ref)
      }
      return {
        _tag: "Delta" as const,
        changed,
        deleted,
        cursor: Option.match(listing.nextSyncToken, {
          onNone: () => Option.getOrElse(cursor, () => ""),
          onSome: encodeCursor
        }),
        scope: { _tag: "Whole" as const }
      }
    })

  const fetchOne = (ref: string): Effect.Effect<Port.Fetched, Port.PollError> =>
    readSeries(ref).pipe(
      Effect.mapError(asPoll),
      Effect.map(
        Option.match({
          onNone: (): Port.Fetched => ({ _tag: "Missing", ref }),
          onSome: (series): Port.Fetched => {
            const version = versionOf(series)
            return Either.match(
              GoogleCodec.decode(ref, [series.master.json, ...series.instances.map((i) => i.json)], {
                calendarZone: zone
              }),
              {
                onLeft: (bad) => ({ _tag: "Bad", ref, version, reason: bad.reason }),
                onRight: (resource) => ({ _tag: "Found", ref, version, resource })
              }
            )
          }
        })
      )
    )

  const refuseReadOnly = (ref: string) =>
    calendar.writable
      ? Effect.void
      : Effect.fail(
          new ProviderError.Rejected({ ref: ref, detail: "the calendar is read-only for this account" })
        )

  /** Refused before anything is written: what Google cannot hold, and instances it does not have. */
  const encode = (resource: EventModel.EventResource, masterId: string) =>
    Effect.gen(function* () {
      const encoded = GoogleCodec.encode(resource, { masterId, calendarZone: zone })
      if (Either.isLeft(encoded))
        return yield* new ProviderError.Rejected({ ref: masterId, detail: encoded.left.reason })
      const stray = GoogleCodec.strayOverrides(resource, zone)
      if (stray.length > 0)
        return yield* new ProviderError.Rejected({
          ref: masterId,
          detail: `${stray.length} changed instance(s) at a time the series does not repeat on, which Google cannot hold`
        })
      return encoded.right
    })

  const create = (
    key: string,
    resource: EventModel.EventResource
  ): Effect.Effect<Port.ItemVersion, Port.WriteError> =>
    Effect.gen(function* () {
      const masterId = GoogleCodec.eventIdFor(key)
      yield* refuseReadOnly(masterId)
      const encoded = yield* encode(resource, masterId)
      const master = yield* client.insert(cal, encoded.master)
      const instances: Array<EventItem> = []
      for (const x of encoded.exceptions) instances.push(yield* client.update(cal, x.id, x, Option.none()))
      return { ref: masterId, version: versionOf({ master, instances }) }
    }).pipe(Effect.mapError(asWrite))

  const update = (
    ref: string,
    version: string,
    resource: EventModel.EventResource
  ): Effect.Effect<Port.ItemVersion, Port.WriteError> =>
    Effect.gen(function* () {
      yield* refuseReadOnly(ref)
      const expected = parseVersion(version)
      if (Option.isNone(expected)) return yield* new ProviderError.EtagMismatch({ ref: ref })
      const encoded = yield* encode(resource, ref)
      // A single event before and after: one conditional PUT, nothing to read first.
      if (
        expected.value.digest === "-" &&
        encoded.exceptions.length === 0 &&
        encoded.master.recurrence === undefined
      ) {
        const master = yield* client.update(cal, ref, encoded.master, Option.some(expected.value.masterEtag))
        return { ref, version: versionOf({ master, instances: [] }) }
      }
      const current = yield* readSeries(ref)
      if (Option.isNone(current)) return yield* new ProviderError.NotFound({ ref: ref })
      if (versionOf(current.value) !== version) return yield* new ProviderError.EtagMismatch({ ref: ref })
      const master = yield* client.update(cal, ref, encoded.master, Option.some(current.value.master.etag))
      const existing = new Map(current.value.instances.map((i) => [i.id, i]))
      const written = new Map<string, EventItem>()
      for (const x of encoded.exceptions) {
        const there = existing.get(x.id)
        written.set(
          x.id,
          yield* client.update(
            cal,
            x.id,
            x,
            Option.map(Option.fromNullable(there), (t) => t.etag)
          )
        )
      }
      const excluded = GoogleCodec.excludedInstanceIds(resource, { masterId: ref, calendarZone: zone })
      let removed = false
      // A series made a single event: Google drops its instances with the rule.
      const recurs = encoded.master.recurrence !== undefined
      for (const [id, there] of existing) {
        if (written.has(id) || !recurs) continue
        const original = GoogleCodec.decodeWire(there.json)
        const originalStart = Either.isRight(original) ? original.right.originalStartTime : undefined
        if (originalStart === undefined) continue
        const occurrence = GoogleCodec.encodeOccurrence(resource, originalStart, {
          masterId: ref,
          calendarZone: zone
        })
        if (Either.isLeft(occurrence)) continue
        // Now an EXDATE: cancel the instance. Otherwise the override was dropped: the plain occurrence.
        if (excluded.has(id)) {
          if (!isCancelled(there)) {
            yield* client.remove(cal, id, Option.some(there.etag))
            removed = true
          }
          continue
        }
        written.set(id, yield* client.update(cal, id, occurrence.right, Option.some(there.etag)))
      }
      if (removed) {
        // A deleted exception is a cancelled instance now, with an etag no answer told us.
        const after = yield* readSeries(ref)
        if (Option.isSome(after)) return { ref, version: versionOf(after.value) }
      }
      if (!recurs && existing.size > 0) {
        const after = yield* readSeries(ref)
        if (Option.isSome(after)) return { ref, version: versionOf(after.value) }
      }
      const instances = [...existing.values()].filter((i) => !written.has(i.id)).concat([...written.values()])
      return { ref, version: versionOf({ master, instances }) }
    }).pipe(Effect.mapError(asWrite))

  const remove = (ref: string, version: string): Effect.Effect<void, Port.WriteError> =>
    Effect.gen(function* () {
      yield* refuseReadOnly(ref)
      const expected = parseVersion(version)
      if (Option.isNone(expected)) return yield* new ProviderError.EtagMismatch({ ref: ref })
      // Deleting the master deletes the whole series; 410 (deleted already) is success.
      yield* client.remove(cal, ref, Option.some(expected.value.masterEtag))
    }).pipe(Effect.mapError(asWrite))

  return {
    calendarRef: cal,
    capabilities: { deltas: true, readOnly: !calendar.writable, scope: "whole", ids: "key" },
    changes,
    snapshot,
    fetch: (refs) => Effect.forEach(refs, fetchOne, { concurrency: 4 }),
    create,
    // An update or delete never asks for a new id, so a taken one there means Google changed under us.
    update: (ref, version, resource) =>
      Effect.catchTag(update(ref, version, resource), "AlreadyExists", takenWhileWriting),
    remove: (ref, version) => Effect.catchTag(remove(ref, version), "AlreadyExists", takenWhileWriting),
    normalize: (resource) => GoogleCodec.normalize(resource, zone)
  }
}
