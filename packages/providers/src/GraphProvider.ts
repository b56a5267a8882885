/**
 * The provider port over one Microsoft Graph (Outlook) calendar: `calendarView/delta` over a
 * window for changes, GraphCodec for events, series as the unit of sync.
 *
 * Graph's delta covers a window only (it has no whole-calendar delta in v1.0, docs/providers.md
 * D.7), so listings are window-scoped: an item not listed is gone only inside the window. The
 * cursor is the whole `@odata.deltaLink` with the window it was made for (and which member ids
 * belong to which series, see below), JSON-wrapped like GoogleProvider's. When the window this
 * provider wants has moved on by a day or more (the default window turns with the UTC day), the
 * cursor is refused as TokenInvalid, so that the engine resyncs (by merge) over the new window,
 * once a day: what entered the window at its far end is then copied.
 *
 * A delta lists occurrences, exceptions and single events, never series masters, and occurrences
 * come as stubs (id, type, seriesMasterId, start, end). A series is its master's id (the ref) and
 * ONE version for all its members: the master's etag and a digest of its exceptions' etags and of
 * the original starts of its deleted occurrences (`m1:<master etag>:<digest>`, like
 * GoogleProvider.versionOf). A deleted occurrence comes only as `@removed` with its own id, which
 * names no series; the cursor therefore keeps a short digest of every member id it has seen with
 * its series, so that the removal is read as a change of that series. Graph v1.0 lists no deleted
 * occurrences, so a series is read as its master, its instances in the window, and the occurrences
 * the rule has in the window but the calendar does not (deleted). What lies outside the window is
 * not seen: `normalize` leaves out overrides and EXDATEs outside it, so that a copy read back
 * hashes as it was written.
 *
 * Writes: a create carries the engine's key in a single-value extended property and a
 * `transactionId` derived from it; an earlier copy under the key (a create retried after a crash)
 * is found by that property and answered AlreadyExists with its ref. Exceptions are PATCHes of the
 * occurrence at their original start, deleted occurrences DELETEs of it; updates and removes send
 * If-Match with the `@odata.etag` read (412 → EtagMismatch). An override the source dropped is
 * written back as the plain occurrence; a deleted occurrence cannot be restored on Graph, so an
 * update that would need it is refused before anything is written.
 *
 * Copies never invite: the codec never writes attendees (Graph mails the attendees of an event it
 * creates or changes).
 */
import { createHash } from "node:crypto"
import { type CalendarProvider as Core, EventModel, ProviderError, Recurrence } from "@almanac/core"
import * as Civil from "@almanac/core/internal/Civil"
import * as Zone from "@almanac/core/internal/Zone"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import type { ClientError, EventItem, GraphCalendarClientShape, Window } from "./GraphCalendarClient.js"
import * as GraphCodec from "./GraphCodec.js"

/** The engine's port under short names. */
declare namespace Port {
  type ItemVersion = Core.ItemVersion
  type Changes = Core.Changes
  type Fetched = Core.Fetched
  type CalendarProvider = Core.CalendarProvider
  type PollError = ProviderError.PollError
  type WriteError = Core.WriteError
}

export interface GraphCalendar {
  /** Graph's calendar id. */
  readonly id: string
  /** The mailbox's zone as an IANA name: floating times are placed in it. */
  readonly timeZone: string
  /** From the calendar's `canEdit`. */
  readonly canEdit: boolean
}

export interface ProviderOptions {
  /**
   * The window listings cover, for the current time (epoch ms). Default: 365 days back and 730
   * ahead from the start of the current UTC day, so it moves forward once a day (and the cursor
   * made for yesterday's window is then a merge resync over today's).
   */
  readonly window?: ((nowMs: number) => { readonly start: number; readonly end: number }) | undefined
}

const DAY_MS = 86_400_000

export const defaultWindow = (nowMs: number) => {
  const day = Math.floor(nowMs / DAY_MS) * DAY_MS
  return { start: day - 365 * DAY_MS, end: day + 730 * DAY_MS }
}

