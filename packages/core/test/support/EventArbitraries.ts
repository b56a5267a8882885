/**
 * Generators of events in every shape the model allows: the four kinds of time, recurrences,
 * overrides, attendees, and text full of what iCalendar must escape.
 */
import * as Arbitrary from "effect/Arbitrary"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as EventModel from "../../src/EventModel.js"

/** Runs per property: ALMANAC_PROPERTY_RUNS, else 1000 under CI and 100 locally. */
export const numRuns = (() => {
  const fromEnv = Number.parseInt(process.env.ALMANAC_PROPERTY_RUNS ?? "", 10)
  if (Number.isFinite(fromEnv) && fromEnv > 0) return fromEnv
  return process.env.CI === "true" || process.env.CI === "1" ? 1000 : 100
})()

export const propOptions = (timeout = 120_000) => ({ timeout, fastCheck: { numRuns } })

export const ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "UTC"] as const

const fc = FastCheck

/** Text of any Unicode except control characters (CR is normalised to LF by design). */
export const text = (minLength = 0): FastCheck.Arbitrary<string> =>
  fc
    .oneof(
      { weight: 3, arbitrary: fc.string({ unit: "binary", minLength, maxLength: 60 }) },
      {
        weight: 2,
        arbitrary: fc.string({
          unit: fc.constantFrom(",", ";", ":", "\\", "\n", "\t", '"', " ", "é", "日", "😀", "a", "Z"),
          minLength,
          maxLength: 30
        })
      },
      { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength, maxLength: 200 }) }
    )
    .map((s) => s.replace(/(?![\n\t])\p{Cc}/gu, ""))
    .filter((s) => s.length >= minLength)

const token = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 8,
  maxLength: 12
})

export const uid = fc
  .string({
    unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEF0123456789-_.@"),
    minLength: 1,
    maxLength: 40
  })
  .map((s) => `${s}-uid`)

export interface Years {
  readonly min: number
  readonly max: number
}

const ALL_YEARS: Years = { min: 1971, max: 2090 }

const ymdIn = (years: Years) =>
  fc
    .record({
      year: fc.integer(years),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 })
    })
    .filter((d) => d.day <= new Date(Date.UTC(d.year, d.month, 0)).getUTCDate())

const hms = fc.record({
  hour: fc.integer({ min: 0, max: 23 }),
  minute: fc.integer({ min: 0, max: 59 }),
  second: fc.integer({ min: 0, max: 59 })
})

export type Kind = "Date" | "UtcDateTime" | "ZonedDateTime" | "FloatingDateTime"

export const kind: FastCheck.Arbitrary<{ readonly kind: Kind; readonly tzid: string }> = fc.record({
  kind: fc.constantFrom<Kind>("Date", "UtcDateTime", "ZonedDateTime", "FloatingDateTime"),
  tzid: fc.constantFrom(...ZONES)
})

export const dateValueOf = (
  k: { readonly kind: Kind; readonly tzid: string },
  years: Years = ALL_YEARS
): FastCheck.Arbitrary<EventModel.DateValue> =>
  fc
    .tuple(ymdIn(years), hms)
    .map(
      ([d, t]): EventModel.DateValue =>
        k.kind === "Date"
          ? EventModel.date(d.year, d.month, d.day)
          : k.kind === "UtcDateTime"
            ? EventModel.utc(d.year, d.month, d.day, t.hour, t.minute, t.second)
            : k.kind === "ZonedDateTime"
              ? EventModel.zoned(k.tzid, d.year, d.month, d.day, t.hour, t.minute, t.second)
              : EventModel.floating(d.year, d.month, d.day, t.hour, t.minute, t.second)
    )

const wallMs = (d: EventModel.DateValue) => {
  const f = EventModel.fieldsOf(d)
  return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second)
}

/** A value of the same kind, some time after `start` (whole days for DATE). */
const after = (start: EventModel.DateValue): FastCheck.Arbitrary<EventModel.DateValue> =>
  (start._tag === "Date"
    ? fc.integer({ min: 1, max: 10 }).map((n) => n * 86_400_000)
    : fc.integer({ min: 0, max: 3 * 86_400 }).map((s) => s * 1000)
  ).map((ms) => {
    const d = new Date(wallMs(start) + ms)
    return EventModel.withFields(start, {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds()
    })
  })

const option = <A>(a: FastCheck.Arbitrary<A>): FastCheck.Arbitrary<Option.Option<A>> =>
  fc.option(a, { nil: undefined }).map(Option.fromNullable)

export const attendee: FastCheck.Arbitrary<EventModel.Attendee> = fc.record({
  address: token.map((t) => `mailto:${t}@example.org`),
  // ical.js reads a backslash in a parameter value as an escape, which RFC 5545 does not have;
  // a display name with a backslash is the one thing we do not carry faithfully.
  name: option(
    text(1)
      .map((s) => s.replace(/\\/g, "/"))
      .filter((s) => s.length > 0)
  ),
  scheduleAgent: option(fc.constantFrom("CLIENT", "SERVER"))
})

const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const

const basic = (d: EventModel.DateValue): string => {
  const f = EventModel.fieldsOf(d)
  const p = (n: number, w = 2) => String(n).padStart(w, "0")
  const date = `${p(f.year, 4)}${p(f.month)}${p(f.day)}`
  return d._tag === "Date" ? date : `${date}T${p(f.hour)}${p(f.minute)}${p(f.second)}Z`
}

