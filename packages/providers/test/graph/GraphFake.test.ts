/**
 * The Graph fake's own contract, tested directly over HTTP, so that tests built on it can be
 * trusted: each case is a documented behaviour of Microsoft Graph v1.0's calendar API or of the
 * Microsoft identity platform (docs/providers.md B.1–B.10), plus its recurrence expander.
 */
import { createHash, randomBytes } from "node:crypto"
import { afterEach, beforeEach, describe, expect, it } from "@effect/vitest"
import * as GraphFake from "../fakes/GraphFake.js"
import * as Rec from "../fakes/GraphRecurrence.js"

let fake: GraphFake.GraphFake
let token: string
const CAL = "AAMkCal-default"
const IMMUTABLE = 'IdType="ImmutableId"'
const UTC = 'outlook.timezone="UTC"'

beforeEach(async () => {
  fake = await GraphFake.start({ pageSize: 3 })
  token = fake.issueTokens().accessToken
})
afterEach(() => fake.close())

interface Call {
  readonly query?: Record<string, string>
  readonly body?: unknown
  readonly ifMatch?: string
  readonly token?: string
  readonly prefer?: ReadonlyArray<string>
}

/** The parts of the fake's answers these tests read; a wrong shape fails their expectations. */
interface Item {
  readonly id: string
  readonly "@odata.etag"?: string
  readonly "@removed"?: { readonly reason: string }
  readonly type?: string
  readonly seriesMasterId?: string | null
  readonly subject?: string
  readonly start?: { readonly dateTime: string; readonly timeZone: string }
  readonly end?: { readonly dateTime: string; readonly timeZone: string }
  readonly originalStart?: string
  readonly transactionId?: string | null
  readonly singleValueExtendedProperties?: ReadonlyArray<{ readonly id: string; readonly value: string }>
  readonly body?: { readonly contentType: string; readonly content: string }
  readonly canEdit?: boolean
  readonly availabilityView?: string
}
interface Answer extends Partial<Item> {
  readonly value?: ReadonlyArray<Item>
  readonly "@odata.nextLink"?: string
  readonly "@odata.deltaLink"?: string
  readonly error?: { readonly code: string; readonly message: string }
  readonly mail?: string
  readonly userPrincipalName?: string
}

