/**
 * Sync relationships as a person sees them: one of their calendars copied into another of theirs,
 * one way or both ways, under a policy (private copies, TRANSP override, attendees) and an
 * optional window. The store keeps one row per direction; a two-way mirror is two rows that share
 * a pair id, and here (and in the API) it is one relationship whose id is that of its first
 * direction, which is also the pair id. Every change tells the engine, and removing can first
 * take away the copies the relationship wrote (a clean unsync).
 */
import { randomUUID } from "node:crypto"
import {
  CalendarProvider,
  type Policy,
  type ProviderError,
  type Relationship,
  SyncStore
} from "@almanac/core"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { isNonEmptyArray } from "effect/Array"
import { Engine } from "../Engine.js"
import { Push } from "../push/Push.js"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import { type OwnedRelationship, RelationshipOwners } from "../store/RelationshipOwners.js"

export const Direction = Schema.Literal("one-way", "two-way")
export type Direction = typeof Direction.Type

/** The widest sync window, in days either side of today: ten years. */
export const maxWindowDays = 3650

const windowDays = (field: string) =>
  Schema.Int.pipe(
    Schema.between(0, maxWindowDays, {
      message: () => `${field}: a whole number of days from 0 to ${maxWindowDays}`
    })
  )

/** Which events start being copied: those that occur from `pastDays` ago to `futureDays` ahead. */
export const SyncWindow = Schema.Struct({
  pastDays: windowDays("window.pastDays").annotations({
    description: `copy events from this many days ago on (0–${maxWindowDays})`
  }),
  futureDays: windowDays("window.futureDays").annotations({
    description: `copy events up to this many days ahead (0–${maxWindowDays})`
  })
}).annotations({
  description:
    "Limits which events start being copied; copies of events that later leave the window are kept in step, never deleted. Without a window every event is copied."
})

export interface SyncRelationship {
  readonly id: string
  readonly sourceCalendarId: string
  readonly targetCalendarId: string
  readonly direction: Direction
  readonly policy: Policy.SyncPolicy
  readonly window: Option.Option<Relationship.SyncWindow>
  readonly paused: boolean
  /** Copies the relationship keeps on its target(s), both directions together. */
  readonly copies: number
  readonly createdAt: number
}

export interface NewRelationship {
  readonly sourceCalendarId: string
  readonly targetCalendarId: string
  readonly direction: Direction
  readonly policy: Policy.SyncPolicy
  readonly window: Option.Option<Relationship.SyncWindow>
}

/** What to change; an absent field stays as it is. `window: none` removes the window. */
export interface RelationshipChange {
  readonly direction?: Direction | undefined
  readonly markPrivate?: boolean | undefined
  readonly transp?: Policy.SyncPolicy["transp"] | undefined
  readonly attendees?: boolean | undefined
  readonly window?: Option.Option<Relationship.SyncWindow> | undefined
  readonly paused?: boolean | undefined
}

export interface KeptCopy {
  readonly href: string
  readonly reason: string
}

export interface Removal {
  readonly clean: boolean
  /** Copies deleted from the target. */
  readonly removed: number
  /** Copies that were already gone from the target. */
  readonly alreadyGone: number
  /** Copies a clean unsync left in place, each with why. */
  readonly kept: ReadonlyArray<KeptCopy>
  /** Copies left on the target because no clean unsync was asked for. */
  readonly left: number
}

// --- errors ------------------------------------------------------------------------------------
// Data only: the words for a person are written at the edges (http/ApiWords.ts, pages/Problems.ts).
// Each `message` is a short neutral sentence for logs.

export class RelationshipNotFound extends Schema.TaggedError<RelationshipNotFound>()("RelationshipNotFound", {
  relationshipId: Schema.String
}) {
  override get message() {
    return `no relationship ${this.relationshipId}`
  }
}

export class CalendarNotFound extends Schema.TaggedError<CalendarNotFound>()("CalendarNotFound", {
  /** The request field that named the calendar. */
  field: Schema.String,
  calendarId: Schema.String
}) {
  override get message() {
    return `${this.field}: no calendar ${this.calendarId} among the user's calendars`
  }
}

const CalendarRef = { calendarId: Schema.String, calendarName: Schema.String }

