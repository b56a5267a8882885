import { Console, type Effect, Option } from "effect"

/** Options become their value or null, so that scripts get plain JSON. */
const plain = (value: unknown): unknown => {
  if (Option.isOption(value)) return plain(Option.getOrNull(value))
  if (Array.isArray(value)) return value.map(plain)
  if (value instanceof Date) return value.toISOString()
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]))
  }
  return value
}

export const toJson = (value: unknown): string => JSON.stringify(plain(value), null, 2)

export const printJson = (value: unknown): Effect.Effect<void> => Console.log(toJson(value))

/** A plain, aligned text table. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd()
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n")
}

export const orDash = (value: Option.Option<string>): string => Option.getOrElse(value, () => "-")

/** One line that says what went wrong, for any failure the CLI can meet. */
export const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const tag = "_tag" in error && typeof error._tag === "string" ? error._tag : undefined
    const message = "message" in error && typeof error.message === "string" ? error.message : ""
    if (tag === "CliError") return message
    if (tag !== undefined) {
      const details = Object.entries(error)
        .filter(
          ([k, v]) => k !== "_tag" && k !== "message" && (typeof v === "string" || typeof v === "number")
        )
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(" ")
      return [tag, message, details].filter((s) => s !== "").join(": ")
    }
    if (message !== "") return message
  }
  return String(error)
}
