/**
 * The Graph codec on generated events of every shape (core's arbitraries), read back as Graph
 * returns them (`asGraphReturns`: the documented event resource, once as written and once as
 * `Prefer: outlook.timezone="UTC"` gives it, every time in UTC and the event's zone in
 * `originalStartTimeZone`), and on Graph JSON written by hand from the documented resources
 * (event, patternedRecurrence, recurrencePattern, recurrenceRange, dateTimeTimeZone). The laws
 * every codec keeps are core's (test/support/CodecLaws).
 */
import { ContentHash, type EventModel, Recurrence } from "@almanac/core"
import * as Zone from "@almanac/core/internal/Zone"
import { describe, expect, it } from "@effect/vitest"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as Option from "effect/Option"
import * as CodecLaws from "../../../core/test/support/CodecLaws.js"
import * as EventArbitraries from "../../../core/test/support/EventArbitraries.js"
import { GraphCodec } from "../../src/index.js"
import { allDay, series } from "../contract/ProviderContract.js"

const ZONE = "Europe/Berlin"
const MASTER_ID = "AAMkAGI2TG93AAA="

type Style = "as written" | "in UTC"

const pad = (n: number, w = 2) => String(n).padStart(w, "0")

/** A `dateTimeTimeZone` re-expressed in UTC, as Graph answers under `Prefer: outlook.timezone="UTC"`. */
const inUtc = (t: GraphCodec.DateTimeTimeZone): GraphCodec.DateTimeTimeZone => {
  const iana = t.timeZone === "UTC" ? "UTC" : (Zone.windowsToIana(t.timeZone ?? "") ?? "UTC")
  const [date = "", time = ""] = t.dateTime.split("T")
  const [y, mo, d] = date.split("-").map(Number)
  const [h, mi, s] = time.split(":").map(Number)
  const wall = Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 1, h ?? 0, mi ?? 0, s ?? 0)
  const zone = Zone.intlZone(iana)
  const instant = zone === undefined ? wall : Zone.wallToUtc(zone, wall)
  const u = new Date(instant)
  return {
    dateTime: `${pad(u.getUTCFullYear(), 4)}-${pad(u.getUTCMonth() + 1)}-${pad(u.getUTCDate())}T${pad(u.getUTCHours())}:${pad(u.getUTCMinutes())}:${pad(u.getUTCSeconds())}.0000000`,
    timeZone: "UTC"
  }
}

/** What Graph hands back of a body it stored: the documented read-only fields added. */
const stored = (
  body: GraphCodec.EventWrite,
  style: Style,
  extra: Record<string, unknown>
): Record<string, unknown> => ({
  "@odata.etag": 'W/"DwAAABYAAA=="',
  ...body,
  originalStartTimeZone: body.start.timeZone,
  originalEndTimeZone: body.end.timeZone,
  start:
    style === "in UTC" ? inUtc(body.start) : { ...body.start, dateTime: `${body.start.dateTime}.0000000` },
  end: style === "in UTC" ? inUtc(body.end) : body.end,
  isCancelled: false,
  isOrganizer: true,
  organizer: { emailAddress: { name: "Me", address: "me@example.org" } },
  attendees: [],
  ...extra
})

/**
 * The deleted occurrences Graph can report: those the series has (the provider finds them as
 * occurrences of the rule missing from the calendar view; a start that never was an occurrence
 * cannot go missing). Found by core's expansion of the master as written.
 */
const deletable = (
  encoded: GraphCodec.EncodedSeries,
  members: GraphCodec.SeriesMembers
): ReadonlyArray<string> => {
  const bare = GraphCodec.decode(
    MASTER_ID,
    { ...members, exceptions: [], cancelled: [] },
    { calendarZone: "UTC" }
  )
  if (Either.isLeft(bare)) return encoded.cancelled
  return encoded.cancelled.filter((key) => {
    const at = Date.parse(key)
    return Recurrence.instances(
      bare.right,
      { start: new Date(at - 86_400_000), end: new Date(at + 86_400_000) },
      { floatingZone: Zone.windowsToIana(encoded.master.start.timeZone ?? "") ?? "UTC" }
    ).some((i) => i.start.getTime() === at)
  })
}

const asGraphReturns = (encoded: GraphCodec.EncodedSeries, style: Style): GraphCodec.SeriesMembers => {
  const members = asWritten(encoded, style)
  return { ...members, cancelled: deletable(encoded, members) }
}