/** One reason why a relationship cannot be made or changed as asked. */
export const RelationshipProblem = Schema.Union(
  /** The source and the target are the same calendar. */
  Schema.Struct({ reason: Schema.Literal("SameCalendar") }),
  /** The target is read-only for its account: no copy can be written there. */
  Schema.Struct({ reason: Schema.Literal("ReadOnlyTarget"), ...CalendarRef }),
  /** A two-way sync was asked from a source that is read-only for its account. */
  Schema.Struct({ reason: Schema.Literal("ReadOnlySource"), ...CalendarRef }),
  /** The two calendars are already mirrored both ways by `relationshipId`. */
  Schema.Struct({ reason: Schema.Literal("AlreadyMirrored"), relationshipId: Schema.String }),
  /** A relationship from this source to this target exists: `relationshipId`. */
  Schema.Struct({ reason: Schema.Literal("AlreadyExists"), relationshipId: Schema.String }),
  /** A two-way sync was asked where a one-way relationship from the target to the source exists. */
  Schema.Struct({ reason: Schema.Literal("ReverseExists"), relationshipId: Schema.String }),
  /** A one-way relationship was asked opposite to an existing one-way one: together a loop. */
  Schema.Struct({ reason: Schema.Literal("WouldLoop"), relationshipId: Schema.String }),
  /** A change that names no field to change. */
  Schema.Struct({ reason: Schema.Literal("NothingToChange") }),
  /** A change of direction, which a relationship cannot have. */
  Schema.Struct({ reason: Schema.Literal("DirectionFixed"), current: Direction, wanted: Direction })
)
export type RelationshipProblem = typeof RelationshipProblem.Type

const problemLog = (p: RelationshipProblem): string => {
  switch (p.reason) {
    case "SameCalendar":
    case "NothingToChange":
      return p.reason
    case "ReadOnlyTarget":
    case "ReadOnlySource":
      return `${p.reason} ${p.calendarId}`
    case "AlreadyMirrored":
    case "AlreadyExists":
    case "ReverseExists":
    case "WouldLoop":
      return `${p.reason} ${p.relationshipId}`
    case "DirectionFixed":
      return `${p.reason} ${p.current} -> ${p.wanted}`
  }
}

/** The relationship cannot be made or changed as asked; each problem is one reason. */
export class InvalidRelationship extends Schema.TaggedError<InvalidRelationship>()("InvalidRelationship", {
  problems: Schema.NonEmptyArray(RelationshipProblem)
}) {
  override get message() {
    return `invalid relationship: ${this.problems.map(problemLog).join(", ")}`
  }
}

/** A clean unsync stopped because the target's server could not be asked to delete the copies. */
export class CleanupFailed extends Schema.TaggedError<CleanupFailed>()("CleanupFailed", {
  /** How the target's server failed (the provider's poll error). */
  reason: Schema.Literal("Unauthorized", "RateLimited", "Transient", "TokenInvalid"),
  /** The server's own detail, where it gave one. */
  detail: Schema.optional(Schema.String),
  removedSoFar: Schema.Number
}) {
  override get message() {
    return `clean unsync stopped after ${this.removedSoFar} removed: ${this.reason}${this.detail === undefined ? "" : ` (${this.detail})`}`
  }
}

// --- the service -------------------------------------------------------------------------------

export interface RelationshipServiceShape {
  readonly create: (
    userId: string,
    input: NewRelationship
  ) => Effect.Effect<SyncRelationship, CalendarNotFound | InvalidRelationship | SyncStore.StoreError>
  readonly list: (userId: string) => Effect.Effect<ReadonlyArray<SyncRelationship>, SyncStore.StoreError>
  readonly get: (
    userId: string,
    relationshipId: string
  ) => Effect.Effect<SyncRelationship, RelationshipNotFound | SyncStore.StoreError>
  /** Changes options, pauses (`paused: true`) or resumes (`paused: false`). */
  readonly change: (
    userId: string,
    relationshipId: string,
    change: RelationshipChange
  ) => Effect.Effect<SyncRelationship, RelationshipNotFound | InvalidRelationship | SyncStore.StoreError>
  /** Removes the relationship; with `clean`, first deletes every copy it wrote that nobody changed since. */
  readonly remove: (
    userId: string,
    relationshipId: string,
    options: { readonly clean: boolean }
  ) => Effect.Effect<Removal, RelationshipNotFound | CleanupFailed | SyncStore.StoreError>
}

