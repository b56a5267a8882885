import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StoreMigrations, SyncPlanner, SyncStore } from "../src/index.js"
import * as SqlServerDialect from "./support/SqlServerDialect.js"

describe("the migrations' SQL Server dialect", () => {
  const statements = [
    ...StoreMigrations.initialStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.pollScheduleStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.portStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.failureStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.historyStatements(StoreMigrations.sqlServerTypes)
  ]
  const tables = SqlServerDialect.tables(statements)

  it("declares only types SQL Server has", () => {
    expect(statements.filter((s) => s.startsWith("ALTER TABLE")).length).toBeGreaterThan(3)
    for (const [, columns] of tables) {
      for (const [, type] of columns) expect(type).toMatch(SqlServerDialect.allowedType)
    }
    expect(statements.join("\n")).not.toMatch(SqlServerDialect.foreign)
  })

  it("keys and indexes only bounded columns", () => {
    const keyed = SqlServerDialect.keyed(statements)
    expect(keyed.length).toBeGreaterThan(8)
    for (const [table, column] of keyed) {
      const type = tables.get(table)?.get(column)
      expect(type, `${table}.${column}`).toBeDefined()
      expect(type, `${table}.${column}`).not.toBe("NVARCHAR(MAX)")
    }
  })
})

describe("migrating a database of an earlier version", () => {
  it.effect("links written before the port get the creation key their copies were made under", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { "1_initial": initial, "2_poll_schedule": schedule } = StoreMigrations.migrations
      yield* Migrator.make({})({
        loader: Migrator.fromRecord({ "1_initial": initial, "2_poll_schedule": schedule }),
        table: "almanac_migrations"
      })
      yield* sql`INSERT INTO links (relationship_id, source_key, source_uid, source_href, source_etag, target_href, target_etag, content_hash, sequence_number, updated_at)
        VALUES (${"r1"}, ${"k"}, ${"uid-1@old"}, ${"/a/1.ics"}, ${'"1"'}, ${"/b/almanac-x.ics"}, ${'"2"'}, ${"h"}, ${0}, ${0})`
      yield* StoreMigrations.run
      const rows = yield* sql<{ readonly copyKey: string | null }>`SELECT copy_key AS "copyKey" FROM links`
      expect(rows.map((r) => r.copyKey)).toEqual([SyncPlanner.copyKey("r1", "uid-1@old")])
      const store = yield* SyncStore.make
      const [link] = yield* store.links("r1")
      expect(link?.key).toBe(SyncPlanner.copyKey("r1", "uid-1@old"))
      expect([link?.sourceRef, link?.targetRef, link?.targetVersion]).toEqual([
        "/a/1.ics",
        "/b/almanac-x.ics",
        '"2"'
      ])
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })), Effect.orDie)
  )
})