const asWritten = (encoded: GraphCodec.EncodedSeries, style: Style): GraphCodec.SeriesMembers =>
  JSON.parse(
    JSON.stringify({
      master: stored(encoded.master, style, {
        id: MASTER_ID,
        iCalUId: "040000008200E00074C5B7101A82E008",
        type: encoded.master.recurrence == null ? "singleInstance" : "seriesMaster",
        recurrence: encoded.master.recurrence ?? null
      }),
      exceptions: encoded.exceptions.map((x, i) =>
        stored(x.body, style, {
          id: `${MASTER_ID}_exception_${i}`,
          type: "exception",
          seriesMasterId: MASTER_ID,
          originalStart: x.originalStart.replace("Z", ".0000000Z"),
          recurrence: null
        })
      ),
      cancelled: encoded.cancelled
    })
  )

const encodeIn = (zone: string) => (r: EventModel.EventResource) =>
  GraphCodec.encode(r, { calendarZone: zone })

const holdableShape = (r: EventModel.EventResource): EventModel.EventResource => {
  const master = Option.map(r.master, (m) => ({
    ...m,
    status: Option.filter(m.status, (s) => s !== "CANCELLED"),
    rdates: []
  }))
  const recurs = Option.exists(master, (m) => Option.isSome(m.rrule))
  return { ...r, master, overrides: recurs ? r.overrides : [] }
}

const CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"]

const weekdayOf = (d: EventModel.DateValue) => new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay()

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate()

/**
 * The generated rule turned into one a pattern can say, kept as close as it was: its FREQ,
 * INTERVAL, COUNT or UNTIL, and BYDAY for a weekly rule, with the start's own day added (Outlook
 * begins a series on its first repeating day). Monthly and yearly rules repeat on the start's day
 * of the month, or (by `choice`) on its numbered weekday; days 29–31 and 29 February in Outlook's
 * "last day of shorter months" spelling.
 */
const sayableRule = (rule: string, start: EventModel.DateValue, choice: number): string => {
  const parts = new Map(rule.split(";").map((p) => p.split("=") as [string, string]))
  const keep = ["INTERVAL", "COUNT", "UNTIL"].flatMap((k) => (parts.has(k) ? [`${k}=${parts.get(k)}`] : []))
  const wd = CODES[weekdayOf(start)] ?? "MO"
  const nth = Math.ceil(start.day / 7)
  const byWeekday = `BYDAY=${nth === 5 ? -1 : nth}${wd}`
  const last = daysIn(start.year, start.month)
  const byMonthDay =
    start.day <= 28
      ? `BYMONTHDAY=${start.day}`
      : start.day === 31
        ? "BYMONTHDAY=-1"
        : start.day === last || start.month !== 2
          ? `BYMONTHDAY=${Array.from({ length: start.day - 27 }, (_, i) => 28 + i).join(",")};BYSETPOS=-1`
          : `BYMONTHDAY=${start.day}`
  switch (parts.get("FREQ")) {
    case "WEEKLY": {
      const days = new Set([...(parts.get("BYDAY")?.split(",") ?? []), wd])
      return ["FREQ=WEEKLY", `BYDAY=${[...days].join(",")}`, ...keep].join(";")
    }
    case "MONTHLY":
      return ["FREQ=MONTHLY", choice % 2 === 0 ? byMonthDay : byWeekday, ...keep].join(";")
    case "YEARLY":
      return [
        "FREQ=YEARLY",
        `BYMONTH=${start.month}`,
        choice % 2 === 0 ? byMonthDay : byWeekday,
        ...keep
      ].join(";")
    default:
      return ["FREQ=DAILY", ...keep].join(";")
  }
}

/**
 * A generated resource as Graph could hold it: a rule a pattern says, changed occurrences at
 * occurrences of the rule, EXDATEs half at occurrences (the other half names none and goes).
 */
