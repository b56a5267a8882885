/**
 * The Graph codec on generated events of every shape (core's arbitraries), read back as Graph
 * returns them (`asGraphReturns`: the documented event resource, once as written and once as
 * `Prefer: outlook.timezone="UTC"` gives it, every time in UTC and the event's zone in
 * `originalStartTimeZone`), and on Graph JSON written by hand from the documented resources
 * (event, patternedRecurrence, recurrencePattern, recurrenceRange, dateTimeTimeZone). The laws
 * every codec keeps are core's (test/support/CodecLaws).
 */
import { ContentHash, EventModel, Recurrence } from "@almanac/core"
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
        // Four calendars × three laws of a codec several times slower than iCalendar's: CI's
        // 1000 runs each made this file take 100 s of synchronous work.
        { resources: holdable(zone), numRuns: Math.min(EventArbitraries.numRuns, 250) }
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
      const origin = master.singleValueExtendedProperties?.find((p) => p.id === GraphCodec.PROPERTY_ORIGIN)
      expect(JSON.parse(origin?.value ?? "{}").uid).toBe(resource.uid)
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

const opts = { calendarZone: ZONE }

/** A series in a zone, with a rule, for the pattern tables. */
const seriesOf = (rule: string, start: EventModel.DateValue, end: EventModel.DateValue) =>
  EventModel.makeResource(
    EventModel.makeEvent({ uid: "s@x", start, end, summary: Option.some("s"), rrule: Option.some(rule) })
  )

const berlin = (y: number, m: number, d: number, h = 10) => EventModel.zoned(ZONE, y, m, d, h)

