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

/**
 * Busy intervals over [window.start, window.end): sorted, disjoint (touching intervals are
 * merged), clipped to the window.
 */
export const busy = (
  resources: Iterable<EventModel.EventResource>,
  window: Window,
  options?: Options
): ReadonlyArray<Interval> => {
  const allDayBusy = options?.allDayBusy ?? true
  const ws = window.start.getTime()
  const we = window.end.getTime()
  if (!(we > ws)) return []
  const raw: Array<[number, number]> = []
  const ropts = recurrenceOptions(options)
  for (const resource of resources) {
    const master = Option.getOrUndefined(resource.master)
    // A cancelled series cancels its overrides too.
    if (master !== undefined && Option.contains(master.status, "CANCELLED")) continue
    for (const inst of Recurrence.instances(resource, window, ropts)) {
      if (!blocksTime(inst.event, allDayBusy)) continue
      const s = Math.max(ws, inst.start.getTime())
      const e = Math.min(we, inst.end.getTime())
      if (e > s) raw.push([s, e])
    }
  }
  return mergeRaw(raw)
}

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
 * window; the engine's test for "inside the sync window".
 */
export const occursWithin = (
  resource: EventModel.EventResource,
  window: Window,
  options?: Pick<Options, "maxInstances" | "floatingZone">
): boolean => Recurrence.instances(resource, window, recurrenceOptions(options)).length > 0
