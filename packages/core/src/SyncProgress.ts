/**
 * How far a poll has got, for whoever shows it: the CLI prints progress lines on stderr, the
 * server's status shows a poll in progress with its counts. One poll reports where it starts
 * (looking for changes), each batch of items fetched, and each write, with the totals known at
 * that point. Nobody listening is the default: a Context.Reference with a no-op, so SyncCycle
 * needs nothing more in its context.
 */
import { Context, Effect } from "effect"

export interface Progress {
  readonly calendarId: string
  /** list: asking the calendar what changed; fetch: reading changed items; write: writing copies. */
  readonly phase: "list" | "fetch" | "write"
  /** Items of this phase done so far, of `total` (both 0 while listing). */
  readonly done: number
  readonly total: number
}

export interface SyncProgressShape {
  /** Called often (per batch, per write): a listener that prints must thin the lines itself. */
  readonly report: (progress: Progress) => Effect.Effect<void>
}

export const none: SyncProgressShape = { report: () => Effect.void }

export class SyncProgress extends Context.Reference<SyncProgress>()("@almanac/core/SyncProgress", {
  defaultValue: (): SyncProgressShape => none
}) {}

/** How many items a poll asks the provider for at a time: CalDAV's multiget batch, a report each. */
export const fetchBatch = 100