// ---------------------------------------------------------------------------------------------
// cursor and versions

const CursorJson = Schema.parseJson(
  Schema.Struct({
    graph: Schema.Literal(1),
    deltaLink: Schema.String,
    start: Schema.Number,
    end: Schema.Number,
    /** Series refs, and member-id digest → index in `series`. */
    series: Schema.Array(Schema.String),
    members: Schema.Record({ key: Schema.String, value: Schema.Number })
  })
)
type CursorState = typeof CursorJson.Type
const decodeCursor = Schema.decodeUnknownOption(CursorJson)

const memberKey = (id: string): string =>
  createHash("sha256").update(id, "utf8").digest("base64url").slice(0, 11)

const encodeCursor = (
  deltaLink: string,
  window: { readonly start: number; readonly end: number },
  members: ReadonlyMap<string, string>
): string => {
  const series = [...new Set(members.values())].sort()
  const index = new Map(series.map((s, i) => [s, i]))
  const out: Record<string, number> = {}
  for (const [key, ref] of members) out[key] = index.get(ref) ?? 0
  return JSON.stringify({ graph: 1, deltaLink, start: window.start, end: window.end, series, members: out })
}

const membersOf = (state: CursorState): Map<string, string> => {
  const out = new Map<string, string>()
  for (const [key, i] of Object.entries(state.members)) {
    const ref = state.series[i]
    if (ref !== undefined) out.set(key, ref)
  }
  return out
}

interface Series {
  readonly master: EventItem
  /** The series' exceptions (in the window). */
  readonly exceptions: ReadonlyArray<EventItem>
  /** Original starts (GraphCodec.originalStartKey) of the occurrences of the rule the calendar no longer has. */
  readonly cancelled: ReadonlyArray<string>
  /** Occurrence and exception ids by original start (in the window). */
  readonly occurrences: ReadonlyMap<string, EventItem>
}

/** One version for a series: the master's etag, and a digest of its exceptions and deleted occurrences. */
export const versionOf = (series: Pick<Series, "master" | "exceptions" | "cancelled">): string => {
  const members = [
    ...series.exceptions.map((i) => `x\t${i.id}\t${i.etag}`),
    ...series.cancelled.map((c) => `c\t${c}`)
  ].sort()
  const digest =
    members.length === 0
      ? "-"
      : createHash("sha256").update(members.join("\n")).digest("base64url").slice(0, 22)
  return `m1:${Buffer.from(series.master.etag, "utf8").toString("base64url")}:${digest}`
}

const parseVersion = (version: string): Option.Option<{ readonly masterEtag: string }> => {
  const m = /^m1:([A-Za-z0-9_-]*):([A-Za-z0-9_-]+)$/.exec(version)
  if (m === null || m[1] === undefined) return Option.none()
  return Option.some({ masterEtag: Buffer.from(m[1], "base64url").toString("utf8") })
}

/** The creation key as Graph's `transactionId` (POST idempotency), a fixed-length digest. */
export const transactionIdFor = (key: string): string =>
  `almanac-${createHash("sha256").update(`almanac:graph:${key}`, "utf8").digest("base64url").slice(0, 32)}`

const isMember = (i: EventItem) => Option.exists(i.type, (t) => t === "occurrence" || t === "exception")
const seriesRefOf = (i: EventItem): string =>
  isMember(i) ? Option.getOrElse(i.seriesMasterId, () => i.id) : i.id

const originalStartOf = (i: EventItem): string | undefined => {
  const raw = i.json.originalStart
  return typeof raw === "string" ? GraphCodec.originalStartKey(raw) : undefined
}

// ---------------------------------------------------------------------------------------------

