/**
 * The next polls calendars' actors recorded, read for all calendars at once (a start with many
 * calendars asks this once, not once per calendar); a calendar with none recorded (parked, or
 * never polled) is absent. SQLite.
 */
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { StoreMigrations, SyncStore } from "../src/index.js"

describe("the sync store's next polls", () => {
  it.effect("are read in one go, as each calendar's actor last recorded them", () =>
    Effect.gen(function* () {
      yield* StoreMigrations.run
      const store = yield* SyncStore.make
      yield* store.ensureAccount({
        id: "a",
        kind: "caldav",
        url: "https://dav.example.net/",
        username: Option.none()
      })
      for (const id of ["A", "B", "C"])
        yield* store.ensureCalendar({ id, accountId: "a", ref: `https://dav.example.net/${id}/` })
      yield* store.setNextPoll("A", Option.some(1_800_000_000_000))
      yield* store.setNextPoll("B", Option.some(1_800_000_000_001))
      yield* store.setNextPoll("B", Option.none())
      yield* store.setNextPoll("C", Option.some(1_800_000_000_002))
      expect([...(yield* store.nextPolls)].sort()).toEqual([
        ["A", 1_800_000_000_000],
        ["C", 1_800_000_000_002]
      ])
      expect(yield* store.nextPollAt("C")).toEqual(Option.some(1_800_000_000_002))
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.orDie)
  )
})
