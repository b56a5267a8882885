/**
 * The engine's tables have one owner (issue 12): core's SyncStore writes cursors, poll state,
 * links, quarantine, conflicts, runs and relationships; the server writes only its own tables and,
 * on a calendar's row, the columns a person sees, and on a relationship's, its owner. This reads the server's sources for SQL that
 * writes the engine's tables, so that a module writing them directly fails here, by name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const src = fileURLToPath(new URL("../src", import.meta.url))

const files = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith(".ts") ? [path] : []
  })

const engineTables = ["links", "quarantine", "conflicts", "sync_runs"]
/**
 * The engine's rows on which the server keeps columns of its own, and those columns: on a calendar
 * what discovery finds (not engine state), on a relationship its owner. Rows are made and removed
 * only by the engine.
 */
const serverColumns: Readonly<Record<string, ReadonlySet<string>>> = {
  calendars: new Set(["display_name", "color", "writable", "time_zone"]),
  relationships: new Set(["user_id"])
}

/** Every statement in the server's sources that writes what the engine owns, as "file: statement". */
const engineWrites = (): ReadonlyArray<string> => {
  const found: Array<string> = []
  for (const file of files(src)) {
    const text = readFileSync(file, "utf8")
    const where = file.slice(src.length + 1)
    for (const m of text.matchAll(/\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE)\s+(\w+)([^`]*)/gi)) {
      const [statement, verb = "", table = "", rest = ""] = m
      const t = table.toLowerCase()
      if (engineTables.includes(t)) found.push(`${where}: ${statement.slice(0, 80)}`)
      const own = serverColumns[t]
      if (own === undefined) continue
      if (!/^UPDATE$/i.test(verb)) {
        found.push(`${where}: ${statement.slice(0, 80)}`)
        continue
      }
      const set = /\bSET\s+([\s\S]*?)(\bWHERE\b|$)/i.exec(rest)?.[1] ?? ""
      const columns = [...set.matchAll(/(\w+)\s*=/g)].map((c) => (c[1] ?? "").toLowerCase())
      const engine = columns.filter((c) => !own.has(c))
      if (columns.length === 0 || engine.length > 0)
        found.push(`${where}: UPDATE ${t} SET ${engine.join(", ")}`)
    }
  }
  return found
}

describe("the engine's tables have one owner", () => {
  it("no server module writes the engine's tables or a calendar's engine columns", () => {
    expect(files(src).length).toBeGreaterThan(20)
    expect(engineWrites()).toEqual([])
  })
})
