/**
 * Free/busy computed by us from calendar objects (iCloud has no free-busy-query REPORT and
 * other servers answer it badly): recurrences expanded, transparent and cancelled time left
 * out, intervals merged.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import type * as EventModel from "./EventModel.js"
import * as Recurrence from "./Recurrence.js"

export interface Window {
  readonly start: Date
  readonly end: Date
}

/**
 * What to ask a calendar server for when the answer is busy time in `window`. Servers test a
 * calendar-query's time range against all-day and floating events in UTC (or a zone of their
 * own), while `busy` places them in the caller's zone: a day more on each side keeps events
 * that only the caller's zone moves into the window. `busy` clips to the real window.
 */
export const queryRange = (window: Window): Window => ({
  start: new Date(window.start.getTime() - 86_400_000),
  end: new Date(window.end.getTime() + 86_400_000)
})

export interface Interval {
  readonly start: Date
  readonly end: Date
}

export interface Options {
  /** All-day events count as busy (default true). */
  readonly allDayBusy?: boolean
  /** Occurrences generated per series before giving up on it (default 5000). */
  readonly maxInstances?: number
  /** IANA zone that all-day and floating times are read in (default "UTC"). */
  readonly floatingZone?: string
}

const blocksTime = (event: EventModel.VEvent, allDayBusy: boolean): boolean =>
  !(Option.contains(event.status, "CANCELLED") || Option.contains(event.transp, "TRANSPARENT")) &&
  (allDayBusy || !event.allDay)

const recurrenceOptions = (options: Options | undefined): Recurrence.Options => ({
  ...(options?.maxInstances === undefined ? {} : { maxInstances: options.maxInstances }),
  ...(options?.floatingZone === undefined ? {} : { floatingZone: options.floatingZone })
})

/** A series whose expansion was cut inside the window: its busy time is shown only before `until`. */
export interface CutSeries {
  /** Position of the resource in the input. */
  readonly index: number
  readonly uid: string
  readonly cut: Recurrence.Cut
}

export interface Report {
  readonly busy: ReadonlyArray<Interval>
  /** Series not expanded to the window's end; an answer must say so rather than read as free. */
  readonly cut: ReadonlyArray<CutSeries>
}

/**
 * Busy intervals over [window.start, window.end): sorted, disjoint (touching intervals are
 * merged), clipped to the window; and the series whose expansion was cut before its end.
 */
export const report = (
  resources: Iterable<EventModel.EventResource>,
  window: Window,
  options?: Options
): Report => {
  const allDayBusy = options?.allDayBusy ?? true
  const ws = window.start.getTime()
  const we = window.end.getTime()
  if (!(we > ws)) return { busy: [], cut: [] }
  const raw: Array<[number, number]> = []
  const cut: Array<CutSeries> = []
  const ropts = recurrenceOptions(options)
  let index = -1
  for (const resource of resources) {
    index++
    const master = Option.getOrUndefined(resource.master)
    // A cancelled series cancels its overrides too.
    if (master !== undefined && Option.contains(master.status, "CANCELLED")) continue
    const expansion = Recurrence.expand(resource, window, ropts)
    // A cut series that blocks no time anyway (transparent, or all-day when those are free)
    // loses nothing from the answer.
    if (Option.isSome(expansion.cut) && master !== undefined && blocksTime(master, allDayBusy))
      cut.push({ index, uid: resource.uid, cut: expansion.cut.value })
    for (const inst of expansion.instances) {
      if (!blocksTime(inst.event, allDayBusy)) continue
      const s = Math.max(ws, inst.start.getTime())
      const e = Math.min(we, inst.end.getTime())
      if (e > s) raw.push([s, e])
    }
  }
  return { busy: mergeRaw(raw), cut }
}

/** The busy intervals of `report`, for callers that say nothing of cut series. */
export const busy = (
  resources: Iterable<EventModel.EventResource>,
  window: Window,
  options?: Options
): ReadonlyArray<Interval> => report(resources, window, options).busy

/** A cut series in words, for the `skipped` of an answer. */
export const cutReason = (c: Recurrence.Cut): string =>
  c.reason === "unreadable"
    ? `its recurrence rule could not be expanded; its busy time from ${c.until.toISOString()} on is not shown`
    : `it repeats more than ${c.limit} times up to the end of the window; busy time is shown only until ${c.until.toISOString()}`

const mergeRaw = (raw: Array<[number, number]>): ReadonlyArray<Interval> => {
  raw.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const merged: Array<[number, number]> = []
  for (const [s, e] of raw) {
    const last = merged[merged.length - 1]
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e)
    else merged.push([s, e])
  }
  return merged.map(([s, e]) => ({ start: new Date(s), end: new Date(e) }))
}

/**
 * Busy intervals from several sources (our own expansion, a provider's free/busy answer) as one
 * answer: clipped to the window, sorted, disjoint (touching intervals are merged).
 */
export const merge = (intervals: Iterable<Interval>, window: Window): ReadonlyArray<Interval> => {
  const ws = window.start.getTime()
  const we = window.end.getTime()
  const raw: Array<[number, number]> = []
  for (const i of intervals) {
    const s = Math.max(ws, i.start.getTime())
    const e = Math.min(we, i.end.getTime())
    if (e > s) raw.push([s, e])
  }
  return mergeRaw(raw)
}

/**
 * Whether any instance of the resource (whatever its status or transparency) overlaps the
 * window; the engine's test for "inside the sync window". A series cut before the window's end
 * with nothing found counts as inside: not knowing is no reason to leave a meeting uncopied.
 */
export const occursWithin = (
  resource: EventModel.EventResource,
  window: Window,
  options?: Pick<Options, "maxInstances" | "floatingZone">
): boolean => {
  const expansion = Recurrence.expand(resource, window, recurrenceOptions(options))
  return expansion.instances.length > 0 || Option.isSome(expansion.cut)
}