export class RelationshipService extends Context.Tag("@almanac/server/RelationshipService")<
  RelationshipService,
  RelationshipServiceShape
>() {}

/** The rows of one relationship: the first direction, and the way back of a two-way mirror. */
interface Rows {
  readonly first: OwnedRelationship
  readonly back: Option.Option<OwnedRelationship>
}

const rowsOf = (rows: Rows): ReadonlyArray<OwnedRelationship> => [rows.first, ...Option.toArray(rows.back)]

/** Groups a user's rows into relationships: a two-way pair's id is the id of its first row. */
const group = (rows: ReadonlyArray<OwnedRelationship>): ReadonlyArray<Rows> => {
  const byId = new Map(rows.map((r) => [r.id, r]))
  return rows.flatMap((r): ReadonlyArray<Rows> => {
    if (Option.isNone(r.pairId)) return [{ first: r, back: Option.none() }]
    if (r.pairId.value !== r.id) return byId.has(r.pairId.value) ? [] : [{ first: r, back: Option.none() }]
    const back = rows.find((o) => o.id !== r.id && Option.contains(o.pairId, r.id))
    return [{ first: r, back: Option.fromNullable(back) }]
  })
}

const cleanupFailed = (e: ProviderError.PollError, removedSoFar: number): CleanupFailed =>
  new CleanupFailed({
    reason: e._tag,
    ...(e._tag === "RateLimited" ? {} : { detail: e.detail }),
    removedSoFar
  })

export const make: Effect.Effect<
  RelationshipServiceShape,
  never,
  SyncStore.SyncStore | RelationshipOwners | Accounts | Engine | CalendarProvider.ProviderRegistry
