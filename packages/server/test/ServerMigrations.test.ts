/**
 * The server's migrations in SQL Server's dialect, checked without a server (there is none on these
 * machines), by core's rules: only types SQL Server has, and nothing unbounded is a key or indexed.
 * On SQLite they run in every server test.
 */
import { StoreMigrations } from "@almanac/core"
import { describe, expect, it } from "@effect/vitest"
import * as ServerMigrations from "../src/store/ServerMigrations.js"

describe("the server's migrations in SQL Server's dialect", () => {
  const statements = ServerMigrations.oauthStatements(StoreMigrations.sqlServerTypes)

  it("declare only types SQL Server has", () => {
    const types = statements.flatMap((s) => [
      ...[...s.matchAll(/^\s+[a-z_]+ ([A-Z]+(?:\([0-9A-Z]+\))?)/gm)].map((m) => m[1]),
      ...[...s.matchAll(/^ALTER TABLE [a-z_]+ ADD [a-z_]+ ([A-Z]+(?:\([0-9A-Z]+\))?)$/g)].map((m) => m[1])
    ])
    expect(types.length).toBeGreaterThan(10)
    for (const t of types) expect(t).toMatch(/^(NVARCHAR\((64|MAX)\)|INT|BIGINT)$/)
    expect(statements.join("\n")).not.toMatch(/\bTEXT\b|AUTOINCREMENT|SERIAL/)
  })

  it("key and index only bounded columns", () => {
    const create = statements.find((s) => s.startsWith("CREATE TABLE oauth_states")) ?? ""
    const typeOf = (column: string) =>
      new RegExp(`^\\s+${column} ([A-Z]+(?:\\([0-9A-Z]+\\))?)`, "m").exec(create)?.[1]
    expect(typeOf("state_hash")).toBe("NVARCHAR(64)")
    expect(create).toMatch(/state_hash NVARCHAR\(64\) NOT NULL PRIMARY KEY/)
    const index = statements.find((s) => s.startsWith("CREATE INDEX")) ?? ""
    const indexed = /\(([^)]+)\)/.exec(index)?.[1] ?? ""
    expect(indexed).toBe("expires_at")
    expect(typeOf(indexed)).toBe("BIGINT")
  })
})
