import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StoreMigrations, SyncPlanner, SyncStore } from "../src/index.js"

// There is no SQL Server on these machines. What can be checked without one: SQL Server cannot
// index NVARCHAR(MAX) or TEXT, so every key and indexed column must have a bounded type, and the
// statements must use only types SQL Server knows.
describe("the migrations' SQL Server dialect", () => {
  const statements = [
    ...StoreMigrations.initialStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.peopleStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.portStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.failureStatements(StoreMigrations.sqlServerTypes),
    ...StoreMigrations.historyStatements(StoreMigrations.sqlServerTypes)
  ]

  const columnTypes = (create: string): Map<string, string> =>
    new Map(
      [...create.matchAll(/^\s+([a-z_]+) ([A-Z]+(?:\([0-9A-Z]+\))?)/gm)].map((m) => [m[1] ?? "", m[2] ?? ""])
    )

  const tables = new Map(
    statements.flatMap((s) => {
      const m = /^CREATE TABLE ([a-z_]+) \(/.exec(s)
      return m?.[1] === undefined ? [] : [[m[1], columnTypes(s)] as const]
    })
  )
  // Columns added later by ALTER TABLE belong to their table too.
  for (const s of statements) {
    const m = /^ALTER TABLE ([a-z_]+) ADD ([a-z_]+) ([A-Z]+(?:\([0-9A-Z]+\))?)$/.exec(s)
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) tables.get(m[1])?.set(m[2], m[3])
  }

  it("declares only types SQL Server has", () => {
    expect(statements.filter((s) => s.startsWith("ALTER TABLE")).length).toBeGreaterThan(3)
    for (const [, columns] of tables) {
      for (const [, type] of columns) expect(type).toMatch(/^(NVARCHAR\((64|MAX)\)|INT|BIGINT)$/)
    }
    expect(statements.join("\n")).not.toMatch(/\bTEXT\b|AUTOINCREMENT|SERIAL/)
  })

  it("keys and indexes only bounded columns", () => {
    const keyed: Array<readonly [string, string]> = []
    for (const s of statements) {
      const table = /^CREATE TABLE ([a-z_]+)/.exec(s)?.[1]
      if (table !== undefined) {
        for (const m of s.matchAll(/^\s+([a-z_]+) [^\n]*PRIMARY KEY/gm)) keyed.push([table, m[1] ?? ""])
        for (const m of s.matchAll(/PRIMARY KEY \(([^)]+)\)/g)) {
          for (const c of (m[1] ?? "").split(",")) keyed.push([table, c.trim()])
        }
      }
      const index = /^CREATE (?:UNIQUE )?INDEX \w+ ON ([a-z_]+) \(([^)]+)\)/.exec(s)
      if (index?.[1] !== undefined)
        for (const c of (index[2] ?? "").split(",")) keyed.push([index[1], c.trim()])
    }
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
      const { "1_initial": initial, "2_people": people } = StoreMigrations.migrations
      yield* Migrator.make({})({
        loader: Migrator.fromRecord({ "1_initial": initial, "2_people": people }),
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