> = Effect.gen(function* () {
  const store = yield* SyncStore.SyncStore
  const owners = yield* RelationshipOwners
  const accounts = yield* Accounts
  const engine = yield* Engine
  // Present in the server; push channels follow the watched calendars.
  const push = yield* Effect.serviceOption(Push)
  const registry = yield* CalendarProvider.ProviderRegistry

  const view = (rows: Rows) =>
    Effect.gen(function* () {
      let copies = 0
      for (const r of rowsOf(rows)) copies += yield* store.countLinks(r.id)
      const { first } = rows
      return {
        id: first.id,
        sourceCalendarId: first.sourceCalendarId,
        targetCalendarId: first.targetCalendarId,
        direction: Option.isSome(first.pairId) ? "two-way" : "one-way",
        policy: first.policy,
        window: first.window,
        paused: first.paused,
        copies,
        createdAt: first.createdAt
      } satisfies SyncRelationship
    })

  const find = (userId: string, relationshipId: string) =>
    owners.ofUser(userId).pipe(
      Effect.map((rows) => group(rows).find((g) => g.first.id === relationshipId)),
      Effect.flatMap((found) =>
        found === undefined
          ? Effect.fail(new RelationshipNotFound({ relationshipId }))
          : Effect.succeed(found)
      )
    )

  /** Tells the engine about both ends. Its errors are its own to log; the change is saved. */
  const refresh = (rows: Rows) =>
    Effect.forEach(
      new Set([rows.first.sourceCalendarId, rows.first.targetCalendarId]),
      (id) => engine.refresh(id),
      { discard: true }
    ).pipe(Effect.zipRight(Option.match(push, { onNone: () => Effect.void, onSome: (p) => p.soon })))

  const refOf = (c: CalendarInfo) => ({
    calendarId: c.id,
    calendarName: Option.getOrElse(c.displayName, () => c.url)
  })

  const ownCalendar = (userId: string, field: string, calendarId: string) =>
    accounts.calendarOf(userId, calendarId).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.fail(new CalendarNotFound({ field, calendarId })),
          onSome: Effect.succeed
        })
      )
    )

  /** Why a relationship from `source` to `target` cannot be added next to the ones that exist. */
  const clashes = (input: NewRelationship) =>
    Effect.gen(function* () {
      const { asSource, asTarget } = yield* store.relationshipsOf(input.sourceCalendarId)
      const same = asSource.find((r) => r.targetCalendarId === input.targetCalendarId)
      const reverse = asTarget.find((r) => r.sourceCalendarId === input.targetCalendarId)
      const idOf = (r: Relationship.Relationship) => Option.getOrElse(r.pairId, () => r.id)
      const mirror = [same, reverse].find((r) => r !== undefined && Option.isSome(r.pairId))
      if (mirror !== undefined)
        return Option.some<RelationshipProblem>({ reason: "AlreadyMirrored", relationshipId: idOf(mirror) })
      if (same !== undefined)
        return Option.some<RelationshipProblem>({ reason: "AlreadyExists", relationshipId: same.id })
      if (reverse !== undefined)
        return Option.some<RelationshipProblem>({
          reason: input.direction === "two-way" ? "ReverseExists" : "WouldLoop",
          relationshipId: reverse.id
        })
      return Option.none<RelationshipProblem>()
    })

  const create: RelationshipServiceShape["create"] = (userId, input) =>
    Effect.gen(function* () {
      if (input.sourceCalendarId === input.targetCalendarId)
        return yield* new InvalidRelationship({ problems: [{ reason: "SameCalendar" }] })
      const source = yield* ownCalendar(userId, "sourceCalendarId", input.sourceCalendarId)
      const target = yield* ownCalendar(userId, "targetCalendarId", input.targetCalendarId)
      // Copies are written where the account may write: a calendar it may only read (a shared or
      // subscribed one) can be a source, never a target, and so never part of a two-way sync.
      const readOnly: Array<RelationshipProblem> = [
        ...(target.writable ? [] : [{ reason: "ReadOnlyTarget" as const, ...refOf(target) }]),
        ...(input.direction === "two-way" && !source.writable
          ? [{ reason: "ReadOnlySource" as const, ...refOf(source) }]
          : [])
      ]
      if (isNonEmptyArray(readOnly)) return yield* new InvalidRelationship({ problems: readOnly })
      const clash = yield* clashes(input)
      if (Option.isSome(clash)) return yield* new InvalidRelationship({ problems: [clash.value] })

      const id = randomUUID()
      const twoWay = input.direction === "two-way"
      const first: Relationship.Relationship = {
        id,
        sourceCalendarId: input.sourceCalendarId,
        targetCalendarId: input.targetCalendarId,
        pairId: twoWay ? Option.some(id) : Option.none(),
        policy: input.policy,
        window: input.window,
        paused: false
      }
      const back: Option.Option<Relationship.Relationship> = twoWay
        ? Option.some({
            ...first,
            id: randomUUID(),
            sourceCalendarId: input.targetCalendarId,
            targetCalendarId: input.sourceCalendarId
          })
        : Option.none()
      const rows = [first, ...Option.toArray(back)]
      yield* owners.save(userId, rows)
      // A calendar that is already polled for another relationship would otherwise copy only the
      // events that change from now on.
      for (const r of rows) yield* store.rescan(r.sourceCalendarId)
      const saved = yield* find(userId, id).pipe(
        Effect.catchTag("RelationshipNotFound", () =>
          Effect.fail(new SyncStore.StoreError({ operation: "save relationship", detail: "row vanished" }))
        )
      )
      yield* refresh(saved)
      for (const r of rows) yield* engine.syncNow(r.sourceCalendarId)
      yield* Effect.logInfo("relationship created", id, input.direction)
      return yield* view(saved)
    })

  const change: RelationshipServiceShape["change"] = (userId, relationshipId, c) =>
    Effect.gen(function* () {
      const rows = yield* find(userId, relationshipId)
      const current = rows.first
      const given = [c.direction, c.markPrivate, c.transp, c.attendees, c.window, c.paused].filter(
        (v) => v !== undefined
      )
      if (given.length === 0)
        return yield* new InvalidRelationship({ problems: [{ reason: "NothingToChange" }] })
      const direction: Direction = Option.isSome(current.pairId) ? "two-way" : "one-way"
      if (c.direction !== undefined && c.direction !== direction)
        return yield* new InvalidRelationship({
          problems: [{ reason: "DirectionFixed", current: direction, wanted: c.direction }]
        })
      const policy: Policy.SyncPolicy = {
        markPrivate: c.markPrivate ?? current.policy.markPrivate,
        transp: c.transp ?? current.policy.transp,
        attendees: c.attendees ?? current.policy.attendees
      }
      const window = c.window ?? current.window
      const paused = c.paused ?? current.paused
      const samePolicy =
        policy.markPrivate === current.policy.markPrivate &&
        policy.transp === current.policy.transp &&
        policy.attendees === current.policy.attendees
      const sameWindow = Option.getEquivalence<Relationship.SyncWindow>(
        (a, b) => a.pastDays === b.pastDays && a.futureDays === b.futureDays
      )(window, current.window)
      const updated = rowsOf(rows).map((r) => ({ ...r, policy, window, paused }))
      yield* owners.save(userId, updated)
      // Existing copies follow a new policy or window only if their originals are read again;
      // after a pause, so do the events that arrived meanwhile (the cursor moved past them).
      const resumed = current.paused && !paused
      if (!paused && (!samePolicy || !sameWindow || resumed))
        for (const r of updated) yield* store.rescan(r.sourceCalendarId)
      yield* refresh(rows)
      return yield* find(userId, relationshipId).pipe(Effect.flatMap(view))
    })

  /** Deletes the copies of one row on its target, forgetting each link as its copy goes. */
  const cleanRow = (row: OwnedRelationship, tally: { removed: number; alreadyGone: number }) =>
    Effect.gen(function* () {
      const links = yield* store.links(row.id)
      if (links.length === 0) return []
      const record = yield* store.calendar(row.targetCalendarId)
      if (Option.isNone(record))
        return links.map((l) => ({
          href: l.targetRef,
          reason: "the target calendar is no longer connected to Almanac"
        }))
      const target = yield* registry.open(record.value)
      const kept: Array<KeptCopy> = []
      for (const link of links) {
        const outcome = yield* target.remove(link.targetRef, link.targetVersion).pipe(
          Effect.as<"removed" | "gone" | KeptCopy>("removed"),
          Effect.catchTags({
            NotFound: () => Effect.succeed<"gone">("gone"),
            EtagMismatch: () =>
              Effect.succeed<KeptCopy>({
                href: link.targetRef,
                reason: "changed on the target since Almanac wrote it, so it was left in place"
              }),
            UidConflict: (e) => Effect.succeed<KeptCopy>({ href: link.targetRef, reason: e.detail }),
            Rejected: (e) =>
              Effect.succeed<KeptCopy>({
                href: link.targetRef,
                reason: `the target's server refused to delete it: ${e.detail}`
              })
          })
        )
        if (outcome === "removed") tally.removed++
        else if (outcome === "gone") tally.alreadyGone++
        else kept.push(outcome)
        yield* store.deleteLink(row.id, link.sourceUid)
      }
      return kept
    })

  const remove: RelationshipServiceShape["remove"] = (userId, relationshipId, options) =>
    Effect.gen(function* () {
      const rows = yield* find(userId, relationshipId)
      const all = rowsOf(rows)
      let left = 0
      const tally = { removed: 0, alreadyGone: 0 }
      const kept: Array<KeptCopy> = []
      if (options.clean) {
        // Paused first, so that no poll writes a copy (or puts a deleted one back) meanwhile.
        yield* owners.save(
          userId,
          all.map((r) => ({ ...r, paused: true }))
        )
        yield* refresh(rows)
        for (const row of all) {
          const keptHere = yield* cleanRow(row, tally).pipe(
            Effect.catchIf(
              (e): e is ProviderError.PollError => e._tag !== "StoreError",
              (e) => Effect.fail(cleanupFailed(e, tally.removed))
            )
          )
          kept.push(...keptHere)
        }
      } else {
        for (const row of all) left += yield* store.countLinks(row.id)
      }
      for (const row of all) yield* store.deleteRelationship(row.id)
      yield* refresh(rows)
      yield* Effect.logInfo("relationship removed", relationshipId, options.clean ? "clean" : "copies left")
      return { clean: options.clean, removed: tally.removed, alreadyGone: tally.alreadyGone, kept, left }
    })

  return {
    create,
    list: (userId) => owners.ofUser(userId).pipe(Effect.flatMap((rows) => Effect.forEach(group(rows), view))),
    get: (userId, relationshipId) => find(userId, relationshipId).pipe(Effect.flatMap(view)),
    change,
    remove
  }
})

export const layer: Layer.Layer<
  RelationshipService,
  never,
  SyncStore.SyncStore | RelationshipOwners | Accounts | Engine | CalendarProvider.ProviderRegistry
> = Layer.effect(RelationshipService, make)