export const make = (
  client: GraphCalendarClientShape,
  calendar: GraphCalendar,
  options: ProviderOptions = {}
): Port.CalendarProvider => {
  const cal = calendar.id
  const codecOptions = { calendarZone: calendar.timeZone }
  const windowAt = options.window ?? defaultWindow
  const currentWindow = Effect.map(Clock.currentTimeMillis, windowAt)
  const asDates = (w: { readonly start: number; readonly end: number }): Window => ({
    start: new Date(w.start),
    end: new Date(w.end)
  })

  const asPoll = (e: ClientError): Port.PollError =>
    e._tag === "TokenInvalid" ||
    e._tag === "Unauthorized" ||
    e._tag === "RateLimited" ||
    e._tag === "Transient"
      ? e
      : new ProviderError.Transient({ calendar: cal, detail: `unexpected ${e._tag} while reading` })

  const asWrite = (e: ClientError): Port.WriteError => (e._tag === "TokenInvalid" ? asPoll(e) : e)
  const asCreate = (e: ClientError | ProviderError.AlreadyExists) =>
    e._tag === "AlreadyExists" ? e : asWrite(e)

  /** The occurrences of the master's rule inside the window, by original start. */
  const ruleStarts = (
    master: EventItem,
    window: { readonly start: number; readonly end: number }
  ): ReadonlyArray<string> => {
    const bare = GraphCodec.decode(
      master.id,
      { master: master.json, exceptions: [], cancelled: [] },
      codecOptions
    )
    if (Either.isLeft(bare)) return []
    return Recurrence.instances(bare.right, asDates(window), { floatingZone: calendar.timeZone }).map(
      (i) => GraphCodec.originalStartKey(i.start.toISOString()) ?? ""
    )
  }

  /** The whole series as Graph holds it now (in the window); None when the master is gone. */
  const readSeries = (
    ref: string,
    window: { readonly start: number; readonly end: number }
  ): Effect.Effect<Option.Option<Series>, ClientError> =>
    Effect.gen(function* () {
      const got = yield* client.getEvent(cal, ref, { expandProperty: GraphCodec.PROPERTY_ORIGIN }).pipe(
        Effect.map(Option.some),
        Effect.catchTag("NotFound", () => Effect.succeed(Option.none<EventItem>()))
      )
      if (Option.isNone(got) || isMember(got.value)) return Option.none()
      const master = got.value
      if (!Option.contains(master.type, "seriesMaster")) {
        return Option.some({ master, exceptions: [], cancelled: [], occurrences: new Map() })
      }
      const instances = yield* client.instances(cal, ref, asDates(window))
      const occurrences = new Map<string, EventItem>()
      for (const i of instances) {
        const key = originalStartOf(i)
        if (key !== undefined) occurrences.set(key, i)
      }
      const exceptions = instances.filter((i) => Option.contains(i.type, "exception"))
      const cancelled = ruleStarts(master, window).filter((k) => k !== "" && !occurrences.has(k))
      return Option.some({ master, exceptions, cancelled: [...new Set(cancelled)].sort(), occurrences })
    })

  /** Refs and member ids of a delta's changed entries. */
  const refsOf = (items: ReadonlyArray<EventItem>, members: Map<string, string>): ReadonlyArray<string> => {
    const refs = new Set<string>()
    for (const i of items) {
      const ref = seriesRefOf(i)
      refs.add(ref)
      if (isMember(i)) members.set(memberKey(i.id), ref)
    }
    return [...refs]
  }

  const snapshotIn = (window: { readonly start: number; readonly end: number }) =>
    Effect.gen(function* () {
      const round = yield* client.deltaRound(cal, { _tag: "Window", window: asDates(window) })
      const members = new Map<string, string>()
      const latest = new Map<string, EventItem>()
      for (const e of round.entries) {
        if (e._tag === "Changed") latest.set(e.item.id, e.item)
        else latest.delete(e.id)
      }
      const refs = refsOf([...latest.values()], members)
      const items: Array<Port.ItemVersion> = []
      for (const ref of refs) {
        const single = latest.get(ref)
        // A single event came whole in the delta: its version needs no second look.
        if (single !== undefined && Option.contains(single.type, "singleInstance")) {
          items.push({ ref, version: versionOf({ master: single, exceptions: [], cancelled: [] }) })
          continue
        }
        const series = yield* readSeries(ref, window)
        if (Option.isSome(series)) items.push({ ref, version: versionOf(series.value) })
      }
      return {
        _tag: "Snapshot" as const,
        items,
        cursor: encodeCursor(round.deltaLink, window, members),
        scope: { _tag: "Window" as const, start: window.start, end: window.end }
      }
    }).pipe(Effect.mapError(asPoll))

  const snapshot = Effect.flatMap(currentWindow, snapshotIn)

  const changes = (cursor: Option.Option<string>): Effect.Effect<Port.Changes, Port.PollError> =>
    Effect.gen(function* () {
      if (Option.isNone(cursor)) return yield* snapshot
      const state = decodeCursor(cursor.value)
      if (Option.isNone(state))
        return yield* new ProviderError.TokenInvalid({
          calendar: cal,
          detail: "the cursor is not a Graph delta link this provider gave"
        })
      const wanted = yield* currentWindow
      const window = { start: state.value.start, end: state.value.end }
      if (Math.abs(wanted.start - window.start) >= DAY_MS || Math.abs(wanted.end - window.end) >= DAY_MS)
        return yield* new ProviderError.TokenInvalid({
          calendar: cal,
          detail: "the sync window has moved on; the calendar is read again over the new one"
        })
      const round = yield* client
        .deltaRound(cal, { _tag: "Link", link: state.value.deltaLink })
        .pipe(Effect.mapError(asPoll))
      if (round.entries.length === 0) return { _tag: "Unchanged" as const }
      const members = membersOf(state.value)
      const touched = new Set<string>()
      const removedIds = new Set<string>()
      for (const e of round.entries) {
        if (e._tag === "Changed") {
          for (const ref of refsOf([e.item], members)) touched.add(ref)
          continue
        }
        const series = members.get(memberKey(e.id))
        // A removed member (a deleted occurrence, or one that left the window) changes its series.
        if (series !== undefined) touched.add(series)
        else removedIds.add(e.id)
      }
      const changed: Array<Port.ItemVersion> = []
      const deleted: Array<string> = []
      for (const ref of touched) {
        const series = yield* readSeries(ref, window).pipe(Effect.mapError(asPoll))
        if (Option.isSome(series)) changed.push({ ref, version: versionOf(series.value) })
        else deleted.push(ref)
      }
      for (const id of removedIds) if (!touched.has(id)) deleted.push(id)
      const gone = new Set(deleted)
      for (const [key, ref] of members) if (gone.has(ref)) members.delete(key)
      return {
        _tag: "Delta" as const,
        changed,
        deleted,
        cursor: encodeCursor(round.deltaLink, window, members),
        scope: { _tag: "Window" as const, start: window.start, end: window.end }
      }
    })

  const fetchOne = (ref: string): Effect.Effect<Port.Fetched, Port.PollError> =>
    Effect.flatMap(currentWindow, (window) =>
      readSeries(ref, window).pipe(
        Effect.mapError(asPoll),
        Effect.map(
          Option.match({
            onNone: (): Port.Fetched => ({ _tag: "Missing", ref }),
            onSome: (series): Port.Fetched => {
              const version = versionOf(series)
              return Either.match(
                GraphCodec.decode(
                  ref,
                  {
                    master: series.master.json,
                    exceptions: series.exceptions.map((x) => x.json),
                    cancelled: series.cancelled
                  },
                  codecOptions
                ),
                {
                  onLeft: (bad) => ({ _tag: "Bad", ref, version, reason: bad.reason }),
                  onRight: (resource) => ({ _tag: "Found", ref, version, resource })
                }
              )
            }
          })
        )
      )
    )

  const refuseReadOnly = (ref: string) =>
    calendar.canEdit
      ? Effect.void
      : Effect.fail(new ProviderError.Rejected({ ref, detail: "the calendar is read-only for this account" }))

  const encode = (resource: EventModel.EventResource, ref: string) =>
    Either.match(GraphCodec.encode(resource, codecOptions), {
      onLeft: (e) => Effect.fail(new ProviderError.Rejected({ ref, detail: e.reason })),
      onRight: (encoded) => Effect.succeed(encoded)
    })

  /** The occurrence (or exception) of a series at an original start, found around that instant. */
  const occurrenceAt = (masterId: string, key: string, known: ReadonlyMap<string, EventItem>) =>
    Effect.gen(function* () {
      const there = known.get(key)
      if (there !== undefined) return Option.some(there)
      const at = Date.parse(key)
      const around = yield* client.instances(cal, masterId, {
        start: new Date(at - DAY_MS),
        end: new Date(at + 2 * DAY_MS)
      })
      return Option.fromNullable(around.find((i) => originalStartOf(i) === key))
    })

  /** The exceptions and deleted occurrences of a freshly written master. */
  const writeMembers = (
    masterId: string,
    encoded: GraphCodec.EncodedSeries,
    known: ReadonlyMap<string, EventItem>
  ) =>
    Effect.gen(function* () {
      for (const x of encoded.exceptions) {
        const occurrence = yield* occurrenceAt(masterId, x.originalStart, known)
        if (Option.isNone(occurrence))
          return yield* new ProviderError.Rejected({
            ref: masterId,
            detail: `Outlook has no occurrence at ${x.originalStart} to change`
          })
        yield* client.updateEvent(cal, occurrence.value.id, x.body, Option.some(occurrence.value.etag))
      }
      for (const key of encoded.cancelled) {
        const occurrence = yield* occurrenceAt(masterId, key, known)
        if (Option.isSome(occurrence))
          yield* client.deleteEvent(cal, occurrence.value.id, Option.some(occurrence.value.etag))
      }
    })

  const versionNow = (ref: string) =>
    Effect.gen(function* () {
      const window = yield* currentWindow
      const series = yield* readSeries(ref, window)
      if (Option.isNone(series)) return yield* new ProviderError.NotFound({ ref })
      return { ref, version: versionOf(series.value) }
    })

  const create = (
    key: string,
    resource: EventModel.EventResource
  ): Effect.Effect<Port.ItemVersion, Port.WriteError | ProviderError.AlreadyExists> =>
    Effect.gen(function* () {
      yield* refuseReadOnly(key)
      const encoded = yield* encode(resource, key)
      const earlier = yield* client.findByExtendedProperty(cal, GraphCodec.PROPERTY_KEY, key)
      const copy = earlier.find((e) => !isMember(e))
      if (copy !== undefined) return yield* new ProviderError.AlreadyExists({ ref: copy.id })
      const master = yield* client.createEvent(cal, {
        event: {
          ...encoded.master,
          singleValueExtendedProperties: [
            ...(encoded.master.singleValueExtendedProperties ?? []),
            { id: GraphCodec.PROPERTY_KEY, value: key }
          ]
        },
        transactionId: transactionIdFor(key)
      })
      if (encoded.exceptions.length === 0 && encoded.cancelled.length === 0)
        return { ref: master.id, version: versionOf({ master, exceptions: [], cancelled: [] }) }
      yield* writeMembers(master.id, encoded, new Map())
      return yield* versionNow(master.id)
    }).pipe(Effect.mapError(asCreate))

  const update = (
    ref: string,
    version: string,
    resource: EventModel.EventResource
  ): Effect.Effect<Port.ItemVersion, Port.WriteError> =>
    Effect.gen(function* () {
      yield* refuseReadOnly(ref)
      if (Option.isNone(parseVersion(version))) return yield* new ProviderError.EtagMismatch({ ref })
      const encoded = yield* encode(resource, ref)
      const window = yield* currentWindow
      const current = yield* readSeries(ref, window)
      if (Option.isNone(current)) return yield* new ProviderError.NotFound({ ref })
      if (versionOf(current.value) !== version) return yield* new ProviderError.EtagMismatch({ ref })
      const before = current.value
      const sameRule =
        JSON.stringify(before.master.json.recurrence ?? null) ===
        JSON.stringify(encoded.master.recurrence ?? null)
      // A deleted occurrence cannot be brought back on Graph: refuse before writing anything.
      const wanted = new Set(encoded.cancelled)
      const restored = sameRule ? before.cancelled.filter((c) => !wanted.has(c)) : []
      if (restored.length > 0)
        return yield* new ProviderError.Rejected({
          ref,
          detail: `Outlook cannot restore a deleted occurrence (${restored.join(", ")}) of a series`
        })
      const master = yield* client.updateEvent(cal, ref, encoded.master, Option.some(before.master.etag))
      if (encoded.master.recurrence === null || encoded.master.recurrence === undefined) {
        if (before.exceptions.length === 0 && before.cancelled.length === 0)
          return { ref, version: versionOf({ master, exceptions: [], cancelled: [] }) }
        return yield* versionNow(ref)
      }
      // A new rule drops the old exceptions and deletions (Graph keeps none across it).
      const known = sameRule ? before.occurrences : new Map<string, EventItem>()
      yield* writeMembers(ref, encoded, known)
      if (sameRule) {
        const written = new Set(encoded.exceptions.map((x) => x.originalStart))
        for (const x of before.exceptions) {
          const key = originalStartOf(x)
          if (key === undefined || written.has(key) || wanted.has(key)) continue
          // The source dropped this override: the occurrence as the series has it.
          const plain = GraphCodec.encodeOccurrence(resource, key, codecOptions)
          if (Either.isLeft(plain)) continue
          const now = yield* client.getEvent(cal, x.id)
          yield* client.updateEvent(cal, x.id, plain.right, Option.some(now.etag))
        }
      }
      return yield* versionNow(ref)
    }).pipe(Effect.mapError(asWrite))

  const remove = (ref: string, version: string): Effect.Effect<void, Port.WriteError> =>
    Effect.gen(function* () {
      yield* refuseReadOnly(ref)
      const expected = parseVersion(version)
      if (Option.isNone(expected)) return yield* new ProviderError.EtagMismatch({ ref })
      // Deleting the master deletes the whole series; an event already gone is success.
      yield* client.deleteEvent(cal, ref, Option.some(expected.value.masterEtag))
    }).pipe(Effect.mapError(asWrite))

  /** An instant of a value as the codec places it (DATE and floating values in the mailbox's zone). */
  const instantOf = (d: EventModel.DateValue): number | undefined => {
    const wall = Civil.toWallMs(EventModel.fieldsOf(d))
    if (d._tag === "UtcDateTime") return wall
    const zone = Zone.intlZone(d._tag === "ZonedDateTime" ? d.tzid : calendar.timeZone)
    return zone === undefined ? undefined : Zone.wallToUtc(zone, wall)
  }

  /**
   * What Graph holds, and what this provider reads of it: overrides and EXDATEs of occurrences
   * that overlap the window (what `/instances` and the rule's expansion there give).
   */
  const normalize = (resource: EventModel.EventResource): EventModel.EventResource => {
    const normal = GraphCodec.normalize(resource, codecOptions)
    if (Option.isNone(normal.master)) return normal
    const m = normal.master.value
    const window = windowAt(Date.now())
    const s0 = instantOf(m.start)
    const e0 = instantOf(m.end)
    const span = s0 === undefined || e0 === undefined ? 0 : Math.max(0, e0 - s0)
    const inside = (d: EventModel.DateValue) => {
      const at = instantOf(d)
      if (at === undefined) return true
      return span > 0 ? at < window.end && at + span > window.start : at >= window.start && at < window.end
    }
    return {
      ...normal,
      master: Option.some({ ...m, exdates: m.exdates.filter(inside) }),
      overrides: normal.overrides.filter((o) =>
        Option.match(o.recurrenceId, { onNone: () => true, onSome: inside })
      )
    }
  }

  return {
    calendarRef: cal,
    capabilities: { deltas: true, readOnly: !calendar.canEdit, scope: "window", ids: "server" },
    changes,
    snapshot,
    fetch: (refs) => Effect.forEach(refs, fetchOne, { concurrency: 4 }),
    create,
    update,
    remove,
    normalize
  }
}
