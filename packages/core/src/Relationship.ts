/**
 * A relationship: events of one calendar (the source) kept as copies on another (the target),
 * under a policy and, optionally, within a window of days around today. Both halves of a two-way
 * mirror are relationships sharing a pair id.
 *
 * @since 0.1.0
 */
import type * as Option from "effect/Option"
import type { SyncPolicy } from "./Policy.js"

/** How far back and ahead of today a relationship reaches. */
export interface SyncWindow {
  readonly pastDays: number
  readonly futureDays: number
}

export interface Relationship {
  readonly id: string
  readonly sourceCalendarId: string
  readonly targetCalendarId: string
  /** Set on both halves of a two-way mirror. */
  readonly pairId: Option.Option<string>
  readonly policy: SyncPolicy
  readonly window: Option.Option<SyncWindow>
  readonly paused: boolean
}