const call = async (method: string, pathOrUrl: string, c: Call = {}) => {
  const url = new URL(pathOrUrl.startsWith("http") ? pathOrUrl : `${fake.apiUrl}${pathOrUrl}`)
  for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v)
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${c.token ?? token}`,
      prefer: (c.prefer ?? [IMMUTABLE, UTC]).join(", "),
      ...(c.body !== undefined ? { "content-type": "application/json" } : {}),
      ...(c.ifMatch !== undefined ? { "if-match": c.ifMatch } : {})
    },
    ...(c.body !== undefined ? { body: JSON.stringify(c.body) } : {})
  })
  const text = await res.text()
  const json: Answer = text === "" ? {} : JSON.parse(text)
  return { status: res.status, json, headers: res.headers }
}

const events = `/me/calendars/${CAL}/events`
const deltaPath = `/me/calendars/${CAL}/calendarView/delta`
const WINDOW = { startDateTime: "2026-12-01T00:00:00Z", endDateTime: "2027-01-01T00:00:00Z" }

const single = (day: number, extra: Record<string, unknown> = {}) => ({
  subject: `event ${day}`,
  start: {
    dateTime: `2026-12-${String(day).padStart(2, "0")}T10:00:00`,
    timeZone: "W. Europe Standard Time"
  },
  end: { dateTime: `2026-12-${String(day).padStart(2, "0")}T11:00:00`, timeZone: "W. Europe Standard Time" },
  ...extra
})

const create = async (body: unknown) => {
  const r = await call("POST", events, { body })
  expect(r.status).toBe(201)
  return r.json
}

/** A whole delta round from a window or a link; the pages' sizes too. */
const round = async (from: { readonly link: string } | "window", c: Call = {}) => {
  const pages: Array<number> = []
  const items: Array<Item> = []
  let url = from === "window" ? undefined : from.link
  for (;;) {
    const r =
      url === undefined ? await call("GET", deltaPath, { query: WINDOW, ...c }) : await call("GET", url, c)
    expect(r.status).toBe(200)
    items.push(...(r.json.value ?? []))
    pages.push(r.json.value?.length ?? 0)
    const next = r.json["@odata.nextLink"]
    const deltaLink = r.json["@odata.deltaLink"]
    expect(next === undefined || deltaLink === undefined).toBe(true)
    if (deltaLink !== undefined) return { pages, items, deltaLink }
    url = next
    expect(url).toBeDefined()
  }
}

const ids = (items: ReadonlyArray<Item>) => items.map((i) => i.id).sort()

describe("GraphRecurrence (the fake's patternedRecurrence expander)", () => {
  const rec = (pattern: Record<string, unknown>, range: Record<string, unknown>) => {
    const r = Rec.parse({ pattern, range })
    if (typeof r === "string") throw new Error(r)
    return r
  }
  const dates = (r: Rec.Recurrence, until = "2030-12-31") =>
    Rec.dates(r, Rec.parseDate(until) ?? { year: 2030, month: 12, day: 31 }).map(Rec.formatDate)

  it("daily with an interval, numbered", () => {
    expect(
      dates(
        rec(
          { type: "daily", interval: 2 },
          { type: "numbered", startDate: "2026-12-30", numberOfOccurrences: 3 }
        )
      )
    ).toEqual(["2026-12-30", "2027-01-01", "2027-01-03"])
  })

  it("weekly on several days every other week, to an inclusive end date, from the week's first day", () => {
    const r = rec(
      { type: "weekly", interval: 2, daysOfWeek: ["monday", "thursday"], firstDayOfWeek: "monday" },
      { type: "endDate", startDate: "2026-12-03", endDate: "2026-12-28" }
    )
    // 3 Dec 2026 is a Thursday: that week's Monday is before the start and is not an occurrence.
    expect(dates(r)).toEqual(["2026-12-03", "2026-12-14", "2026-12-17", "2026-12-28"])
  })

  it("absoluteMonthly on the 31st falls on the last day of shorter months", () => {
    const r = rec(
      { type: "absoluteMonthly", interval: 1, dayOfMonth: 31 },
      { type: "numbered", startDate: "2027-01-31", numberOfOccurrences: 4 }
    )
    expect(dates(r)).toEqual(["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"])
  })

  it("relativeMonthly: the last Friday, and the first weekend day of several", () => {
    expect(
      dates(
        rec(
          { type: "relativeMonthly", interval: 1, daysOfWeek: ["friday"], index: "last" },
          { type: "numbered", startDate: "2026-12-01", numberOfOccurrences: 3 }
        )
      )
    ).toEqual(["2026-12-25", "2027-01-29", "2027-02-26"])
    expect(
      dates(
        rec(
          { type: "relativeMonthly", interval: 3, daysOfWeek: ["saturday", "sunday"], index: "first" },
          { type: "numbered", startDate: "2026-11-01", numberOfOccurrences: 2 }
        )
      )
    ).toEqual(["2026-11-01", "2027-02-06"])
  })

  it("absoluteYearly and relativeYearly, noEnd bounded by the caller", () => {
    expect(
      dates(
        rec(
          { type: "absoluteYearly", interval: 1, month: 2, dayOfMonth: 29 },
          { type: "noEnd", startDate: "2028-02-29" }
        ),
        "2030-03-01"
      )
    ).toEqual(["2028-02-29", "2029-02-28", "2030-02-28"])
    expect(
      dates(
        rec(
          { type: "relativeYearly", interval: 1, month: 11, daysOfWeek: ["thursday"], index: "fourth" },
          { type: "noEnd", startDate: "2026-11-26" }
        ),
        "2028-12-31"
      )
    ).toEqual(["2026-11-26", "2027-11-25", "2028-11-23"])
  })

  it("refuses what Graph refuses: no interval, an unknown day, a weekly without days, an end before the start", () => {
    for (const bad of [
      { pattern: { type: "daily" }, range: { type: "noEnd", startDate: "2026-12-01" } },
      {
        pattern: { type: "weekly", interval: 1, daysOfWeek: ["funday"] },
        range: { type: "noEnd", startDate: "2026-12-01" }
      },
      { pattern: { type: "weekly", interval: 1 }, range: { type: "noEnd", startDate: "2026-12-01" } },
      { pattern: { type: "hourly", interval: 1 }, range: { type: "noEnd", startDate: "2026-12-01" } },
      {
        pattern: { type: "daily", interval: 1 },
        range: { type: "endDate", startDate: "2026-12-02", endDate: "2026-12-01" }
      },
      { pattern: { type: "daily", interval: 1 }, range: { type: "numbered", startDate: "2026-12-01" } }
    ])
      expect(typeof Rec.parse(bad)).toBe("string")
  })
})

describe("GraphFake (a fake of Microsoft Graph's calendar API)", () => {
  it("answers /me and /me/calendars in short pages with canEdit", async () => {
    fake.addCalendar({ id: "cal-2", name: "Team", canEdit: true })
    fake.addCalendar({ id: "cal-3", name: "Holidays", canEdit: false })
    fake.addCalendar({
      id: "cal-4",
      name: "Boss",
      canEdit: false,
      owner: { name: "Boss", address: "b@x.example" }
    })
    const me = await call("GET", "/me")
    expect(me.json).toMatchObject({
      mail: fake.mailbox.mail,
      userPrincipalName: fake.mailbox.userPrincipalName
    })
    const first = await call("GET", "/me/calendars")
    expect(first.json.value?.length).toBe(3)
    const second = await call("GET", first.json["@odata.nextLink"] ?? "")
    expect(second.json.value).toHaveLength(1)
    expect(second.json["@odata.nextLink"]).toBeUndefined()
    expect([...(first.json.value ?? []), ...(second.json.value ?? [])].map((c) => [c.id, c.canEdit])).toEqual(
      [
        [CAL, true],
        ["cal-2", true],
        ["cal-3", false],
        ["cal-4", false]
      ]
    )
  })

  it("requires the window on a first delta, pages it short, then gives a deltaLink; an idle round is empty", async () => {
    const noWindow = await call("GET", deltaPath)
    expect(noWindow.status).toBe(400)
    for (let d = 1; d <= 7; d++) await create(single(d))
    await create(
      single(1, {
        start: { dateTime: "2027-03-01T10:00:00", timeZone: "UTC" },
        end: { dateTime: "2027-03-01T11:00:00", timeZone: "UTC" }
      })
    )
    const full = await round("window")
    expect(full.pages).toEqual([3, 3, 1])
    expect(full.items.every((i) => i.type === "singleInstance" && i.subject !== undefined)).toBe(true)
    // Prefer: odata.maxpagesize asks for smaller pages still, and is said to be applied.
    const small = await call("GET", deltaPath, {
      query: WINDOW,
      prefer: [IMMUTABLE, UTC, "odata.maxpagesize=2"]
    })
    expect(small.json.value).toHaveLength(2)
    expect(small.headers.get("preference-applied")).toContain("odata.maxpagesize=2")
    const idle = await round({ link: full.deltaLink })
    expect(idle.items).toEqual([])
    // $select and $expand are not supported on calendarView delta.
    expect((await call("GET", deltaPath, { query: { ...WINDOW, $select: "subject" } })).status).toBe(400)
  })

  it("reports changes since the last round; deletions and events that left the window come as @removed", async () => {
    const keep = await create(single(1))
    const gone = await create(single(2))
    const leaves = await create(single(3))
    const { deltaLink } = await round("window")
    fake.edit(keep.id ?? "", { subject: "edited" })
    expect((await call("DELETE", `/me/events/${gone.id}`)).status).toBe(204)
    fake.edit(leaves.id ?? "", {
      start: { dateTime: "2027-02-01T10:00:00", timeZone: "UTC" },
      end: { dateTime: "2027-02-01T11:00:00", timeZone: "UTC" }
    })
    const outside = fake.insertAsPerson(CAL, {
      subject: "outside",
      start: { dateTime: "2027-05-01T10:00:00", timeZone: "UTC" },
      end: { dateTime: "2027-05-01T11:00:00", timeZone: "UTC" }
    })
    const next = await round({ link: deltaLink })
    const removed = next.items.filter((i) => i["@removed"] !== undefined)
    expect(ids(removed)).toEqual([gone.id, leaves.id, outside.id].sort())
    expect(removed.every((i) => i["@removed"]?.reason === "deleted")).toBe(true)
    expect(Object.keys(removed[0] ?? {}).sort()).toEqual(["@odata.type", "@removed", "id"])
    expect(next.items.filter((i) => i["@removed"] === undefined).map((i) => [i.id, i.subject])).toEqual([
      [keep.id, "edited"]
    ])
  })

  it("replays and repeats on demand: the same entity again in a later round, or twice in a page", async () => {
    const a = await create(single(1))
    const first = await round("window")
    fake.edit(a.id ?? "", { subject: "v2" })
    const second = await round({ link: first.deltaLink })
    expect(ids(second.items)).toEqual([a.id])
    fake.replayNextRound()
    const replayed = await round({ link: second.deltaLink })
    expect(ids(replayed.items)).toEqual([a.id])
    expect((await round({ link: replayed.deltaLink })).items).toEqual([])
    fake.repeatNextEntry()
    const repeated = await round("window")
    expect(ids(repeated.items)).toEqual([a.id, a.id])
  })

  it("expands a series into occurrence stubs; an exception is full, a cancelled occurrence @removed", async () => {
    const master = await create({
      ...single(7),
      recurrence: {
        pattern: { type: "weekly", interval: 1, daysOfWeek: ["monday"] },
        range: { type: "numbered", startDate: "2026-12-07", numberOfOccurrences: 4 }
      }
    })
    expect(master.type).toBe("seriesMaster")
    const full = await round("window")
    expect(full.items).toHaveLength(4)
    for (const o of full.items) {
      expect(Object.keys(o).sort()).toEqual([
        "@odata.etag",
        "@odata.type",
        "end",
        "id",
        "seriesMasterId",
        "start",
        "type"
      ])
      expect(o).toMatchObject({ type: "occurrence", seriesMasterId: master.id })
    }
    // W. Europe Standard Time is UTC+1 in December: 10:00 there is 09:00 UTC.
    expect(full.items.map((o) => o.start?.dateTime).sort()).toEqual([
      "2026-12-07T09:00:00.0000000",
      "2026-12-14T09:00:00.0000000",
      "2026-12-21T09:00:00.0000000",
      "2026-12-28T09:00:00.0000000"
    ])
    const [o1, o2] = [...full.items].sort((x, y) =>
      (x.start?.dateTime ?? "").localeCompare(y.start?.dateTime ?? "")
    )
    const moved = await call("PATCH", `/me/events/${o1?.id}`, {
      body: {
        subject: "moved",
        start: { dateTime: "2026-12-08T12:00:00", timeZone: "UTC" },
        end: { dateTime: "2026-12-08T13:00:00", timeZone: "UTC" }
      },
      ifMatch: o1?.["@odata.etag"] ?? ""
    })
    expect(moved.status).toBe(200)
    expect(moved.json).toMatchObject({
      id: o1?.id,
      type: "exception",
      seriesMasterId: master.id,
      originalStart: "2026-12-07T09:00:00Z"
    })
    expect((await call("DELETE", `/me/events/${o2?.id}`)).status).toBe(204)
    const next = await round({ link: full.deltaLink })
    expect(next.items.map((i) => [i.id, i.type ?? i["@removed"]?.reason])).toEqual(
      expect.arrayContaining([
        [o1?.id, "exception"],
        [o2?.id, "deleted"]
      ])
    )
    expect(next.items).toHaveLength(2)
    // instances: occurrences and the exception, full, in order; the cancelled one is absent.
    const inst = await call("GET", `/me/events/${master.id}/instances`, { query: WINDOW })
    expect(inst.status).toBe(200)
    const listed = [...(inst.json.value ?? [])]
    const more = await call("GET", inst.json["@odata.nextLink"] ?? "")
    listed.push(...(more.json.value ?? []))
    expect(listed.map((i) => [i.type, i.subject])).toEqual([
      ["exception", "moved"],
      ["occurrence", "event 7"],
      ["occurrence", "event 7"]
    ])
    // Getting a cancelled occurrence is 404; getting a live one answers it in full.
    expect((await call("GET", `/me/events/${o2?.id}`)).status).toBe(404)
    expect((await call("GET", `/me/events/${listed[1]?.id}`)).json).toMatchObject({
      type: "occurrence",
      subject: "event 7"
    })
  })

  it("answers 410 with a Location reset link, or syncStateNotFound / resyncRequired, to expired sync state", async () => {
    await create(single(1))
    const { deltaLink } = await round("window")
    fake.expireDeltaTokens("reset")
    const gone = await call("GET", deltaLink)
    expect(gone.status).toBe(410)
    const location = gone.headers.get("location") ?? ""
    expect(new URL(location).searchParams.get("$deltatoken")).toBe("")
    // The reset link starts a full round over the same window.
    const again = await round({ link: location })
    expect(again.items).toHaveLength(1)
    fake.expireDeltaTokens("syncStateNotFound")
    const nf = await call("GET", again.deltaLink)
    expect([nf.status, nf.json.error?.code]).toEqual([400, "syncStateNotFound"])
    const fresh = await round("window")
    fake.expireDeltaTokens("resyncRequired")
    expect((await call("GET", fresh.deltaLink)).json.error?.code).toBe("resyncRequired")
  })

  it("evicts the oldest sync states when its cache is full", async () => {
    await fake.close()
    fake = await GraphFake.start({ syncStateCapacity: 2 })
    token = fake.issueTokens().accessToken
    const a = await round("window")
    await round("window")
    await round("window")
    expect((await call("GET", a.deltaLink)).json.error?.code).toBe("syncStateNotFound")
  })

  it("keeps etags: a stale If-Match is 412, the current one writes and changes the etag", async () => {
    const created = await create(single(1))
    const etag = created["@odata.etag"] ?? ""
    expect(etag).toMatch(/^W\/"/)
    const updated = await call("PATCH", `/me/events/${created.id}`, {
      body: { subject: "v2" },
      ifMatch: etag
    })
    expect(updated.status).toBe(200)
    expect(updated.json["@odata.etag"]).not.toBe(etag)
    const stale = await call("PATCH", `/me/events/${created.id}`, { body: { subject: "v3" }, ifMatch: etag })
    expect([stale.status, stale.json.error?.code]).toEqual([412, "ErrorIrresolvableConflict"])
    expect((await call("DELETE", `/me/events/${created.id}`, { ifMatch: etag })).status).toBe(412)
    expect(
      (await call("DELETE", `/me/events/${created.id}`, { ifMatch: updated.json["@odata.etag"] ?? "" }))
        .status
    ).toBe(204)
    expect((await call("DELETE", `/me/events/${created.id}`)).status).toBe(404)
  })

  it("makes one event of two POSTs with the same transactionId", async () => {
    const body = single(1, { transactionId: "almanac-key-1" })
    const a = await create(body)
    const b = await create(body)
    expect(b.id).toBe(a.id)
    expect(a.transactionId).toBe("almanac-key-1")
    expect(fake.events(CAL)).toHaveLength(1)
    const other = await create(single(1, { transactionId: "almanac-key-2" }))
    expect(other.id).not.toBe(a.id)
  })

  it("keeps single-value extended properties out of answers unless expanded, and filters on them", async () => {
    const PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name AlmanacOrigin"
    const tagged = await create(
      single(1, { singleValueExtendedProperties: [{ id: PROP, value: "Origin-1" }] })
    )
    await create(single(2, { singleValueExtendedProperties: [{ id: PROP, value: "origin-2" }] }))
    await create(single(3))
    expect(tagged.singleValueExtendedProperties).toBeUndefined()
    const plain = await call("GET", `/me/events/${tagged.id}`)
    expect(plain.json.singleValueExtendedProperties).toBeUndefined()
    const expanded = await call("GET", `/me/events/${tagged.id}`, {
      query: { $expand: `singleValueExtendedProperties($filter=id eq '${PROP}')` }
    })
    expect(expanded.json.singleValueExtendedProperties).toEqual([{ id: PROP, value: "Origin-1" }])
    // The GUID compares case-insensitively, the value too (B.7).
    const found = await call("GET", events, {
      query: {
        $filter: `singleValueExtendedProperties/any(ep: ep/id eq '${PROP.toUpperCase().replace("NAME ALMANACORIGIN", "Name AlmanacOrigin")}' and ep/value eq 'origin-1')`
      }
    })
    expect(found.json.value?.map((e) => e.id)).toEqual([tagged.id])
    // The name is case-sensitive.
    const wrongName = await call("GET", events, {
      query: {
        $filter: `singleValueExtendedProperties/any(ep: ep/id eq '${PROP.toLowerCase()}' and ep/value eq 'origin-1')`
      }
    })
    expect(wrongName.json.value).toEqual([])
    // Delta does not expand them.
    const d = await round("window")
    expect(d.items.every((i) => i.singleValueExtendedProperties === undefined)).toBe(true)
  })

  it("answers times in the Prefer: outlook.timezone zone (Windows or IANA names), UTC otherwise", async () => {
    const e = await create(single(1))
    const get = (prefer: ReadonlyArray<string>) => call("GET", `/me/events/${e.id}`, { prefer })
    expect((await get([IMMUTABLE])).json.start).toEqual({
      dateTime: "2026-12-01T09:00:00.0000000",
      timeZone: "UTC"
    })
    const pacific = await get([IMMUTABLE, 'outlook.timezone="Pacific Standard Time"'])
    expect(pacific.json.start).toEqual({
      dateTime: "2026-12-01T01:00:00.0000000",
      timeZone: "Pacific Standard Time"
    })
    expect(pacific.headers.get("preference-applied")).toContain('outlook.timezone="Pacific Standard Time"')
    expect((await get([IMMUTABLE, 'outlook.timezone="Asia/Tokyo"'])).json.start).toEqual({
      dateTime: "2026-12-01T18:00:00.0000000",
      timeZone: "Asia/Tokyo"
    })
    const bad = await call("POST", events, {
      body: single(2, { start: { dateTime: "2026-12-02T10:00:00", timeZone: "Mars/Olympus" } })
    })
    expect([bad.status, bad.json.error?.code]).toEqual([400, "TimeZoneNotSupportedException"])
    // A text body comes back as HTML unless text is preferred.
    const withBody = await create(single(3, { body: { contentType: "text", content: "a < b" } }))
    expect(withBody.body?.contentType).toBe("html")
    expect(withBody.body?.content).toContain("a &lt; b")
    const text = await call("GET", `/me/events/${withBody.id}`, {
      prefer: [IMMUTABLE, 'outlook.body-content-type="text"']
    })
    expect(text.json.body).toEqual({ contentType: "text", content: "a < b" })
  })

  it("gives immutable ids that survive a move; REST ids change with it", async () => {
    fake.addCalendar({ id: "cal-2", name: "Other", canEdit: true })
    const immutable = await create(single(1))
    const rest = await call("GET", `/me/events/${immutable.id}`, { prefer: [UTC] })
    expect(rest.json.id).not.toBe(immutable.id)
    fake.move(immutable.id ?? "", "cal-2")
    expect((await call("GET", `/me/events/${immutable.id}`)).status).toBe(200)
    expect((await call("GET", `/me/events/${rest.json.id}`, { prefer: [UTC] })).status).toBe(404)
    expect((await call("GET", `/me/calendars/cal-2/events/${immutable.id}`)).status).toBe(200)
    expect((await call("GET", `${events}/${immutable.id}`)).status).toBe(404)
  })

  it("throttles on demand with Retry-After, and answers the 5th concurrent request 429 MailboxConcurrency", async () => {
    fake.failNext(1, { status: 429, code: "TooManyRequests", retryAfter: "7" })
    const throttled = await call("GET", "/me")
    expect([throttled.status, throttled.headers.get("retry-after")]).toEqual([429, "7"])
    fake.failNext(1, { status: 503, code: "serviceNotAvailable", retryAfter: "2" })
    expect((await call("GET", "/me")).status).toBe(503)
    expect((await call("GET", "/me")).status).toBe(200)
    fake.setLatency(300)
    const answers = await Promise.all([1, 2, 3, 4, 5].map(() => call("GET", "/me")))
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses).toEqual([200, 200, 200, 200, 429])
    const refused = answers.find((a) => a.status === 429)
    expect(refused?.json.error).toMatchObject({
      code: "ApplicationThrottled",
      message: "Application is over its MailboxConcurrency limit."
    })
    expect(fake.maxInFlight()).toBe(4)
  })

  it("records the invitations Graph would send: any write of an event with attendees", async () => {
    const guests = {
      attendees: [{ emailAddress: { address: "ana@example.org", name: "Ana" }, type: "required" }]
    }
    const e = await create(single(1, guests))
    await call("PATCH", `/me/events/${e.id}`, { body: { subject: "x" } })
    await call("DELETE", `/me/events/${e.id}`)
    await create(single(2))
    expect(fake.invitations.map((i) => [i.method, i.attendees])).toEqual([
      ["create", ["ana@example.org"]],
      ["update", ["ana@example.org"]],
      ["cancel", ["ana@example.org"]]
    ])
  })

  it("refuses writes to a calendar that cannot be edited, and bad all-day times", async () => {
    fake.addCalendar({ id: "ro", name: "Read only", canEdit: false })
    const r = await call("POST", "/me/calendars/ro/events", { body: single(1) })
    expect(r.status).toBe(403)
    const allDay = await call("POST", events, {
      body: single(1, { isAllDay: true, start: { dateTime: "2026-12-01T10:00:00", timeZone: "UTC" } })
    })
    expect(allDay.status).toBe(400)
    const ok = await create({
      subject: "day",
      isAllDay: true,
      start: { dateTime: "2026-12-01T00:00:00", timeZone: "Tokyo Standard Time" },
      end: { dateTime: "2026-12-02T00:00:00", timeZone: "Tokyo Standard Time" }
    })
    expect(ok.start).toEqual({ dateTime: "2026-12-01T00:00:00.0000000", timeZone: "UTC" })
    const wrongStart = await call("POST", events, {
      body: single(2, {
        recurrence: {
          pattern: { type: "daily", interval: 1 },
          range: { type: "noEnd", startDate: "2026-12-05" }
        }
      })
    })
    expect(wrongStart.status).toBe(400)
  })

  it("answers getSchedule for the mailbox with an availability view", async () => {
    await create(single(1))
    await create(
      single(1, {
        showAs: "tentative",
        start: { dateTime: "2026-12-01T12:00:00", timeZone: "UTC" },
        end: { dateTime: "2026-12-01T13:00:00", timeZone: "UTC" }
      })
    )
    const r = await call("POST", "/me/calendar/getSchedule", {
      body: {
        schedules: [fake.mailbox.mail, "nobody@example.org"],
        startTime: { dateTime: "2026-12-01T08:00:00", timeZone: "UTC" },
        endTime: { dateTime: "2026-12-01T14:00:00", timeZone: "UTC" },
        availabilityViewInterval: 60
      }
    })
    expect(r.status).toBe(200)
    const value = r.json.value
    expect(value?.[0]?.availabilityView).toBe("020010")
    expect(value?.[1]).toMatchObject({ error: { responseCode: "ErrorMailRecipientNotFound" } })
  })
})

describe("GraphFake's identity platform (OAuth 2.0 v2.0 endpoints)", () => {
  const REDIRECT = "http://127.0.0.1:9/oauth/microsoft/callback"
  const verifier = b64(randomBytes(32))
  function b64(b: Buffer) {
    return b.toString("base64url")
  }
  const challenge = b64(createHash("sha256").update(verifier).digest())
  const authorize = (extra: Record<string, string> = {}) => {
    const u = new URL(fake.authorizeUrl("common"))
    for (const [k, v] of Object.entries({
      client_id: fake.clientId,
      response_type: "code",
      redirect_uri: REDIRECT,
      scope: "offline_access Calendars.ReadWrite User.Read",
      state: "st-1",
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...extra
    }))
      u.searchParams.set(k, v)
    return u.href
  }
  interface TokenAnswer {
    readonly access_token?: string
    readonly refresh_token?: string
    readonly expires_in?: number
    readonly error?: string
    readonly error_codes?: ReadonlyArray<number>
  }
  const post = async (form: Record<string, string>) => {
    const res = await fetch(fake.tokenUrl("common"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: fake.clientId, ...form })
    })
    const json: TokenAnswer = JSON.parse(await res.text())
    return { status: res.status, json }
  }
  const redeem = async (code: string, v = verifier) =>
    post({ grant_type: "authorization_code", code, redirect_uri: REDIRECT, code_verifier: v })

  it("consents with code and state, redeems once with the PKCE verifier (S256 checked)", async () => {
    const back = new URL(fake.consent(authorize()))
    expect(back.origin + back.pathname).toBe(REDIRECT)
    expect(back.searchParams.get("state")).toBe("st-1")
    const code = back.searchParams.get("code") ?? ""
    const wrong = await redeem(code, "not-the-verifier-at-all-but-long-enough-for-pkce")
    expect([wrong.status, wrong.json.error]).toEqual([400, "invalid_grant"])
    const code2 = new URL(fake.consent(authorize())).searchParams.get("code") ?? ""
    const ok = await redeem(code2)
    expect(ok.status).toBe(200)
    expect(ok.json.access_token).toBeDefined()
    expect(ok.json.refresh_token).toBeDefined()
    expect((await redeem(code2)).json.error_codes).toEqual([54005])
    const denied = new URL(fake.consent(authorize(), { deny: true }))
    expect(denied.searchParams.get("error")).toBe("access_denied")
    // The HTTP endpoint consents at once and redirects; a plain challenge is refused.
    const res = await fetch(authorize(), { redirect: "manual" })
    expect(res.status).toBe(302)
    expect((await fetch(authorize({ code_challenge_method: "plain" }), { redirect: "manual" })).status).toBe(
      400
    )
    // Without offline_access there is no refresh token.
    const code3 =
      new URL(fake.consent(authorize({ scope: "Calendars.ReadWrite" }))).searchParams.get("code") ?? ""
    expect((await redeem(code3)).json.refresh_token).toBeUndefined()
  })

  it("rotates refresh tokens: every refresh gives a new one; revoked grants are invalid_grant", async () => {
    const grant = fake.issueTokens()
    const issuedBefore = fake.issuedRefreshTokens.length
    const first = await post({ grant_type: "refresh_token", refresh_token: grant.refreshToken })
    expect(first.status).toBe(200)
    expect(first.json.refresh_token).toBeDefined()
    expect(first.json.refresh_token).not.toBe(grant.refreshToken)
    const second = await post({ grant_type: "refresh_token", refresh_token: first.json.refresh_token ?? "" })
    expect(second.json.refresh_token).not.toBe(first.json.refresh_token)
    expect(fake.issuedRefreshTokens.length - issuedBefore).toBe(2)
    // The identity platform does not revoke the old one (refresh-tokens).
    expect((await post({ grant_type: "refresh_token", refresh_token: grant.refreshToken })).status).toBe(200)
    fake.revokeGrants()
    const revoked = await post({
      grant_type: "refresh_token",
      refresh_token: second.json.refresh_token ?? ""
    })
    expect([revoked.status, revoked.json.error, revoked.json.error_codes]).toEqual([
      400,
      "invalid_grant",
      [50173]
    ])
    expect((await call("GET", "/me", { token: second.json.access_token ?? "" })).status).toBe(401)
  })

  it("with strict rotation refuses a refresh token already used", async () => {
    await fake.close()
    fake = await GraphFake.start({ strictRotation: true })
    const grant = fake.issueTokens()
    expect((await post({ grant_type: "refresh_token", refresh_token: grant.refreshToken })).status).toBe(200)
    expect((await post({ grant_type: "refresh_token", refresh_token: grant.refreshToken })).json.error).toBe(
      "invalid_grant"
    )
  })

  it("expires access tokens: 401 InvalidAuthenticationToken until refreshed", async () => {
    const grant = fake.issueTokens()
    expect((await call("GET", "/me", { token: grant.accessToken })).status).toBe(200)
    fake.expireAccessTokens()
    const expired = await call("GET", "/me", { token: grant.accessToken })
    expect([expired.status, expired.json.error?.code]).toEqual([401, "InvalidAuthenticationToken"])
    expect(expired.headers.get("www-authenticate")).toContain("Bearer")
    const fresh = await post({ grant_type: "refresh_token", refresh_token: grant.refreshToken })
    expect((await call("GET", "/me", { token: fresh.json.access_token ?? "" })).status).toBe(200)
  })

  it("checks a confidential client's secret", async () => {
    await fake.close()
    fake = await GraphFake.start({ clientSecret: "s3cret" })
    const grant = fake.issueTokens()
    expect((await post({ grant_type: "refresh_token", refresh_token: grant.refreshToken })).json.error).toBe(
      "invalid_client"
    )
    expect(
      (
        await post({
          grant_type: "refresh_token",
          refresh_token: grant.refreshToken,
          client_secret: "s3cret"
        })
      ).status
    ).toBe(200)
  })
})
