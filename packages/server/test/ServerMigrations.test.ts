/**
 * The server's migrations: in SQL Server's dialect, checked without a server (there is none on
 * these machines) by core's rules, on top of the engine's (they add columns to its tables); and
 * run on a database an earlier version made, whose engine migration created the server's tables.
 */
import { StoreMigrations } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as SqlServerDialect from "../../core/test/support/SqlServerDialect.js"
import * as Database from "../src/Database.js"
import * as ServerMigrations from "../src/store/ServerMigrations.js"
import * as EarlierEngine from "./support/EarlierEngine.js"

const t = StoreMigrations.sqlServerTypes
const engine = [
  ...StoreMigrations.initialStatements(t),
  ...StoreMigrations.pollScheduleStatements(t),
  ...StoreMigrations.portStatements(t),
  ...StoreMigrations.failureStatements(t),
  ...StoreMigrations.historyStatements(t)
]
const server = [
  ...ServerMigrations.peopleStatements(t),
  ...ServerMigrations.oauthStatements(t),
  ...ServerMigrations.sessionStatements(t),
  ...ServerMigrations.resumedStatements(t),
  ...ServerMigrations.pushStatements(t)
]

describe("the server's migrations in SQL Server's dialect", () => {
  const tables = SqlServerDialect.tables([...engine, ...server])

  it("declare only types SQL Server has", () => {
    const own = SqlServerDialect.tables(server)
    expect([...own.keys()].sort()).toEqual([
      "api_tokens",
      "bookings",
      "oauth_states",
      "page_sessions",
      "push_channels",
      "users"
    ])
    for (const [, columns] of tables) {
      for (const [, type] of columns) expect(type).toMatch(SqlServerDialect.allowedType)
    }
    // Columns the server adds to the engine's tables have their types too.
    for (const [table, column] of [
      ["accounts", "user_id"],
      ["relationships", "user_id"],
      ["calendars", "time_zone"],
      ["accounts", "resumed_at"]
    ] as const)
      expect(tables.get(table)?.get(column), `${table}.${column}`).toMatch(SqlServerDialect.allowedType)
    expect(server.join("\n")).not.toMatch(SqlServerDialect.foreign)
  })

  it("key and index only bounded columns", () => {
    const keyed = SqlServerDialect.keyed(server)
    expect(keyed.length).toBeGreaterThan(10)
    for (const [table, column] of keyed) {
      const type = tables.get(table)?.get(column)
      expect(type, `${table}.${column}`).toBeDefined()
      expect(type, `${table}.${column}`).not.toBe("NVARCHAR(MAX)")
    }
  })
})

/** Every table's columns and every index, as SQLite describes them. */
const schema = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const objects = yield* sql<{ type: string; name: string }>`SELECT type, name FROM sqlite_master
    WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'almanac_%' ORDER BY name`
  const described: Record<string, ReadonlyArray<string>> = {}
  for (const o of objects) {
    if (o.type !== "table") continue
    const columns = yield* sql.unsafe<{ name: string; type: string; notnull: number }>(
      `PRAGMA table_info(${o.name})`
    )
    described[o.name] = columns.map((c) => `${c.name} ${c.type}${c.notnull ? " NOT NULL" : ""}`).sort()
  }
  return { indexes: objects.filter((o) => o.type === "index").map((o) => o.name), tables: described }
})

const migratedFresh = Effect.provide(
  schema,
  Layer.provideMerge(Database.migrated, SqliteClient.layer({ filename: ":memory:" }))
)

describe("migrating a database an earlier version made", () => {
  it.effect("ends with the schema of a new database, the people tables made once", () =>
    Effect.gen(function* () {
      const fresh = yield* migratedFresh
      expect(Object.keys(fresh.tables)).toContain("users")
      expect(fresh.tables.relationships).toContain("user_id VARCHAR(64)")
      expect(fresh.tables.calendars).toContain("next_poll_at BIGINT")

      const earlier = yield* Effect.gen(function* () {
        yield* EarlierEngine.migrate
        return yield* Effect.zipRight(Layer.build(Database.migrated).pipe(Effect.scoped), schema)
      }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })))
      expect(earlier).toEqual(fresh)
    }).pipe(Effect.orDie)
  )
})
