/**
 * What can be checked of SQL Server's dialect without a server (there is none on these machines):
 * SQL Server cannot index NVARCHAR(MAX) or TEXT, so every key and indexed column must have a
 * bounded type, and the statements must use only types SQL Server knows. Used for the engine's
 * migrations and, with those, the server's (which add columns to the engine's tables).
 */

const columnTypes = (create: string): Map<string, string> =>
  new Map(
    [...create.matchAll(/^\s+([a-z_]+) ([A-Z]+(?:\([0-9A-Z]+\))?)/gm)].map((m) => [m[1] ?? "", m[2] ?? ""])
  )

/** Every table's columns and their types, from CREATE TABLE and ALTER TABLE … ADD statements. */
export const tables = (
  statements: ReadonlyArray<string>
): ReadonlyMap<string, ReadonlyMap<string, string>> => {
  const found = new Map(
    statements.flatMap((s) => {
      const m = /^CREATE TABLE ([a-z_]+) \(/.exec(s)
      return m?.[1] === undefined ? [] : [[m[1], columnTypes(s)] as const]
    })
  )
  for (const s of statements) {
    const m = /^ALTER TABLE ([a-z_]+) ADD ([a-z_]+) ([A-Z]+(?:\([0-9A-Z]+\))?)/.exec(s)
    if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) found.get(m[1])?.set(m[2], m[3])
  }
  return found
}

/** Every (table, column) that is a primary key or indexed. */
export const keyed = (statements: ReadonlyArray<string>): ReadonlyArray<readonly [string, string]> => {
  const found: Array<readonly [string, string]> = []
  for (const s of statements) {
    const table = /^CREATE TABLE ([a-z_]+)/.exec(s)?.[1]
    if (table !== undefined) {
      for (const m of s.matchAll(/^\s+([a-z_]+) [^\n]*PRIMARY KEY/gm)) found.push([table, m[1] ?? ""])
      for (const m of s.matchAll(/PRIMARY KEY \(([^)]+)\)/g)) {
        for (const c of (m[1] ?? "").split(",")) found.push([table, c.trim()])
      }
    }
    const index = /^CREATE (?:UNIQUE )?INDEX \w+ ON ([a-z_]+) \(([^)]+)\)/.exec(s)
    if (index?.[1] !== undefined)
      for (const c of (index[2] ?? "").split(",")) found.push([index[1], c.trim()])
  }
  return found
}

/** The types SQL Server has that the migrations may use. */
export const allowedType = /^(NVARCHAR\((64|MAX)\)|INT|BIGINT)$/
/** Spellings of other dialects SQL Server refuses. */
export const foreign = /\bTEXT\b|AUTOINCREMENT|SERIAL/
