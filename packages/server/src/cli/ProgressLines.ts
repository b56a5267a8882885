/**
 * Progress of a long sync as lines on stderr ("almanac: from: fetched 200/2000"), for `sync once`
 * and `sync watch`. Thin: at most a line a second per calendar, plus the last of a phase when the
 * phase was long (many items, or a line already printed). A small sync prints none: its summary
 * says it all.
 */
import type { SyncProgress } from "@almanac/core"
import { Clock, Console, Effect } from "effect"

export interface Options {
  /** The words for a calendar in a line ("from", "to"). */
  readonly label: (calendarId: string) => string
  readonly everyMillis?: number
  /** A phase with this many items or more always ends with its line. */
  readonly manyItems?: number
}

const verb = { fetch: "fetched", write: "written" } as const

export const make = (options: Options): SyncProgress.SyncProgressShape => {
  const everyMillis = options.everyMillis ?? 1000
  const manyItems = options.manyItems ?? 100
  const state = new Map<string, { phase: string; lastAt: number; printed: boolean }>()
  return {
    report: (p) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const key = p.calendarId
        let s = state.get(key)
        if (s === undefined || s.phase !== p.phase) {
          s = { phase: p.phase, lastAt: now, printed: false }
          state.set(key, s)
        }
        if (p.phase === "list") return
        const last = p.done >= p.total
        const due = last ? p.total >= manyItems || s.printed : now - s.lastAt >= everyMillis
        if (!due) return
        s.lastAt = now
        s.printed = true
        yield* Console.error(`almanac: ${options.label(p.calendarId)}: ${verb[p.phase]} ${p.done}/${p.total}`)
      })
  }
}
