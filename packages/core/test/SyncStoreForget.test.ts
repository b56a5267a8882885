/**
 * Forgetting calendars (an account removed, a calendar its server no longer lists): the engine's
 * rows of those calendars — quarantined items, the run log, the calendar row with its cursor and
 * poll state — go; every other calendar's stay. Inside a caller's transaction it is part of that
 * transaction: rolled back with it. SQLite.
 */
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { StoreMigrations, SyncStore } from "../src/index.js"

const setup = Effect.gen(function* () {
  yield* StoreMigrations.run
  const store = yield* SyncStore.make
  yield* store.ensureAccount({
    id: "a",
    kind: "caldav",
    url: "https://dav.example.net/",
    username: Option.none()
  })
  for (const id of ["A", "B", "C"]) {
    yield* store.ensureCalendar({ id, accountId: "a", ref: `https://dav.example.net/${id}/` })
    yield* store.saveCursor(id, Option.some(`cursor-${id}`))
    yield* store.recordFailure(id, { at: 1_800_000_000_000, error: "refused" })
    yield* store.quarantine(id, {
      ref: `https://dav.example.net/${id}/bad.ics`,
      version: "1",
      reason: "no DTSTART"
    })
    yield* store.recordRun({
      calendarId: id,
      startedAt: 1_800_000_000_000,
      finishedAt: 1_800_000_000_001,
      outcome: "ok",
      summary: { created: 1 }
    })
  }
  return store
})

/** What the store holds of a calendar: its row, quarantined items and runs. */
const held = (store: SyncStore.SyncStoreShape, id: string) =>
  Effect.all({
    row: Effect.map(store.calendar(id), Option.isSome),
    quarantined: Effect.map(store.quarantined(id), (q) => q.length),
    runs: Effect.map(store.runs(id, 10), (r) => r.length)
  })

const all = { row: true, quarantined: 1, runs: 1 }
const none = { row: false, quarantined: 0, runs: 0 }

describe("the sync store forgetting calendars", () => {
  it.effect("removes the engine's rows of those calendars and keeps the others'", () =>
    Effect.gen(function* () {
      const store = yield* setup
      yield* store.forgetCalendars(["A", "B"])
      expect(yield* held(store, "A")).toEqual(none)
      expect(yield* held(store, "B")).toEqual(none)
      expect(yield* held(store, "C")).toEqual(all)
      expect(Option.flatMap(yield* store.calendar("C"), (c) => c.cursor)).toEqual(Option.some("cursor-C"))
      // Nothing to forget is no statement at all.
      yield* store.forgetCalendars([])
      expect(yield* held(store, "C")).toEqual(all)
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.orDie)
  )

  it.effect("forgets more calendars than one statement may bind (SQLite's 32,766 parameters) in one go", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const many = Array.from({ length: 33_000 }, (_, i) => `many-${i}`)
      yield* store.forgetCalendars([...many, "A", "B"])
      expect(yield* held(store, "A")).toEqual(none)
      expect(yield* held(store, "B")).toEqual(none)
      expect(yield* held(store, "C")).toEqual(all)
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.orDie)
  )

  it.effect("is rolled back with the caller's transaction", () =>
    Effect.gen(function* () {
      const store = yield* setup
      const sql = yield* SqlClient.SqlClient
      const failed = yield* store
        .forgetCalendars(["A"])
        .pipe(
          Effect.zipRight(Effect.fail("the caller's next statement failed")),
          sql.withTransaction,
          Effect.flip
        )
      expect(failed).toBe("the caller's next statement failed")
      expect(yield* held(store, "A")).toEqual(all)
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.orDie)
  )
})
