/**
 * The run log and the conflict log stay bounded: at most `runsKept` runs per calendar and
 * `conflictsKept` conflicts per relationship, none older than `historyDays`, and reads take the
 * newest rows in SQL. SQLite here; the statements are the dialect-neutral ones (SQL Server gets
 * TOP/OFFSET-FETCH, which no server here can run).
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StoreMigrations, SyncStore } from "../src/index.js"

const DAY = 86_400_000

const withStore = <A, E>(f: (store: SyncStore.SyncStoreShape) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    yield* StoreMigrations.run
    return yield* f(yield* SyncStore.make)
  }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.orDie)

describe("the sync store's history", () => {
  it.effect(
    "keeps the newest runs of a calendar, drops runs past the age limit, and reads newest first",
    () =>
      withStore((store) =>
        Effect.gen(function* () {
          const now = Date.now()
          const run = (calendarId: string, at: number, n: number) =>
            store.recordRun({
              calendarId,
              startedAt: at,
              finishedAt: at + 1,
              outcome: "synced",
              summary: { n }
            })
          yield* run("A", now - (SyncStore.historyDays + 1) * DAY, -1)
          yield* run("B", now - DAY, 0)
          expect((yield* store.runs("A", 10)).length).toBe(1)
          // The next run of A prunes the one past the age limit; B is another calendar's log.
          yield* run("A", now, 0)
          expect((yield* store.runs("A", 10)).map((r) => r.summary)).toEqual([{ n: 0 }])
          for (let i = 1; i <= SyncStore.runsKept + 5; i++) yield* run("A", now + i, i)
          const kept = yield* store.runs("A", 10_000)
          expect(kept.length).toBe(SyncStore.runsKept)
          expect(kept[0]?.summary).toEqual({ n: SyncStore.runsKept + 5 })
          expect(kept.at(-1)?.summary).toEqual({ n: 6 })
          expect((yield* store.runs("A", 3)).map((r) => r.summary)).toEqual([
            { n: SyncStore.runsKept + 5 },
            { n: SyncStore.runsKept + 4 },
            { n: SyncStore.runsKept + 3 }
          ])
          expect((yield* store.runs("B", 10)).length).toBe(1)
        })
      )
  )

  it.effect("keeps the newest conflicts of a relationship, even when they come in the same millisecond", () =>
    withStore((store) =>
      Effect.gen(function* () {
        for (let i = 0; i < SyncStore.conflictsKept + 7; i++)
          yield* store.recordConflict({
            relationshipId: "r",
            sourceUid: `uid-${i}`,
            targetRef: `/t/${i}`,
            detail: "changed on both sides"
          })
        yield* store.recordConflict({ relationshipId: "other", sourceUid: "x", targetRef: "/x", detail: "d" })
        expect((yield* store.conflicts("r", 10_000)).length).toBe(SyncStore.conflictsKept)
        expect((yield* store.conflicts("other", 10_000)).length).toBe(1)
        expect((yield* store.conflicts("r", 2)).length).toBe(2)
      })
    )
  )
})
