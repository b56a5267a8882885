/**
 * The engine's metrics, defined once so that every place that counts uses the same names and tags.
 * They are Effect metrics: Effect keeps them in its process-wide registry, where they cost a map
 * update and nothing more until someone reads them (the server exports them at /metrics; the CLI
 * never does). Names follow Prometheus conventions; the exporter adds `_total` to counters.
 */
import { Effect, Metric, MetricBoundaries, MetricLabel } from "effect"
import type { PollOutcome } from "./CalendarActor.js"

/** Polls by outcome: synced, unchanged, incomplete (something left for the next poll), failed, defect. */
export const polls = Metric.counter("almanac_polls", {
  description: "Polls of a calendar, by outcome",
  incremental: true
})

const pollsBy = (outcome: string): Metric.Metric.Counter<number> => Metric.tagged(polls, "outcome", outcome)

/**
 * Errors by kind: the poll-ending kinds of docs/design.md (Unauthorized, RateLimited, Transient,
 * StoreError), TokenInvalid (a rejected cursor, answered with a merge), BadItem (a quarantined
 * item), Conflict (a write that lost its race twice or that the target refused) and Defect.
 */
export const errors = Metric.counter("almanac_errors", {
  description: "Errors met while syncing, by kind",
  incremental: true
})

export type ErrorKind =
  | "TokenInvalid"
  | "Unauthorized"
  | "RateLimited"
  | "Transient"
  | "StoreError"
  | "BadItem"
  | "Conflict"
  | "Defect"

export const error = (kind: ErrorKind): Metric.Metric.Counter<number> => Metric.tagged(errors, "kind", kind)

/** Writes to calendars: create, update, delete. Counted as each write lands. */
export const writes = Metric.counter("almanac_writes", {
  description: "Writes of copies to calendars, by kind",
  incremental: true
})

export const write = (kind: "create" | "update" | "delete"): Metric.Metric.Counter<number> =>
  Metric.tagged(writes, "kind", kind)

/** HTTP requests to calendar servers, by method and status class (2xx … 5xx, or "error" for no answer). */
export const requests = Metric.counter("almanac_calendar_requests", {
  description: "HTTP requests to calendar servers, by method and status class",
  incremental: true
})

export const request = (method: string, status: number | "error"): Metric.Metric.Counter<number> =>
  Metric.taggedWithLabels(requests, [
    MetricLabel.make("method", method),
    MetricLabel.make("status", status === "error" ? "error" : `${Math.floor(status / 100)}xx`)
  ])

/**
 * How late a poll began against the time it was scheduled for, in seconds. A healthy server shows
 * milliseconds; seconds mean a busy machine; minutes or hours mean the server was down or stalled.
 */
export const pollLateness = Metric.histogram(
  "almanac_poll_lateness_seconds",
  MetricBoundaries.fromIterable([0.05, 0.25, 1, 5, 15, 60, 300, 900, 3600]),
  "How late a poll began against its schedule, in seconds"
)

/** What a calendar's last poll left it in: polling normally, parked (password refused), halted (mass delete), error. */
export type CalendarState = "healthy" | "parked" | "halted" | "error"

export const calendarStates: ReadonlyArray<CalendarState> = ["healthy", "parked", "halted", "error"]

export const calendars = Metric.gauge("almanac_calendars", {
  description: "Watched calendars by the state their last poll left them in"
})

export const calendarsIn = (state: CalendarState): Metric.Metric.Gauge<number> =>
  Metric.tagged(calendars, "state", state)

/** The state a poll's outcome leaves a calendar in. */
export const stateOf = (outcome: PollOutcome): CalendarState => {
  switch (outcome._tag) {
    case "Ok":
      return outcome.report.halted.length > 0 ? "halted" : "healthy"
    case "Failed":
      return outcome.error._tag === "Unauthorized" ? "parked" : "error"
    case "Defect":
      return "error"
  }
}

/** Counts one poll the actor ran: its outcome, and its error's kind when it failed. */
export const countPoll = (outcome: PollOutcome): Effect.Effect<void> => {
  switch (outcome._tag) {
    case "Ok":
      return Metric.increment(pollsBy(outcome.report.outcome))
    case "Failed":
      return Effect.zipRight(Metric.increment(pollsBy("failed")), Metric.increment(error(outcome.error._tag)))
    case "Defect":
      return Effect.zipRight(Metric.increment(pollsBy("defect")), Metric.increment(error("Defect")))
  }
}
