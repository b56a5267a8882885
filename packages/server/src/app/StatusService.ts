/**
 * How syncing is going, per calendar of a user, in words a person can act on: when it polled and
 * will poll, how many copies it holds and has made, the last error, the items it could not read,
 * a mass deletion waiting for a person, recent runs and conflicts. And the two things a person
 * can do about it: poll now, and confirm a halted mass deletion.
 */
import { type SyncCycle, SyncStore } from "@almanac/core"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { Engine } from "../Engine.js"
import type { InProgress } from "../Polls.js"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import {
  CalendarNotFound,
  type Direction,
  RelationshipService,
  type SyncRelationship
} from "./RelationshipService.js"

/** How many runs and conflicts a status shows: the recent ones are what a person acts on. */
export const recentRuns = 10
export const recentConflicts = 20

export interface RelationshipStatus {
  readonly relationshipId: string
  readonly direction: Direction
  /** This calendar's end: the source, the target, or both (a two-way mirror). */
  readonly role: "source" | "target" | "both"
  readonly otherCalendarId: string
  readonly paused: boolean
  readonly copies: number
  readonly conflicts: ReadonlyArray<{ readonly sourceUid: string; readonly detail: string }>
}

export interface CalendarStatus {
  readonly calendar: CalendarInfo
  readonly polls: number
  readonly lastPollAt: Option.Option<number>
  readonly lastSuccessAt: Option.Option<number>
  readonly nextPollAt: Option.Option<number>
  /** The poll running now, with how far it has got. */
  readonly polling: Option.Option<InProgress>
  readonly lastError: Option.Option<string>
  /** When the last failed poll ended (kept after a recovery). */
  readonly lastErrorAt: Option.Option<number>
  /** Polls in a row that failed; 0 once a poll works again. */
  readonly failuresInARow: number
  /** Why the mass-delete guard stopped this calendar's runs, while it waits for a person. */
  readonly deletesAwaitingConfirmation: Option.Option<string>
  /** Copies Almanac keeps on this calendar (it is their target). */
  readonly copiesHeld: number
  /** Copies of this calendar's events on other calendars (it is their source). */
  readonly copiesMade: number
  readonly quarantined: ReadonlyArray<{ readonly href: string; readonly reason: string }>
  readonly relationships: ReadonlyArray<RelationshipStatus>
  readonly runs: ReadonlyArray<{
    readonly outcome: string
    readonly finishedAt: number
    readonly summary: unknown
  }>
}

// --- errors ------------------------------------------------------------------------------------
// Data only: the words for a person are written at the edges (http/ApiWords.ts, pages/Problems.ts).

/** "Sync now" on a calendar that no relationship uses: there is nothing to sync. */
export class NotSynced extends Schema.TaggedError<NotSynced>()("NotSynced", { calendarId: Schema.String }) {
  override get message() {
    return `calendar ${this.calendarId} takes part in no sync relationship`
  }
}

/** "Confirm deletes" on a calendar whose runs are not halted. */
export class NothingToConfirm extends Schema.TaggedError<NothingToConfirm>()("NothingToConfirm", {
  calendarId: Schema.String
}) {
  override get message() {
    return `calendar ${this.calendarId} has no mass deletion waiting for confirmation`
  }
}

/** The confirmed poll did not complete. */
export class ConfirmFailed extends Schema.TaggedError<ConfirmFailed>()("ConfirmFailed", {
  calendarId: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `the confirmed run of calendar ${this.calendarId} failed: ${this.detail}`
  }
}

export interface StatusServiceShape {
  /** Every calendar of the user that takes part in a relationship. */
  readonly all: (userId: string) => Effect.Effect<ReadonlyArray<CalendarStatus>, SyncStore.StoreError>
  readonly ofCalendar: (
    userId: string,
    calendarId: string
  ) => Effect.Effect<CalendarStatus, CalendarNotFound | SyncStore.StoreError>
  /** Asks for a poll now; it runs in the calendar's actor. */
  readonly syncNow: (
    userId: string,
    calendarId: string
  ) => Effect.Effect<void, CalendarNotFound | NotSynced | SyncStore.StoreError>
  /** Lets a halted mass deletion through: one poll runs with deletions allowed, and its report is returned. */
  readonly confirmDeletes: (
    userId: string,
    calendarId: string
  ) => Effect.Effect<
    SyncCycle.CycleReport,
    CalendarNotFound | NothingToConfirm | ConfirmFailed | SyncStore.StoreError
  >
}

export class StatusService extends Context.Tag("@almanac/server/StatusService")<
  StatusService,
  StatusServiceShape
>() {}

const roleOf = (r: SyncRelationship, calendarId: string): RelationshipStatus["role"] =>
  r.direction === "two-way" ? "both" : r.sourceCalendarId === calendarId ? "source" : "target"

const touches = (r: SyncRelationship, calendarId: string) =>
  r.sourceCalendarId === calendarId || r.targetCalendarId === calendarId

