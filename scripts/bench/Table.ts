/**
 * Aligned text tables for the bench's printout: the first column left-aligned, the others right.
 */

export interface Table {
  readonly title: string
  readonly headers: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  /** Lines printed under the table (warnings, notes). */
  readonly notes?: ReadonlyArray<string>
}

/** The table as text, ending in a newline. */
export const render = (table: Table): string => {
  const columns = table.headers.length
  const widths = table.headers.map((h, i) =>
    Math.max(h.length, ...table.rows.map((r) => (r[i] ?? "").length))
  )
  const line = (cells: ReadonlyArray<string>) =>
    Array.from({ length: columns }, (_, i) => {
      const cell = cells[i] ?? ""
      const width = widths[i] ?? 0
      return i === 0 ? cell.padEnd(width) : cell.padStart(width)
    })
      .join("  ")
      .trimEnd()
  const rule = widths.map((w) => "-".repeat(w)).join("  ")
  const out = [table.title, line(table.headers), rule, ...table.rows.map(line), ...(table.notes ?? [])]
  return `${out.join("\n")}\n`
}

/** Integers with thousands separators. */
export const int = (n: number): string => Math.round(n).toLocaleString("en-US")

/** Milliseconds with a precision that suits their size. */
export const ms = (n: number): string => (n >= 100 ? int(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2))

/** Bytes as B, KB or MB (1 KB = 1000 B). */
export const bytes = (n: number): string =>
  n < 1000
    ? `${int(n)} B`
    : n < 1_000_000
      ? `${(n / 1000).toFixed(1)} KB`
      : `${(n / 1_000_000).toFixed(2)} MB`

/** a / b as "N.NNx", or "n/a" when b is zero or either is missing. */
export const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || b === 0 || !Number.isFinite(a / b) ? "n/a" : `${(a / b).toFixed(2)}x`