const sayable = ([r, choice]: readonly [EventModel.EventResource, number]): EventModel.EventResource => {
  const shaped = holdableShape(r)
  if (Option.isNone(shaped.master) || Option.isNone(shaped.master.value.rrule)) return shaped
  const m0 = shaped.master.value
  const m = { ...m0, rrule: Option.some(sayableRule(Option.getOrThrow(m0.rrule), m0.start, choice)) }
  const from = Date.UTC(m.start.year, m.start.month - 1, m.start.day) - 2 * 86_400_000
  const occurrences = [
    ...Recurrence.instances(
      { ...shaped, master: Option.some({ ...m, exdates: [] }), overrides: [] },
      { start: new Date(from), end: new Date(from + 20 * 366 * 86_400_000) },
      { maxInstances: 40, floatingZone: ZONE }
    )
  ]
    .sort((a, b) => a.start.getTime() - b.start.getTime())
    .flatMap((i) => Option.toArray(i.recurrenceId))
  if (occurrences.length === 0) return { ...shaped, master: Option.some(m) }
  const at = (i: number) => occurrences[(i * 3 + choice) % occurrences.length] as EventModel.DateValue
  const seen = new Set<string>()
  const overrides = shaped.overrides.flatMap((o, i) => {
    const rid = at(i)
    const key = JSON.stringify(rid)
    if (seen.has(key)) return []
    seen.add(key)
    return [{ ...o, recurrenceId: Option.some(rid) }]
  })
  const exdates = m.exdates.map((x, i) => (i % 2 === 0 ? at(i + 5) : x))
  return { ...shaped, master: Option.some({ ...m, exdates }), overrides }
}

/**
 * Resources Graph can hold (the refusals are their own property below): a master that is not
 * cancelled, without RDATEs, a rule a pattern says, changed instances only of a series and at
 * its occurrences. Mapped rather than filtered, so that every generated shape reaches the laws.
 */
const holdable = (zone: string): FastCheck.Arbitrary<EventModel.EventResource> =>
  FastCheck.tuple(
    EventArbitraries.resource(CodecLaws.roughText).filter((r) => Option.isSome(r.master)),
    FastCheck.nat(1000)
  )
    .map(sayable)
    .filter((r) => Either.isRight(encodeIn(zone)(r)))

const readBack = (style: Style, zone: string) => (r: EventModel.EventResource) =>
  Either.match(encodeIn(zone)(r), {
    onLeft: (e) => {
      throw new Error(`a holdable resource was refused: ${e.reason}`)
    },
    onRight: (encoded) => asGraphReturns(encoded, style)
  })

