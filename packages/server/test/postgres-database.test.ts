/**
 * The server's database on PostgreSQL: a throwaway cluster started by this file (Debian's
 * postgresql, initdb into a temporary folder, loopback only; see scripts/test-servers/postgres.ts),
 * the engine's and the server's migrations run on it, twice (the second run finds nothing to do),
 * and the store answers. The multi-runner tests build on the same cluster helper.
 */
import { Policy, SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { type RunningPostgres, startPostgres } from "../../../scripts/test-servers/postgres.js"
import * as Database from "../src/Database.js"
import * as RelationshipOwners from "../src/store/RelationshipOwners.js"
import * as EarlierEngine from "./support/EarlierEngine.js"

let pg: RunningPostgres | undefined
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.stop()
})

describe("the server's database on PostgreSQL", () => {
  it.live("migrates an empty database, again without change, and the store reads it", () =>
    Effect.gen(function* () {
      if (pg === undefined) return expect.fail("no PostgreSQL")
      const url = pg.createDatabase("almanac_migrations")
      const database = { _tag: "Postgres", url: Redacted.make(url) } as const
      const tables = Effect.flatMap(
        SqlClient.SqlClient,
        (sql) =>
          sql<{
            name: string
          }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`
      )
      const first = yield* Effect.provide(tables, Database.layer(database))
      const names = first.map((r) => r.name)
      for (const t of ["calendars", "relationships", "links", "users", "accounts"]) expect(names).toContain(t)
      const again = yield* Effect.provide(
        Effect.zip(
          tables,
          Effect.flatMap(SyncStore.SyncStore, (s) => s.nextPolls)
        ),
        Layer.fresh(Database.layer(database))
      )
      expect(again[0].map((r) => r.name).sort()).toEqual([...names].sort())
      expect(again[1].size).toBe(0)
    })
  )

  it.live("records a poll with its next time in one statement, and keeps what a poll leaves out", () =>
    // COALESCE over a bound NULL must type on PostgreSQL (its parameters have no type of their own).
    Effect.gen(function* () {
      if (pg === undefined) return expect.fail("no PostgreSQL")
      const url = pg.createDatabase("almanac_polls")
      const database = { _tag: "Postgres", url: Redacted.make(url) } as const
      const polled = Effect.gen(function* () {
        const store = yield* SyncStore.SyncStore
        yield* store.ensureAccount({
          id: "a",
          kind: "caldav",
          url: "https://dav.example/",
          username: Option.none()
        })
        yield* store.ensureCalendar({ id: "A", accountId: "a", ref: "https://dav.example/A/" })
        yield* store.recordPoll("A", {
          at: 1_000,
          error: Option.none(),
          reconciled: true,
          nextPollAt: Option.some(5_000)
        })
        yield* store.recordPoll("A", { at: 2_000, error: Option.none(), reconciled: false })
        return { record: yield* store.calendar("A"), next: yield* store.nextPollAt("A") }
      })
      const { record, next } = yield* Effect.provide(polled, Database.layer(database))
      expect(Option.map(record, (r) => [r.lastPollAt, r.lastReconcileAt])).toEqual(
        Option.some([Option.some(2_000), Option.some(1_000)])
      )
      expect(next).toEqual(Option.some(5_000))
    })
  )

  it.live(
    "migrates a database an earlier engine gave the people tables, and keeps relationships' owners",
    () =>
      Effect.gen(function* () {
        if (pg === undefined) return expect.fail("no PostgreSQL")
        const url = pg.createDatabase("almanac_earlier")
        const database = { _tag: "Postgres", url: Redacted.make(url) } as const
        yield* Effect.provide(EarlierEngine.migrate, Layer.fresh(Database.client(database)))
        const owned = Effect.gen(function* () {
          const store = yield* SyncStore.SyncStore
          const owners = yield* RelationshipOwners.RelationshipOwners
          yield* store.ensureAccount({
            id: "a",
            kind: "caldav",
            url: "https://dav.example/",
            username: Option.none()
          })
          for (const id of ["A", "B"])
            yield* store.ensureCalendar({ id, accountId: "a", ref: `https://dav.example/${id}/` })
          const r = {
            id: "A-to-B",
            sourceCalendarId: "A",
            targetCalendarId: "B",
            pairId: Option.none(),
            policy: Policy.defaultPolicy,
            window: Option.none(),
            paused: false
          }
          yield* owners.save("ann", [r])
          yield* store.saveRelationship({ ...r, paused: true })
          return { mine: yield* owners.ofUser("ann"), engine: yield* store.relationshipsOf("A") }
        })
        const { mine, engine } = yield* Effect.provide(
          owned,
          RelationshipOwners.layer.pipe(Layer.provideMerge(Layer.fresh(Database.layer(database))))
        )
        // The engine's own save changed the row in place: its owner stayed.
        expect(mine.map((r) => [r.id, r.userId, r.paused])).toEqual([["A-to-B", "ann", true]])
        expect(engine.asSource.map((r) => r.id)).toEqual(["A-to-B"])
      })
  )
})