describe("GraphCodec on Graph's own shapes", () => {
  // The documented example of a weekly series (event resource, patternedRecurrence), as Graph
  // returns it: every pattern field filled, an HTML body, attendees, Windows zone names.
  const master = {
    "@odata.etag": 'W/"ZlnW4RIAV06KYYwlrfNZvQAAKGWwbw=="',
    id: "AAMkAGI2TG93AAA=",
    iCalUId: "040000008200E00074C5B7101A82E00800000000D3D70B8A",
    type: "seriesMaster",
    subject: "Let's go for lunch",
    body: {
      contentType: "html",
      content:
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"></head><body><div>Does noon time work for you?<br>Café &amp; bar</div></body></html>'
    },
    start: { dateTime: "2017-09-04T12:00:00.0000000", timeZone: "Pacific Standard Time" },
    end: { dateTime: "2017-09-04T14:00:00.0000000", timeZone: "Pacific Standard Time" },
    originalStartTimeZone: "Pacific Standard Time",
    originalEndTimeZone: "Pacific Standard Time",
    isAllDay: false,
    isCancelled: false,
    isOrganizer: false,
    showAs: "busy",
    sensitivity: "personal",
    location: { displayName: "Harry's Bar", locationType: "default" },
    recurrence: {
      pattern: {
        type: "weekly",
        interval: 1,
        month: 0,
        dayOfMonth: 0,
        daysOfWeek: ["monday"],
        firstDayOfWeek: "sunday",
        index: "first"
      },
      range: {
        type: "endDate",
        startDate: "2017-09-04",
        endDate: "2017-12-31",
        recurrenceTimeZone: "Pacific Standard Time",
        numberOfOccurrences: 0
      }
    },
    attendees: [
      {
        type: "required",
        status: { response: "none", time: "0001-01-01T00:00:00Z" },
        emailAddress: { name: "Samantha Booth", address: "samanthab@contoso.onmicrosoft.com" }
      }
    ],
    organizer: { emailAddress: { name: "Dana Swope", address: "danas@contoso.onmicrosoft.com" } }
  }
  const moved = {
    id: "AAMkAGI2TG93AAE=",
    type: "exception",
    seriesMasterId: "AAMkAGI2TG93AAA=",
    originalStart: "2017-09-11T19:00:00Z",
    subject: "Let's go for lunch",
    body: { contentType: "text", content: "Later this week\r\nsorry" },
    start: { dateTime: "2017-09-11T20:00:00.0000000", timeZone: "UTC" },
    end: { dateTime: "2017-09-11T22:00:00.0000000", timeZone: "UTC" },
    originalStartTimeZone: "Pacific Standard Time",
    originalEndTimeZone: "Pacific Standard Time",
    showAs: "tentative",
    sensitivity: "normal",
    isAllDay: false,
    location: { displayName: "" }
  }

  it("a series master, a moved occurrence and a deleted one are one resource", () => {
    const r = GraphCodec.decode(
      master.id,
      { master, exceptions: [moved], cancelled: ["2017-09-18T19:00:00Z"] },
      opts
    )
    if (Either.isLeft(r)) throw new Error(r.left.reason)
    const m = Option.getOrThrow(r.right.master)
    const la = (d: number, h: number) => EventModel.zoned("America/Los_Angeles", 2017, 9, d, h)
    expect(r.right.uid).toBe(master.iCalUId)
    expect([m.start, m.end]).toEqual([la(4, 12), la(4, 14)])
    // 31 December 23:59:59 in Los Angeles (PST, UTC-8) is 1 January 07:59:59 UTC.
    expect(m.rrule).toEqual(Option.some("FREQ=WEEKLY;BYDAY=MO;WKST=SU;UNTIL=20180101T075959Z"))
    expect(m.exdates).toEqual([la(18, 12)])
    expect(m.summary).toEqual(Option.some("Let's go for lunch"))
    expect(m.description).toEqual(Option.some("Does noon time work for you?\nCafé & bar"))
    expect(m.location).toEqual(Option.some("Harry's Bar"))
    expect(m.class).toEqual(Option.some("PRIVATE"))
    expect([m.status, m.transp]).toEqual([Option.none(), Option.none()])
    expect(m.attendees.map((a) => a.address)).toEqual(["mailto:samanthab@contoso.onmicrosoft.com"])
    expect(Option.map(m.organizer, (o) => o.address)).toEqual(
      Option.some("mailto:danas@contoso.onmicrosoft.com")
    )
    expect(r.right.overrides).toHaveLength(1)
    const o = r.right.overrides[0]
    expect(o?.recurrenceId).toEqual(Option.some(la(11, 12)))
    expect([o?.start, o?.end]).toEqual([la(11, 13), la(11, 15)])
    expect(o?.status).toEqual(Option.some("TENTATIVE"))
    expect(o?.description).toEqual(Option.some("Later this week\nsorry"))
    expect(o?.location).toEqual(Option.none())
  })

  it("an exception Graph marks cancelled is a deleted occurrence; one changed back is no override", () => {
    const cancelled = { ...moved, isCancelled: true }
    const r = Either.getOrThrow(
      GraphCodec.decode(master.id, { master, exceptions: [cancelled], cancelled: [] }, opts)
    )
    expect(Option.map(r.master, (m) => m.exdates)).toEqual(
      Option.some([EventModel.zoned("America/Los_Angeles", 2017, 9, 11, 12)])
    )
    expect(r.overrides).toEqual([])
    const back = {
      ...master,
      id: moved.id,
      type: "exception",
      seriesMasterId: master.id,
      originalStart: moved.originalStart,
      recurrence: null,
      start: { dateTime: "2017-09-11T12:00:00.0000000", timeZone: "Pacific Standard Time" },
      end: { dateTime: "2017-09-11T14:00:00.0000000", timeZone: "Pacific Standard Time" }
    }
    const same = Either.getOrThrow(
      GraphCodec.decode(master.id, { master, exceptions: [back], cancelled: [] }, opts)
    )
    expect(same.overrides).toEqual([])
  })

  it("patterns and rules, both ways, in one spelling", () => {
    const cases: ReadonlyArray<readonly [string, EventModel.DateValue, unknown, string]> = [
      [
        "FREQ=DAILY;INTERVAL=2;COUNT=5",
        berlin(2026, 12, 1),
        { type: "daily", interval: 2 },
        "FREQ=DAILY;INTERVAL=2;COUNT=5"
      ],
      [
        "FREQ=WEEKLY;BYDAY=FR,MO,WE;WKST=SU",
        berlin(2026, 11, 30),
        {
          type: "weekly",
          interval: 1,
          daysOfWeek: ["monday", "wednesday", "friday"],
          firstDayOfWeek: "sunday"
        },
        "FREQ=WEEKLY;BYDAY=MO,WE,FR;WKST=SU"
      ],
      [
        "FREQ=WEEKLY;INTERVAL=3",
        berlin(2026, 12, 1),
        { type: "weekly", interval: 3, daysOfWeek: ["tuesday"], firstDayOfWeek: "monday" },
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU"
      ],
      [
        "FREQ=MONTHLY",
        berlin(2026, 12, 15),
        { type: "absoluteMonthly", interval: 1, dayOfMonth: 15 },
        "FREQ=MONTHLY;BYMONTHDAY=15"
      ],
      [
        "FREQ=MONTHLY;BYDAY=-1FR",
        berlin(2026, 12, 25),
        { type: "relativeMonthly", interval: 1, daysOfWeek: ["friday"], index: "last" },
        "FREQ=MONTHLY;BYDAY=-1FR"
      ],
      [
        "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
        berlin(2026, 12, 8),
        { type: "relativeMonthly", interval: 1, daysOfWeek: ["tuesday"], index: "second" },
        "FREQ=MONTHLY;BYDAY=2TU"
      ],
      [
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1",
        berlin(2026, 11, 2),
        {
          type: "relativeMonthly",
          interval: 1,
          daysOfWeek: ["monday", "tuesday", "wednesday", "thursday", "friday"],
          index: "first"
        },
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=1"
      ],
      [
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        berlin(2027, 1, 31),
        { type: "absoluteMonthly", interval: 1, dayOfMonth: 31 },
        "FREQ=MONTHLY;BYMONTHDAY=-1"
      ],
      [
        "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1",
        berlin(2026, 11, 30),
        { type: "absoluteMonthly", interval: 1, dayOfMonth: 30 },
        "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"
      ],
      [
        "FREQ=YEARLY",
        berlin(2026, 3, 14),
        { type: "absoluteYearly", interval: 1, month: 3, dayOfMonth: 14 },
        "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=14"
      ],
      [
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        berlin(2026, 11, 26),
        { type: "relativeYearly", interval: 1, month: 11, daysOfWeek: ["thursday"], index: "fourth" },
        "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH"
      ],
      [
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1",
        EventModel.date(2028, 2, 29),
        { type: "absoluteYearly", interval: 1, month: 2, dayOfMonth: 29 },
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"
      ]
    ]
    for (const [rule, start, pattern, canonical] of cases) {
      const end =
        start._tag === "Date"
          ? EventModel.date(start.year, start.month, start.day + 1)
          : berlin(start.year, start.month, start.day, 11)
      const resource = seriesOf(rule, start, end)
      const encoded = Either.getOrThrow(GraphCodec.encode(resource, opts))
      expect([rule, encoded.master.recurrence?.pattern]).toEqual([rule, pattern])
      const back = Either.getOrThrow(GraphCodec.decode(MASTER_ID, asGraphReturns(encoded, "in UTC"), opts))
      expect(Option.flatMap(back.master, (m) => m.rrule)).toEqual(Option.some(canonical))
      expect(Option.flatMap(GraphCodec.normalize(resource, opts).master, (m) => m.rrule)).toEqual(
        Option.some(canonical)
      )
    }
  })

  it("ranges: COUNT is numbered, no end is noEnd, UNTIL is the last day with an occurrence in the series' zone", () => {
    const range = (rule: string, start = berlin(2026, 12, 1)) =>
      Either.getOrThrow(GraphCodec.encode(seriesOf(rule, start, berlin(2026, 12, 1, 11)), opts)).master
        .recurrence?.range
    expect(range("FREQ=DAILY;COUNT=4")).toEqual({
      type: "numbered",
      numberOfOccurrences: 4,
      startDate: "2026-12-01",
      recurrenceTimeZone: "W. Europe Standard Time"
    })
    expect(range("FREQ=DAILY")).toEqual({
      type: "noEnd",
      startDate: "2026-12-01",
      recurrenceTimeZone: "W. Europe Standard Time"
    })
    // 08:00 UTC is 09:00 in Berlin, before the 10:00 occurrence: the 5th has none left.
    expect(range("FREQ=DAILY;UNTIL=20261205T080000Z")?.endDate).toBe("2026-12-04")
    expect(range("FREQ=DAILY;UNTIL=20261205T090000Z")?.endDate).toBe("2026-12-05")
    const allDayRange = Either.getOrThrow(
      GraphCodec.encode(
        seriesOf("FREQ=DAILY;UNTIL=20261205", EventModel.date(2026, 12, 1), EventModel.date(2026, 12, 2)),
        opts
      )
    ).master.recurrence?.range
    expect(allDayRange?.endDate).toBe("2026-12-05")
  })

  it("refuses what Outlook cannot repeat, saying why", () => {
    const reason = (r: EventModel.EventResource) =>
      Either.match(GraphCodec.encode(r, opts), { onLeft: (e) => e.reason, onRight: () => "written" })
    const monday = berlin(2026, 11, 30)
    const rule = (text: string, start: EventModel.DateValue = monday) =>
      reason(seriesOf(text, start, berlin(start.year, start.month, start.day, 11)))
    expect(rule("FREQ=HOURLY")).toBe("Outlook cannot repeat an event every hour")
    expect(rule("FREQ=SECONDLY")).toBe("Outlook cannot repeat an event every second")
    expect(rule("FREQ=DAILY;BYHOUR=10,16")).toBe("Outlook cannot repeat an event at several hours of a day")
    expect(rule("FREQ=YEARLY;BYWEEKNO=20")).toBe(
      "Outlook cannot repeat an event in numbered weeks of the year"
    )
    expect(rule("FREQ=MONTHLY;BYMONTHDAY=1,30")).toBe(
      "Outlook can repeat an event monthly on one day of the month only"
    )
    expect(rule("FREQ=DAILY;COUNT=3;UNTIL=20261210T000000Z")).toBe(
      "the rule has both COUNT and UNTIL, which RFC 5545 forbids"
    )
    expect(rule("FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1,2")).toBe(
      "Outlook can pick one position of a month's days, not several"
    )
    expect(rule("FREQ=MONTHLY;BYDAY=MO")).toBe(
      "Outlook cannot repeat an event on every such weekday of a month; a weekly repeat can"
    )
    expect(rule("FREQ=YEARLY;BYMONTH=1,7")).toBe("Outlook can repeat an event yearly in one month only")
    expect(rule("FREQ=MONTHLY", berlin(2027, 1, 31))).toBe(
      "Outlook repeats a monthly event on day 31 on the last day of shorter months, where this rule skips them"
    )
    expect(rule("FREQ=YEARLY", EventModel.date(2028, 2, 29))).toBe(
      "Outlook repeats a yearly event on 29 February on the 28th in other years, where this rule skips them"
    )
    expect(rule("FREQ=WEEKLY;BYDAY=TU")).toBe(
      "the series' first time is not one of its repeating days; Outlook would move the series to the next such day"
    )
    const base = seriesOf("FREQ=DAILY;COUNT=5", monday, berlin(2026, 11, 30, 11))
    const m = Option.getOrThrow(base.master)
    expect(reason({ ...base, master: Option.some({ ...m, rdates: [berlin(2026, 12, 24)] }) })).toBe(
      "Outlook cannot add single extra dates (RDATE) to an event"
    )
    expect(reason({ ...base, master: Option.some({ ...m, status: Option.some("CANCELLED") }) })).toBe(
      "a cancelled event, which Outlook cannot hold (only a meeting's organizer cancels it, by mail)"
    )
    const stray = EventModel.makeEvent({
      uid: "s@x",
      recurrenceId: Option.some(berlin(2026, 12, 1, 12)),
      start: berlin(2026, 12, 1, 12),
      end: berlin(2026, 12, 1, 13)
    })
    expect(reason({ ...base, overrides: [stray] })).toBe(
      "the changed occurrence at 2026-12-01T12:00:00 Europe/Berlin is not one of the series' occurrences, which Outlook cannot hold"
    )
    expect(reason({ ...base, master: Option.none(), overrides: [stray] })).toBe(
      "changed occurrences of a series without the series itself, which Outlook cannot hold"
    )
    expect(
      reason(
        EventModel.makeResource(
          EventModel.makeEvent({
            uid: "t@x",
            start: EventModel.zoned("Antarctica/Troll", 2026, 1, 1, 9),
            end: EventModel.zoned("Antarctica/Troll", 2026, 1, 1, 10)
          })
        )
      )
    ).toBe('Outlook has no time zone for "Antarctica/Troll"')
  })

  it("zones are written by their Windows names and read back as CLDR's IANA zone for them", () => {
    const at = (tzid: string) =>
      EventModel.makeResource(
        EventModel.makeEvent({
          uid: "z@x",
          start: EventModel.zoned(tzid, 2026, 7, 1, 9),
          end: EventModel.zoned(tzid, 2026, 7, 1, 10)
        })
      )
    const start = (tzid: string) => Either.getOrThrow(GraphCodec.encode(at(tzid), opts)).master.start
    expect(start("Europe/Amsterdam")).toEqual({
      dateTime: "2026-07-01T09:00:00",
      timeZone: "W. Europe Standard Time"
    })
    expect(start("Asia/Kolkata").timeZone).toBe("India Standard Time")
    expect(start("Etc/UTC")).toEqual({ dateTime: "2026-07-01T09:00:00", timeZone: "UTC" })
    const normalStart = (tzid: string) =>
      Option.map(GraphCodec.normalize(at(tzid), opts).master, (m) => m.start)
    expect(normalStart("Europe/Amsterdam")).toEqual(
      Option.some(EventModel.zoned("Europe/Berlin", 2026, 7, 1, 9))
    )
    // An Outlook ICS file's TZID is a Windows name; it is the same zone.
    expect(normalStart("Eastern Standard Time")).toEqual(
      Option.some(EventModel.zoned("America/New_York", 2026, 7, 1, 9))
    )
    const floating = EventModel.makeResource(
      EventModel.makeEvent({
        uid: "f@x",
        start: EventModel.floating(2026, 7, 1, 9),
        end: EventModel.floating(2026, 7, 1, 10)
      })
    )
    expect(
      Option.map(GraphCodec.normalize(floating, { calendarZone: "Asia/Tokyo" }).master, (m) => m.start)
    ).toEqual(Option.some(EventModel.zoned("Asia/Tokyo", 2026, 7, 1, 9)))
  })

  it("all-day events are midnight to midnight in the calendar's zone, and read back as dates however Graph shifts them", () => {
    const r = EventModel.makeResource(
      EventModel.makeEvent({
        uid: "a@x",
        start: EventModel.date(2026, 12, 24),
        end: EventModel.date(2026, 12, 27)
      })
    )
    const encoded = Either.getOrThrow(GraphCodec.encode(r, { calendarZone: "America/Los_Angeles" }))
    expect([encoded.master.start, encoded.master.end, encoded.master.isAllDay]).toEqual([
      { dateTime: "2026-12-24T00:00:00", timeZone: "Pacific Standard Time" },
      { dateTime: "2026-12-27T00:00:00", timeZone: "Pacific Standard Time" },
      true
    ])
    const read = (start: string, end: string) =>
      Either.map(
        GraphCodec.decode(
          "a",
          {
            master: {
              id: "a",
              iCalUId: "a@x",
              isAllDay: true,
              start: { dateTime: start, timeZone: "UTC" },
              end: { dateTime: end, timeZone: "UTC" },
              originalStartTimeZone: "Pacific Standard Time",
              originalEndTimeZone: "Pacific Standard Time"
            },
            exceptions: [],
            cancelled: []
          },
          { calendarZone: "UTC" }
        ),
        (x) => Option.map(x.master, (m) => [m.start, m.end, m.allDay])
      )
    const expected = Either.right(
      Option.some([EventModel.date(2026, 12, 24), EventModel.date(2026, 12, 27), true])
    )
    // Shifted into UTC (midnight in Los Angeles is 08:00 UTC) and not shifted at all: the same days.
    expect(read("2026-12-24T08:00:00.0000000", "2026-12-27T08:00:00.0000000")).toEqual(expected)
    expect(read("2026-12-24T00:00:00.0000000", "2026-12-27T00:00:00.0000000")).toEqual(expected)
  })

  it("showAs, sensitivity and isCancelled map to TRANSP, CLASS and STATUS, both ways", () => {
    const event = (fields: Partial<EventModel.VEvent>) =>
      EventModel.makeResource(
        EventModel.makeEvent({
          uid: "m@x",
          start: berlin(2026, 1, 5),
          end: berlin(2026, 1, 5, 11),
          ...fields
        })
      )
    const written = (fields: Partial<EventModel.VEvent>) => {
      const m = Either.getOrThrow(GraphCodec.encode(event(fields), opts)).master
      return [m.showAs, m.sensitivity]
    }
    expect(written({})).toEqual(["busy", "normal"])
    expect(written({ transp: Option.some("TRANSPARENT") })).toEqual(["free", "normal"])
    expect(written({ status: Option.some("TENTATIVE") })).toEqual(["tentative", "normal"])
    expect(written({ status: Option.some("TENTATIVE"), transp: Option.some("TRANSPARENT") })).toEqual([
      "free",
      "normal"
    ])
    expect(written({ class: Option.some("PRIVATE") })).toEqual(["busy", "private"])
    expect(written({ class: Option.some("CONFIDENTIAL") })).toEqual(["busy", "confidential"])
    expect(written({ class: Option.some("X-SECRET") })).toEqual(["busy", "private"])
    expect(written({ class: Option.some("PUBLIC") })).toEqual(["busy", "normal"])
    const read = (fields: Record<string, unknown>) =>
      Either.map(
        GraphCodec.decode(
          "m",
          {
            master: {
              id: "m",
              iCalUId: "m@x",
              start: { dateTime: "2026-01-05T10:00:00", timeZone: "UTC" },
              end: { dateTime: "2026-01-05T11:00:00", timeZone: "UTC" },
              ...fields
            },
            exceptions: [],
            cancelled: []
          },
          opts
        ),
        (r) => Option.map(r.master, (m) => [m.status, m.transp, m.class])
      )
    const none = Option.none()
    expect(read({ showAs: "free" })).toEqual(
      Either.right(Option.some([none, Option.some("TRANSPARENT"), none]))
    )
    expect(read({ showAs: "oof", sensitivity: "confidential" })).toEqual(
      Either.right(Option.some([none, none, Option.some("CONFIDENTIAL")]))
    )
    expect(read({ showAs: "tentative", sensitivity: "private" })).toEqual(
      Either.right(Option.some([Option.some("TENTATIVE"), none, Option.some("PRIVATE")]))
    )
    expect(read({ isCancelled: true, sensitivity: "normal" })).toEqual(
      Either.right(Option.some([Option.some("CANCELLED"), none, none]))
    )
  })

  it("a copy never invites: no attendees or organizer written, normalize drops them, and the body is text", () => {
    const r = EventModel.makeResource(
      EventModel.makeEvent({
        uid: "p@x",
        start: berlin(2026, 1, 5),
        end: berlin(2026, 1, 5, 11),
        description: Option.some("one\r\ntwo"),
        organizer: Option.some({
          address: "mailto:boss@example.org",
          name: Option.none(),
          scheduleAgent: Option.none()
        }),
        attendees: [
          { address: "mailto:ana@example.org", name: Option.some("Ana"), scheduleAgent: Option.none() }
        ]
      })
    )
    const encoded = Either.getOrThrow(GraphCodec.encode(r, opts))
    expect(JSON.stringify(encoded)).not.toMatch(/attendees|organizer|example\.org/)
    expect(encoded.master.body).toEqual({ contentType: "text", content: "one\ntwo" })
    const normal = Option.getOrThrow(GraphCodec.normalize(r, opts).master)
    expect([normal.attendees, normal.organizer]).toEqual([[], Option.none()])
  })

  it("the copy's UID and origin live in single-value extended properties", () => {
    const r: EventModel.EventResource = {
      ...EventModel.makeResource(
        EventModel.makeEvent({
          uid: "src-uid",
          start: EventModel.utc(2026, 1, 1, 8),
          end: EventModel.utc(2026, 1, 1, 9)
        })
      ),
      origin: Option.some({ relationship: "rel-1", sourceUid: "src-uid" })
    }
    const props = Either.getOrThrow(GraphCodec.encode(r, opts)).master.singleValueExtendedProperties
    expect(props).toEqual([
      {
        id: "String {b0dd0375-0d22-4b7c-af4a-ebf5e1e7dac5} Name almanacOrigin",
        value: '{"uid":"src-uid","relationship":"rel-1","sourceUid":"src-uid"}'
      }
    ])
    // Graph may spell the id with an upper-case GUID; the property is the same.
    const shouted = props?.map((p) => ({ ...p, id: p.id.toUpperCase() }))
    const read = (singleValueExtendedProperties: unknown) =>
      GraphCodec.decode(
        "c",
        {
          master: {
            id: "c",
            iCalUId: "graph-own-uid",
            start: { dateTime: "2026-01-01T08:00:00", timeZone: "UTC" },
            end: { dateTime: "2026-01-01T09:00:00", timeZone: "UTC" },
            singleValueExtendedProperties
          },
          exceptions: [],
          cancelled: []
        },
        opts
      )
    expect(Either.map(read(shouted), (x) => [x.uid, x.origin])).toEqual(
      Either.right(["src-uid", Option.some({ relationship: "rel-1", sourceUid: "src-uid" })])
    )
    // A person's event has none (or a value that is not ours): Graph's iCalUId, no origin.
    expect(Either.map(read([]), (x) => [x.uid, x.origin])).toEqual(
      Either.right(["graph-own-uid", Option.none()])
    )
    expect(
      Either.map(read([{ id: GraphCodec.PROPERTY_ORIGIN, value: "not json" }]), (x) => [x.uid, x.origin])
    ).toEqual(Either.right(["graph-own-uid", Option.none()]))
    const plain = Either.getOrThrow(GraphCodec.encode({ ...r, origin: Option.none() }, opts)).master
    expect(plain.singleValueExtendedProperties?.map((p) => p.value)).toEqual(['{"uid":"src-uid"}'])
  })

  it("originalStartKey spells every form of an instant one way", () => {
    expect(GraphCodec.originalStartKey("2017-09-11T19:00:00Z")).toBe("2017-09-11T19:00:00Z")
    expect(GraphCodec.originalStartKey("2017-09-11T19:00:00.0000000Z")).toBe("2017-09-11T19:00:00Z")
    expect(GraphCodec.originalStartKey("2017-09-11T12:00:00-07:00")).toBe("2017-09-11T19:00:00Z")
    expect(GraphCodec.originalStartKey("2017-09-11T19:00:00")).toBe("2017-09-11T19:00:00Z")
    expect(GraphCodec.originalStartKey("next Monday")).toBeUndefined()
  })

  it("malformed events are BadItems with a reason a person can read", () => {
    const ok = {
      id: "a",
      iCalUId: "u",
      start: { dateTime: "2026-01-01T10:00:00", timeZone: "UTC" },
      end: { dateTime: "2026-01-01T11:00:00", timeZone: "UTC" }
    }
    const weekly = {
      ...ok,
      type: "seriesMaster",
      recurrence: {
        pattern: { type: "weekly", interval: 1, daysOfWeek: [] },
        range: { type: "noEnd", startDate: "2026-01-01" }
      }
    }
    const reasons = [
      [{ ...ok, start: { dateTime: "yesterday", timeZone: "UTC" } }, [], []],
      [{ ...ok, start: { dateTime: "2026-01-01T10:00:00", timeZone: "Mars Standard Time" } }, [], []],
      [{ ...ok, showAs: "invisible" }, [], []],
      [weekly, [], []],
      [{ ...ok, "@removed": { reason: "deleted" } }, [], []],
      [{ ...ok, type: "occurrence" }, [], []],
      [{ ...ok, iCalUId: null }, [], []],
      [{ ...ok, id: "b" }, [], []],
      [
        ok,
        [{ ...ok, id: "x", type: "exception", seriesMasterId: "a", originalStart: "2026-01-02T10:00:00Z" }],
        []
      ]
    ].map(([master, exceptions, cancelled]) => {
      const r = GraphCodec.decode(
        "a",
        {
          master,
          exceptions: exceptions as ReadonlyArray<unknown>,
          cancelled: cancelled as ReadonlyArray<string>
        },
        opts
      )
      return Either.isLeft(r) ? r.left.reason.split("\n")[0] : "decoded"
    })
    expect(reasons).toEqual([
      'start.dateTime "yesterday" is not a date and time',
      'start.timeZone "Mars Standard Time" is not a time zone Almanac knows',
      'an event Almanac cannot read: showAs: expected "free" | "tentative" | "busy" | "oof" | "workingElsewhere" | "unknown", actual "invisible"',
      "recurrence: a weekly pattern without days of the week",
      "the event is deleted",
      "only an occurrence of this series is here, not the series itself",
      "the event has no iCalUId",
      "the series is a, but the event given for it is b",
      "changed or deleted occurrences of an event that does not repeat"
    ])
  })
})