describe("GraphCodec properties", () => {
  const cases: ReadonlyArray<readonly [string, Style]> = [
    [ZONE, "as written"],
    [ZONE, "in UTC"],
    ["UTC", "as written"],
    ["America/New_York", "in UTC"]
  ]
  for (const [zone, style] of cases) {
    describe(`keeps the codec laws on a calendar in ${zone}, read back ${style}`, () => {
      CodecLaws.laws(
        {
          encode: readBack(style, zone),
          decode: (members) => GraphCodec.decode(MASTER_ID, members, { calendarZone: zone }),
          normalize: (r) => GraphCodec.normalize(r, { calendarZone: zone })
        },
        { resources: holdable(zone) }
      )
    })
  }

  it.prop(
    "decode(encode(normalize(r))) is normalize(r) field by field, or encode says why Graph cannot hold r",
    [EventArbitraries.resource(), FastCheck.constantFrom(ZONE, "UTC", "Australia/Sydney")],
    ([resource, zone]) => {
      const normal = GraphCodec.normalize(resource, { calendarZone: zone })
      const encoded = encodeIn(zone)(normal)
      if (Either.isLeft(encoded)) {
        expect(encoded.left.reason.length).toBeGreaterThan(10)
        expect(encoded.left.reason).not.toMatch(/undefined|NaN|\[object/)
        return
      }
      const decoded = GraphCodec.decode(MASTER_ID, asGraphReturns(encoded.right, "in UTC"), {
        calendarZone: zone
      })
      if (Either.isLeft(decoded)) throw new Error(decoded.left.reason)
      expect(ContentHash.of(decoded.right)).toBe(ContentHash.of(normal))
      expect(decoded.right.master).toEqual(normal.master)
      expect(decoded.right.overrides).toEqual(normal.overrides)
      expect(decoded.right.origin).toEqual(normal.origin)
    },
    EventArbitraries.propOptions()
  )

  it("the laws meet almost every generated shape: few are refused after `sayable`, and series with changed occurrences are among them", () => {
    const sample = FastCheck.sample(
      FastCheck.tuple(
        EventArbitraries.resource().filter((r) => Option.isSome(r.master)),
        FastCheck.nat(1000)
      ).map(sayable),
      { numRuns: 300, seed: 7 }
    )
    const written = sample.filter((r) => Either.isRight(encodeIn(ZONE)(r)))
    expect(written.length).toBeGreaterThan(sample.length * 0.95)
    const withExceptions = written.filter((r) => Either.getOrThrow(encodeIn(ZONE)(r)).exceptions.length > 0)
    expect(withExceptions.length).toBeGreaterThan(30)
  })

  it.prop(
    "encode writes what Graph accepts: Windows zone names, midnight all-day times, no attendees, the UID on the master",
    [EventArbitraries.resource()],
    ([resource]) => {
      const encoded = encodeIn(ZONE)(resource)
      if (Either.isLeft(encoded)) return
      const { master, exceptions } = encoded.right
      for (const e of [master, ...exceptions.map((x) => x.body)]) {
        for (const t of [e.start, e.end]) {
          expect(t.dateTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
          expect(t.timeZone === "UTC" || Zone.windowsToIana(t.timeZone ?? "") !== undefined).toBe(true)
          if (e.isAllDay) expect(t.dateTime.endsWith("T00:00:00")).toBe(true)
        }
        expect(e.body.contentType).toBe("text")
        expect(Object.keys(e)).not.toContain("attendees")
        expect(Object.keys(e)).not.toContain("organizer")
      }
      for (const x of exceptions) {
        expect(x.body.recurrence).toBeUndefined()
        expect(x.originalStart).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
      }
      expect(master.singleValueExtendedProperties).toContainEqual({
        id: GraphCodec.PROPERTY_UID,
        value: resource.uid
      })
    },
    EventArbitraries.propOptions()
  )

  it.prop(
    "anything at all as Graph's answer decodes or is a BadItem with a reason; it never throws",
    [
      FastCheck.oneof(
        FastCheck.jsonValue(),
        FastCheck.record({
          id: FastCheck.constant(MASTER_ID),
          iCalUId: FastCheck.constant("u"),
          start: FastCheck.oneof(
            FastCheck.jsonValue(),
            FastCheck.record({ dateTime: FastCheck.string(), timeZone: FastCheck.string() })
          ),
          end: FastCheck.jsonValue(),
          isAllDay: FastCheck.boolean(),
          recurrence: FastCheck.oneof(
            FastCheck.jsonValue(),
            FastCheck.record({
              pattern: FastCheck.record({
                type: FastCheck.constantFrom(
                  "daily",
                  "weekly",
                  "absoluteMonthly",
                  "relativeMonthly",
                  "absoluteYearly",
                  "relativeYearly"
                ),
                interval: FastCheck.integer({ min: -1, max: 5 }),
                month: FastCheck.integer({ min: -1, max: 13 }),
                dayOfMonth: FastCheck.integer({ min: -1, max: 32 }),
                daysOfWeek: FastCheck.subarray(["monday", "friday", "sunday"])
              }),
              range: FastCheck.record({
                type: FastCheck.constantFrom("endDate", "noEnd", "numbered"),
                startDate: FastCheck.string(),
                endDate: FastCheck.oneof(FastCheck.string(), FastCheck.constant("2026-13-01")),
                numberOfOccurrences: FastCheck.integer({ min: -1, max: 5 })
              })
            })
          )
        })
      ),
      FastCheck.array(FastCheck.jsonValue(), { maxLength: 2 }),
      FastCheck.array(FastCheck.string(), { maxLength: 2 })
    ],
    ([master, exceptions, cancelled]) => {
      const decoded = GraphCodec.decode(MASTER_ID, { master, exceptions, cancelled }, { calendarZone: ZONE })
      if (Either.isLeft(decoded)) {
        expect(decoded.left._tag).toBe("BadItem")
        expect(decoded.left.reason.length).toBeGreaterThan(0)
      }
    },
    EventArbitraries.propOptions()
  )
})

describe("the provider contract's series and all-day event, read back as Graph returns them", () => {
  for (const zone of [ZONE, "America/New_York", "UTC"]) {
    it(`have the hash normalize gives them, on a calendar in ${zone}`, () => {
      const copy = (r: EventModel.EventResource): EventModel.EventResource => ({
        ...r,
        origin: Option.some({ relationship: "contract", sourceUid: r.uid })
      })
      for (const r of [series(), allDay(), copy(series()), copy(allDay())]) {
        const normal = GraphCodec.normalize(r, { calendarZone: zone })
        for (const style of ["as written", "in UTC"] as const) {
          const members = asGraphReturns(Either.getOrThrow(encodeIn(zone)(normal)), style)
          const back = Either.getOrThrow(GraphCodec.decode(MASTER_ID, members, { calendarZone: zone }))
          expect(ContentHash.canonical(back)).toBe(ContentHash.canonical(normal))
          expect(back.overrides).toHaveLength(r.overrides.length)
          expect(Option.map(back.master, (m) => [m.exdates.length, m.transp])).toEqual(
            Option.map(r.master, (m) => [m.exdates.length, m.transp])
          )
        }
      }
    })
  }
})