export const make: Effect.Effect<
  StatusServiceShape,
  never,
  SyncStore.SyncStore | Accounts | Engine | RelationshipService
> = Effect.gen(function* () {
  const store = yield* SyncStore.SyncStore
  const accounts = yield* Accounts
  const engine = yield* Engine
  const relationships = yield* RelationshipService

  const ownCalendar = (userId: string, calendarId: string) =>
    accounts.calendarOf(userId, calendarId).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.fail(new CalendarNotFound({ field: "calendarId", calendarId })),
          onSome: Effect.succeed
        })
      )
    )

  /** The status of one calendar, given the user's relationships. */
  const statusOf = (calendar: CalendarInfo, all: ReadonlyArray<SyncRelationship>) =>
    Effect.gen(function* () {
      const record = yield* store.calendar(calendar.id)
      const { asSource, asTarget } = yield* store.relationshipsOf(calendar.id)
      let copiesHeld = 0
      for (const r of asTarget) copiesHeld += yield* store.countLinks(r.id)
      let copiesMade = 0
      for (const r of asSource) copiesMade += yield* store.countLinks(r.id)
      const rows = [...asSource, ...asTarget]
      const mine = all.filter((r) => touches(r, calendar.id))
      const perRelationship = yield* Effect.forEach(mine, (r) =>
        Effect.gen(function* () {
          // Conflicts of both directions of a mirror: the rows whose pair (or own) id is this one.
          const ids = rows
            .filter((row) => row.id === r.id || Option.contains(row.pairId, r.id))
            .map((row) => row.id)
          const conflicts = (yield* Effect.forEach(new Set(ids), (id) =>
            store.conflicts(id, recentConflicts)
          )).flat()
          return {
            relationshipId: r.id,
            direction: r.direction,
            role: roleOf(r, calendar.id),
            otherCalendarId: r.sourceCalendarId === calendar.id ? r.targetCalendarId : r.sourceCalendarId,
            paused: r.paused,
            copies: r.copies,
            conflicts: conflicts.slice(-recentConflicts)
          } satisfies RelationshipStatus
        })
      )
      const quarantined = yield* store.quarantined(calendar.id)
      const runs = yield* store.runs(calendar.id, recentRuns)
      const nextPollAt = yield* store.nextPollAt(calendar.id)
      const polling = yield* engine.inProgress(calendar.id)
      return {
        calendar,
        polls: Option.match(record, { onNone: () => 0, onSome: (c) => c.polls }),
        lastPollAt: Option.flatMap(record, (c) => c.lastPollAt),
        lastSuccessAt: Option.flatMap(record, (c) => c.lastSuccessAt),
        nextPollAt,
        polling,
        lastError: Option.flatMap(record, (c) => c.lastError),
        lastErrorAt: Option.flatMap(record, (c) => c.lastErrorAt),
        failuresInARow: Option.match(record, { onNone: () => 0, onSome: (c) => c.failures }),
        deletesAwaitingConfirmation: Option.flatMap(record, (c) => c.halted),
        copiesHeld,
        copiesMade,
        quarantined: quarantined.map((q) => ({ href: q.ref, reason: q.reason })),
        relationships: perRelationship,
        runs
      } satisfies CalendarStatus
    })

  return {
    all: (userId) =>
      Effect.gen(function* () {
        const all = yield* relationships.list(userId)
        const ids = [...new Set(all.flatMap((r) => [r.sourceCalendarId, r.targetCalendarId]))]
        const calendars = yield* Effect.forEach(ids, (id) => accounts.calendarOf(userId, id))
        return yield* Effect.forEach(
          calendars.flatMap((c) => Option.toArray(c)),
          (c) => statusOf(c, all)
        )
      }),
    ofCalendar: (userId, calendarId) =>
      Effect.gen(function* () {
        const calendar = yield* ownCalendar(userId, calendarId)
        return yield* statusOf(calendar, yield* relationships.list(userId))
      }),
    syncNow: (userId, calendarId) =>
      Effect.gen(function* () {
        yield* ownCalendar(userId, calendarId)
        const { asSource, asTarget } = yield* store.relationshipsOf(calendarId)
        if (asSource.length + asTarget.length === 0) return yield* new NotSynced({ calendarId })
        yield* engine.syncNow(calendarId)
      }),
    confirmDeletes: (userId, calendarId) =>
      Effect.gen(function* () {
        yield* ownCalendar(userId, calendarId)
        const record = yield* store.calendar(calendarId)
        if (Option.isNone(Option.flatMap(record, (c) => c.halted)))
          return yield* new NothingToConfirm({ calendarId })
        return yield* engine
          .confirmDeletes(calendarId)
          .pipe(Effect.mapError((e) => new ConfirmFailed({ calendarId, detail: e.message })))
      })
  }
})

export const layer: Layer.Layer<
  StatusService,
  never,
  SyncStore.SyncStore | Accounts | Engine | RelationshipService
> = Layer.effect(StatusService, make)