/** A recurrence rule for a series starting at `start`, in RFC 5545 text. */
export const rule = (start: EventModel.DateValue): FastCheck.Arbitrary<string> =>
  fc
    .record({
      freq: fc.constantFrom("DAILY", "WEEKLY", "MONTHLY", "YEARLY"),
      interval: fc.option(fc.integer({ min: 2, max: 4 }), { nil: undefined }),
      end: fc.oneof(
        fc.constant(undefined),
        fc.integer({ min: 1, max: 30 }).map((n) => `COUNT=${n}`),
        fc.integer({ min: 1, max: 400 }).map((days) => {
          const until = EventModel.withFields(start._tag === "Date" ? start : EventModel.utc(2000, 1, 1), {
            ...EventModel.fieldsOf(start),
            ...(() => {
              const d = new Date(wallMs(start) + days * 86_400_000)
              return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }
            })()
          })
          return `UNTIL=${basic(until)}`
        })
      ),
      byday: fc.option(fc.uniqueArray(fc.constantFrom(...WEEKDAYS), { minLength: 1, maxLength: 7 }), {
        nil: undefined
      }),
      bymonth: fc.option(fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 3 }), {
        nil: undefined
      })
    })
    .map((r) =>
      [
        `FREQ=${r.freq}`,
        r.interval === undefined ? undefined : `INTERVAL=${r.interval}`,
        r.end,
        r.byday === undefined || r.freq === "YEARLY" ? undefined : `BYDAY=${r.byday.join(",")}`,
        r.bymonth === undefined || r.freq !== "YEARLY"
          ? undefined
          : `BYMONTH=${r.bymonth.sort((a, b) => a - b).join(",")}`
      ]
        .filter((x) => x !== undefined)
        .join(";")
    )

const status = Arbitrary.make(EventModel.Status)
const transp = Arbitrary.make(EventModel.Transparency)

interface EventShape {
  readonly uid: string
  readonly start: EventModel.DateValue
  readonly recurrenceId: Option.Option<EventModel.DateValue>
  readonly series: boolean
  readonly texts: FastCheck.Arbitrary<string>
  readonly years: Years
}

const eventOf = (shape: EventShape): FastCheck.Arbitrary<EventModel.VEvent> =>
  fc
    .record({
      end: after(shape.start),
      summary: option(shape.texts),
      description: option(shape.texts),
      location: option(shape.texts),
      rrule: shape.series ? option(rule(shape.start)) : fc.constant(Option.none<string>()),
      rdates: shape.series
        ? fc.array(dateValueOf(kindOf(shape.start), shape.years), { maxLength: 3 })
        : fc.constant([]),
      exdates: shape.series
        ? fc.array(dateValueOf(kindOf(shape.start), shape.years), { maxLength: 3 })
        : fc.constant([]),
      status: option(status),
      class: option(fc.constantFrom("PUBLIC", "PRIVATE", "CONFIDENTIAL", "X-ALMANAC-TEST")),
      transp: option(transp),
      organizer: option(attendee),
      attendees: fc.array(attendee, { maxLength: 3 }),
      sequence: fc.nat({ max: 1000 }),
      lastModified: option(dateValueOf({ kind: "UtcDateTime", tzid: "UTC" }))
    })
    .map((r) =>
      EventModel.makeEvent({
        ...r,
        uid: shape.uid,
        start: shape.start,
        recurrenceId: shape.recurrenceId,
        lastModified: r.lastModified as Option.Option<EventModel.UtcDateTime>
      })
    )

const kindOf = (d: EventModel.DateValue): { readonly kind: Kind; readonly tzid: string } => ({
  kind: d._tag,
  tzid: d._tag === "ZonedDateTime" ? d.tzid : "UTC"
})

const compareWall = (a: EventModel.DateValue, b: EventModel.DateValue) => wallMs(a) - wallMs(b)

/** A whole calendar object: a master (usually), overrides with distinct RECURRENCE-IDs, maybe an origin. */
export const resource = (
  texts: FastCheck.Arbitrary<string> = text(),
  years: Years = ALL_YEARS
): FastCheck.Arbitrary<EventModel.EventResource> =>
  fc
    .record({ uid, k: kind, hasMaster: fc.integer({ min: 0, max: 4 }).map((n) => n > 0) })
    .chain(({ uid, k, hasMaster }) =>
      fc
        .record({
          start: dateValueOf(k, years),
          rids: fc.uniqueArray(dateValueOf(k, years), { maxLength: 3, selector: (d) => wallMs(d) }),
          origin: option(fc.record({ relationship: text(1), sourceUid: text(1) }))
        })
        .chain(({ start, rids, origin }) =>
          fc.record({
            master:
              hasMaster || rids.length === 0
                ? eventOf({ uid, start, recurrenceId: Option.none(), series: true, texts, years }).map(
                    Option.some
                  )
                : fc.constant(Option.none<EventModel.VEvent>()),
            overrides: fc.tuple(
              ...rids.map((rid) =>
                dateValueOf(k, years).chain((s) =>
                  eventOf({ uid, start: s, recurrenceId: Option.some(rid), series: false, texts, years })
                )
              )
            ),
            origin: fc.constant(origin)
          })
        )
        .map(
          ({ master, overrides, origin }): EventModel.EventResource => ({
            uid,
            master,
            overrides: [...overrides].sort((a, b) =>
              Option.isSome(a.recurrenceId) && Option.isSome(b.recurrenceId)
                ? compareWall(a.recurrenceId.value, b.recurrenceId.value)
                : 0
            ),
            timezones: [],
            origin
          })
        )
    )
