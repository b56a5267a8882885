/**
 * The bench's calendar: a deterministic mix of timed events in four zones, all-day events,
 * weekly series, and weekly series with a moved instance (RECURRENCE-ID override) and a
 * cancelled one (EXDATE), built with the event model and written with the codec.
 */
import { EventModel } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Option } from "effect"

export interface CorpusItem {
  /** Resource name inside a calendar, e.g. "ev-0-0042.ics". */
  readonly name: string
  readonly resource: EventModel.EventResource
  /** iCalendar text as PUT. */
  readonly text: string
}

export const kinds = [
  "Europe/Berlin",
  "America/New_York",
  "Asia/Tokyo",
  "UTC",
  "all-day",
  "weekly",
  "weekly + override + EXDATE",
  "Europe/Berlin, tentative, transparent"
] as const

/** The first day events start on; the free/busy window starts three weeks later. */
const base = Date.UTC(2026, 10, 2)
const dayMs = 86_400_000

const dayAt = (offsetDays: number) => {
  const d = new Date(base + offsetDays * dayMs)
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }
}

const at = (tzid: string | undefined, offsetDays: number, hour: number, minute = 0): EventModel.DateValue => {
  const d = dayAt(offsetDays)
  return tzid === undefined
    ? EventModel.utc(d.year, d.month, d.day, hour, minute)
    : EventModel.zoned(tzid, d.year, d.month, d.day, hour, minute)
}

const allDay = (offsetDays: number): EventModel.DateValue => {
  const d = dayAt(offsetDays)
  return EventModel.date(d.year, d.month, d.day)
}

const text = (s: string) => Option.some(s)

/** The `i`-th resource of corpus variant `variant` (variants differ in UIDs and times). */
const resourceAt = (i: number, variant: number): EventModel.EventResource => {
  const uid = `almanac-bench-${variant}-${String(i).padStart(5, "0")}@bench.invalid`
  // Spread over ~13 weeks; variants shift by a day and an hour so their busy times differ.
  const offset = ((i * 37) % 90) + variant
  const hour = 7 + ((i + variant) % 11)
  const minute = (i % 4) * 15
  const common = {
    uid,
    summary: text(`Bench event ${i} (${kinds[i % kinds.length]})`),
    description:
      i % 3 === 0 ? text(`Agenda for item ${i}.\nSecond line, with a comma; and more.`) : Option.none(),
    location: i % 2 === 0 ? text(`Room ${(i % 40) + 1}`) : Option.none()
  }
  switch (i % kinds.length) {
    case 0:
    case 1:
    case 2: {
      const tzid = kinds[i % kinds.length]
      return EventModel.makeResource(
        EventModel.makeEvent({
          ...common,
          start: at(tzid, offset, hour, minute),
          end: at(tzid, offset, hour + 1, minute)
        })
      )
    }
    case 3:
      return EventModel.makeResource(
        EventModel.makeEvent({
          ...common,
          start: at(undefined, offset, hour, minute),
          end: at(undefined, offset, hour + 1, (minute + 30) % 60)
        })
      )
    case 4:
      return EventModel.makeResource(
        EventModel.makeEvent({
          ...common,
          start: allDay(offset),
          end: allDay(offset + 1 + (i % 3)),
          transp: i % 2 === 0 ? Option.some("TRANSPARENT") : Option.none()
        })
      )
    case 5: {
      const tzid = i % 2 === 0 ? "Europe/Berlin" : "America/New_York"
      return EventModel.makeResource(
        EventModel.makeEvent({
          ...common,
          start: at(tzid, offset, hour, minute),
          end: at(tzid, offset, hour + 1, minute),
          rrule: Option.some(i % 4 === 1 ? "FREQ=WEEKLY;COUNT=12" : "FREQ=WEEKLY;INTERVAL=2;COUNT=8")
        })
      )
    }
    case 6: {
      const tzid = i % 2 === 0 ? "America/New_York" : "Asia/Tokyo"
      const master = EventModel.makeEvent({
        ...common,
        start: at(tzid, offset, hour, minute),
        end: at(tzid, offset, hour + 1, minute),
        rrule: Option.some("FREQ=WEEKLY;COUNT=10"),
        // the third week is cancelled
        exdates: [at(tzid, offset + 14, hour, minute)]
      })
      // the second week is moved two hours later and renamed
      const moved = EventModel.makeEvent({
        ...common,
        summary: text(`Bench event ${i}, moved`),
        recurrenceId: Option.some(at(tzid, offset + 7, hour, minute)),
        start: at(tzid, offset + 7, hour + 2, minute),
        end: at(tzid, offset + 7, hour + 3, minute)
      })
      return EventModel.makeResource(master, [moved])
    }
    default:
      return EventModel.makeResource(
        EventModel.makeEvent({
          ...common,
          start: at("Europe/Berlin", offset, hour, minute),
          end: at("Europe/Berlin", offset, hour + 2, minute),
          status: Option.some("TENTATIVE"),
          transp: Option.some("TRANSPARENT")
        })
      )
  }
}

const itemOf = (name: string, resource: EventModel.EventResource): CorpusItem => ({
  name,
  resource,
  text: ICalCodec.serialize(resource)
})

/** `count` items of variant `variant` (0 for the calendars on the servers). */
export const make = (count: number, variant = 0): ReadonlyArray<CorpusItem> =>
  Array.from({ length: count }, (_, i) =>
    itemOf(`ev-${variant}-${String(i).padStart(5, "0")}.ics`, resourceAt(i, variant))
  )

/** The item with its title changed and SEQUENCE bumped, as an organiser's edit would. */
export const edited = (item: CorpusItem, round: string): CorpusItem => {
  const bump = (e: EventModel.VEvent): EventModel.VEvent => ({
    ...e,
    summary: Option.some(`${Option.getOrElse(e.summary, () => "")} [edit ${round}]`),
    sequence: e.sequence + 1
  })
  return itemOf(item.name, {
    ...item.resource,
    master: Option.map(item.resource.master, bump),
    overrides: item.resource.overrides.map(bump)
  })
}

export interface EditPlan {
  readonly updates: ReadonlyArray<number>
  readonly deletes: ReadonlyArray<number>
}

/** Indices spread over the corpus: `updates` to edit and `deletes` to remove, all distinct. */
export const editPlan = (count: number, updates: number, deletes: number): EditPlan => {
  const taken = new Set<number>()
  const pick = (n: number, phase: number): ReadonlyArray<number> => {
    const out: Array<number> = []
    for (let k = 0; k < n; k++) {
      let idx = Math.floor(((k + phase) * count) / n) % count
      // bounded: at most `count` probes for a free index
      for (let probe = 0; probe < count && taken.has(idx); probe++) idx = (idx + 1) % count
      if (taken.has(idx)) break
      taken.add(idx)
      out.push(idx)
    }
    return out
  }
  const u = pick(updates, 0.25)
  const d = pick(deletes, 0.6)
  return { updates: u, deletes: d }
}

/** The 30-day free/busy window over the corpus. */
export const freeBusyWindow = {
  start: new Date(base + 21 * dayMs),
  end: new Date(base + 51 * dayMs)
} as const
