/**
 * /metrics on the running server, with the real engine syncing real Xandikos and Radicale
 * calendars: what a Prometheus scrape sees after a sync (polls, writes, requests, calendars by
 * state, poll lateness) and after a password is refused (the error's kind, a parked calendar).
 * Effect's metric registry is per process, so each check compares a value before and after.
 */
import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Calendars from "./support/Calendars.js"
import * as PasswordRadicale from "./support/PasswordRadicale.js"
import * as Fixtures from "./support/SyncFixtures.js"
import * as TestServer from "./support/TestServer.js"

interface Scrape {
  readonly contentType: string | null
  readonly text: string
  /** The sample `name{labels}` (labels as the exporter orders them), 0 when absent. */
  readonly value: (name: string, labels?: Record<string, string>) => number
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

const parse = (text: string) =>
  text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const m = sampleLine.exec(line)
      if (m === null) throw new Error(`not a Prometheus sample line: ${line}`)
      const labels = Object.fromEntries([...(m[3] ?? "").matchAll(labelPair)].map((p) => [p[1], p[2]]))
      return { name: m[1] ?? "", labels, value: Number(m[4]) }
    })

const scrape = (server: TestServer.TestServer): Effect.Effect<Scrape> =>
  Effect.promise(async () => {
    // No token: Prometheus scrapes without one.
    const res = await fetch(`${server.url}/metrics`)
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
    const text = await res.text()
    const samples = parse(text)
    return {
      contentType: res.headers.get("content-type"),
      text,
      value: (name, labels = {}) =>
        samples
          .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
          .reduce((sum, s) => sum + s.value, 0)
    }
  })

const relate = (
  server: TestServer.TestServer,
  token: string,
  sourceCalendarId: string,
  targetCalendarId: string
) =>
  Effect.promise(() =>
    server.request("POST", "/api/relationships", {
      token,
      body: { sourceCalendarId, targetCalendarId, markPrivate: true }
    })
  ).pipe(
    Effect.map((r) => {
      if (r.status !== 201) throw new Error(`create ${r.status}: ${JSON.stringify(r.body)}`)
      return (r.body as { id: string }).id
    })
  )

describe("/metrics", () => {
  it.live("counts polls, writes, requests, calendars by state and poll lateness in Prometheus text", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const before = yield* scrape(server)
      expect(before.contentType).toBe("text/plain; version=0.0.4; charset=utf-8")

      const [source] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      const [target] = yield* Fixtures.account(server, ann.token, "radicale", 1)
      if (source === undefined || target === undefined) throw new Error("no calendars")
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "Dentist"))
      yield* Fixtures.put(source, Fixtures.event(randomUUID(), "Haircut", 3))
      yield* relate(server, ann.token, source.id, target.id)

      const synced = yield* Fixtures.waitFor(
        "the two copies to be counted",
        scrape(server),
        (s) =>
          s.value("almanac_writes_total", { kind: "create" }) -
            before.value("almanac_writes_total", { kind: "create" }) >=
          2
      )
      expect(synced.text).toContain("# TYPE almanac_polls_total counter")
      expect(synced.text).toContain("# TYPE almanac_calendars gauge")
      const grew = (name: string, labels: Record<string, string>) =>
        synced.value(name, labels) - before.value(name, labels)
      expect(grew("almanac_writes_total", { kind: "create" })).toBe(2)
      expect(grew("almanac_polls_total", { outcome: "synced" })).toBeGreaterThanOrEqual(1)
      // Every CalDAV request the sync made, by method: discovery and listing (PROPFIND/REPORT) and the PUTs.
      expect(
        grew("almanac_calendar_requests_total", { method: "PUT", status: "2xx" })
      ).toBeGreaterThanOrEqual(2)
      expect(
        grew("almanac_calendar_requests_total", { method: "PROPFIND" }) +
          grew("almanac_calendar_requests_total", { method: "REPORT" })
      ).toBeGreaterThanOrEqual(2)

      const healthy = yield* Fixtures.waitFor(
        "both calendars to be polled and healthy",
        scrape(server),
        (s) => s.value("almanac_calendars", { state: "healthy" }) === 2
      )
      expect(healthy.value("almanac_calendars", { state: "error" })).toBe(0)
      expect(healthy.value("almanac_calendars", { state: "parked" })).toBe(0)

      // A poll on its schedule (the test server polls every 2 s) is measured, and on time.
      const scheduled = yield* Fixtures.waitFor(
        "a scheduled poll",
        scrape(server),
        (s) =>
          s.value("almanac_poll_lateness_seconds_count") > before.value("almanac_poll_lateness_seconds_count")
      )
      expect(scheduled.text).toContain("# TYPE almanac_poll_lateness_seconds histogram")
      const onTime = (s: Scrape) => s.value("almanac_poll_lateness_seconds_bucket", { le: "1" })
      expect(onTime(scheduled)).toBeGreaterThan(onTime(before))

      // A poll due two hours ago (a server that was down) is counted in the top bucket only.
      const overAnHour = (s: Scrape) =>
        s.value("almanac_poll_lateness_seconds_bucket", { le: "+Inf" }) -
        s.value("almanac_poll_lateness_seconds_bucket", { le: "3600" })
      const lateBefore = overAnHour(scheduled)
      const markLate = TestServer.within(
        server,
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) => sql`UPDATE calendars SET next_poll_at = ${Date.now() - 7_200_000} WHERE id = ${source.id}`
        )
      ).pipe(Effect.orDie)
      // The poll itself rewrites the time; mark again until a poll has read the marked one.
      yield* Fixtures.waitFor(
        "a poll two hours late",
        markLate.pipe(Effect.zipRight(Effect.sleep("1 second")), Effect.zipRight(scrape(server))),
        (s) => overAnHour(s) > lateBefore
      )
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )

  it.live("a refused password counts as an Unauthorized error and parks the calendar", () =>
    Effect.gen(function* () {
      const radicale = yield* PasswordRadicale.start
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const guarded = yield* Calendars.connect(server, ann.id, radicale, ["Guarded"], {
        directPassword: radicale.password,
        accountPassword: radicale.password
      }).pipe(Effect.orDie)
      const [target] = yield* Fixtures.account(server, ann.token, "xandikos", 1)
      const source = guarded.calendars[0]
      if (source === undefined || target === undefined) throw new Error("no calendars")
      const before = yield* scrape(server)
      yield* Effect.promise(() => radicale.setPassword("a-new-app-password"))
      yield* relate(server, ann.token, source.id, target.id)

      const parked = yield* Fixtures.waitFor(
        "the refused password to be counted",
        scrape(server),
        (s) => s.value("almanac_calendars", { state: "parked" }) === 1
      )
      expect(
        parked.value("almanac_errors_total", { kind: "Unauthorized" }) -
          before.value("almanac_errors_total", { kind: "Unauthorized" })
      ).toBeGreaterThanOrEqual(1)
      expect(
        parked.value("almanac_polls_total", { outcome: "failed" }) -
          before.value("almanac_polls_total", { outcome: "failed" })
      ).toBeGreaterThanOrEqual(1)
      expect(
        parked.value("almanac_calendar_requests_total", { status: "4xx" }) -
          before.value("almanac_calendar_requests_total", { status: "4xx" })
      ).toBeGreaterThanOrEqual(1)
      // Counts only: no calendar, account or user appears in what anyone may scrape.
      for (const id of [source.id, target.id, guarded.accountId, ann.id])
        expect(parked.text).not.toContain(id)
    }).pipe(Effect.scoped, Effect.provide(Fixtures.httpClient))
  )
})
