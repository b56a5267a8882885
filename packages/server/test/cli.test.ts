/**
 * The `almanac` binary end to end against the real servers: what a person types, what they see.
 */
import { randomUUID } from "node:crypto"
import { existsSync, mkdtempSync, writeFileSync } from "node:fs"
import { type AddressInfo, createServer, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Reactivity } from "@effect/experimental"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect } from "effect"
import { describe, expect, it, vi } from "vitest"
import { caldavServer as server } from "../../../scripts/test-servers/context.js"
import { almanac, start } from "./support/cli.js"

// Each test starts the real binary one or more times: generous, so that a busy two-core machine
// cannot turn a slow start into a failure (a start takes about a second; 30 s was once too little).
vi.setConfig({ testTimeout: 180_000 })

const xandikos = server("xandikos")
const radicale = server("radicale")
const RADICALE_PASSWORD = "any-password"

const request = async (method: string, url: string, body?: string, user?: string) => {
  const headers: Record<string, string> =
    body === undefined
      ? {}
      : { "Content-Type": body.startsWith("<?xml") ? "application/xml" : "text/calendar; charset=utf-8" }
  if (method === "PROPFIND") headers.Depth = "1"
  if (user !== undefined)
    headers.Authorization = `Basic ${Buffer.from(`${user}:${RADICALE_PASSWORD}`).toString("base64")}`
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) })
  return { status: res.status, text: await res.text() }
}

const mkcalendar = async (home: string, user?: string) => {
  const url = `${home}cli-${randomUUID()}/`
  const res = await request("MKCALENDAR", url, undefined, user)
  expect(res.status).toBe(201)
  return url
}

const ics = (uid: string, lines: ReadonlyArray<string>) =>
  [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//test//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20261101T000000Z",
    ...lines,
    "END:VEVENT",
    "END:VCALENDAR",
    ""
  ].join("\r\n")

const putEvent = (calendar: string, name: string, body: string, user?: string) =>
  request("PUT", `${calendar}${name}`, body, user)

const countItems = async (calendar: string, user?: string) => {
  const res = await request(
    "PROPFIND",
    calendar,
    `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>`,
    user
  )
  return (res.text.match(/\.ics</g) ?? []).length
}

const stateFile = () => join(mkdtempSync(join(tmpdir(), "almanac-cli-")), "state.db")

describe("almanac caldav", () => {
  it("discovers the calendars of both servers, as a table and as JSON", async () => {
    const cal = await mkcalendar(radicale.home, radicale.user)
    const table = await almanac(["caldav", "discover", "--url", radicale.url, "--user", radicale.user], {
      ALMANAC_PASSWORD: RADICALE_PASSWORD
    })
    expect(table.code).toBe(0)
    expect(table.stdout).toContain(cal)
    const json = await almanac(["caldav", "discover", "--url", xandikos.url, "--json"])
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.stdout) as { calendars: Array<{ url: string; components: Array<string> }> }
    expect(parsed.calendars.some((c) => c.url === `${xandikos.home}calendar/`)).toBe(true)
    expect(parsed.calendars.every((c) => c.components.includes("VEVENT"))).toBe(true)
  })

  it("prints one clear line and exits non-zero when the server is not there", async () => {
    const res = await almanac(["caldav", "discover", "--url", "http://127.0.0.1:9/"])
    expect(res.code).not.toBe(0)
    const lines = res.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^almanac: /)
  })

  it("refuses to run without a password for a named user when there is no terminal", async () => {
    const res = await almanac(["caldav", "discover", "--url", radicale.url, "--user", radicale.user])
    expect(res.code).not.toBe(0)
    expect(res.stderr).toContain("ALMANAC_PASSWORD")
  })

  it("lists changes since a token and prints an event", async () => {
    const cal = await mkcalendar(xandikos.home)
    await putEvent(
      cal,
      "a.ics",
      ics("cli-a@test", ["DTSTART:20261124T090000Z", "DTEND:20261124T100000Z", "SUMMARY:alpha"])
    )
    const all = await almanac(["caldav", "changes", "--calendar", cal, "--json"])
    const first = JSON.parse(all.stdout) as { token: string; changed: Array<{ href: string }> }
    expect(first.changed.map((c) => c.href)).toEqual([`${cal}a.ics`])
    await putEvent(
      cal,
      "b.ics",
      ics("cli-b@test", ["DTSTART:20261125T090000Z", "DTEND:20261125T100000Z", "SUMMARY:beta"])
    )
    const since = await almanac(["caldav", "changes", "--calendar", cal, "--since", first.token, "--json"])
    expect(
      (JSON.parse(since.stdout) as { changed: Array<{ href: string }> }).changed.map((c) => c.href)
    ).toEqual([`${cal}b.ics`])
    const got = await almanac(["caldav", "get", "--href", `${cal}b.ics`])
    expect(got.stdout).toContain("SUMMARY:beta")
  })
})

describe("almanac sync once", () => {
  it("syncs Xandikos to Radicale, then writes nothing on a second run", async () => {
    const from = await mkcalendar(xandikos.home)
    const to = await mkcalendar(radicale.home, radicale.user)
    for (let i = 0; i < 3; i++) {
      await putEvent(
        from,
        `e${i}.ics`,
        ics(`once-${i}@test`, [
          `DTSTART;TZID=Europe/Berlin:2026112${i}T090000`,
          `DTEND;TZID=Europe/Berlin:2026112${i}T100000`,
          `SUMMARY:secret ${i}`
        ])
      )
    }
    const state = stateFile()
    const args = [
      "sync",
      "once",
      "--from",
      from,
      "--to",
      to,
      "--to-user",
      radicale.user,
      "--private",
      "--state",
      state,
      "--json"
    ]
    const env = { ALMANAC_TO_PASSWORD: RADICALE_PASSWORD }
    const first = await almanac(args, env)
    expect(first.code).toBe(0)
    const summary = JSON.parse(first.stdout) as Record<string, unknown>
    expect(Object.keys(summary).sort()).toEqual(
      [
        "conflicts",
        "created",
        "deleted",
        "fullResync",
        "quarantined",
        "requests",
        "unchanged",
        "updated"
      ].sort()
    )
    expect(summary.created).toBe(3)
    const second = JSON.parse((await almanac(args, env)).stdout) as {
      created: number
      updated: number
      deleted: number
      requests: { from: number; to: number }
    }
    expect([second.created, second.updated, second.deleted]).toEqual([0, 0, 0])
    expect(second.requests).toEqual({ from: 1, to: 1 })
    expect(await countItems(to, radicale.user)).toBe(3)
  })

  it("a sync killed in the middle converges on the next run, with no duplicates", async () => {
    const from = await mkcalendar(radicale.home, radicale.user)
    const to = await mkcalendar(xandikos.home)
    const n = 40
    for (let i = 0; i < n; i++) {
      await putEvent(
        from,
        `k${i}.ics`,
        ics(`kill-${i}@test`, [
          `DTSTART:202612${String((i % 28) + 1).padStart(2, "0")}T0${i % 10}0000Z`,
          `DTEND:202612${String((i % 28) + 1).padStart(2, "0")}T0${i % 10}3000Z`,
          `SUMMARY:k${i}`
        ]),
        radicale.user
      )
    }
    const state = stateFile()
    const args = [
      "sync",
      "once",
      "--from",
      from,
      "--from-user",
      radicale.user,
      "--to",
      to,
      "--state",
      state,
      "--json"
    ]
    const env = { ALMANAC_FROM_PASSWORD: RADICALE_PASSWORD }
    const child = start(args, env)
    // Kill it hard once some copies exist (Xandikos commits each PUT, so this is mid-sync).
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline && (await countItems(to)) < 5) await new Promise((r) => setTimeout(r, 50))
    child.kill("SIGKILL")
    await new Promise((r) => child.once("close", r))
    const partial = await countItems(to)
    expect(partial).toBeGreaterThanOrEqual(5)
    expect(partial).toBeLessThan(n)
    const rerun = await almanac(args, env)
    expect(rerun.code).toBe(0)
    expect(await countItems(to)).toBe(n)
    const again = JSON.parse((await almanac(args, env)).stdout) as { created: number; updated: number }
    expect([again.created, again.updated]).toEqual([0, 0])
    expect(await countItems(to)).toBe(n)
  })
})

/** Runs SQL on a CLI state file, as a person poking at it (or a damaged file) would. */
const onState = (file: string, statement: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sql = yield* SqliteClient.make({ filename: file })
      yield* sql.unsafe(statement)
    }).pipe(Effect.scoped, Effect.provide(Reactivity.layer))
  )

/** Flags such as --from-password-file named in a message. */
const flagsIn = (text: string) => [...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0])

describe("almanac sync once, where it keeps its state", () => {
  it("by default in a file of its own beside the server's database, never the server's", async () => {
    const from = await mkcalendar(radicale.home, radicale.user)
    const to = await mkcalendar(xandikos.home)
    const dataDir = mkdtempSync(join(tmpdir(), "almanac-cli-data-"))
    const file = join(mkdtempSync(join(tmpdir(), "almanac-pw-")), "from.password")
    writeFileSync(file, `${RADICALE_PASSWORD}\n`, { mode: 0o600 })
    const done = await almanac(
      [
        "sync",
        "once",
        "--from",
        from,
        "--from-user",
        radicale.user,
        "--to",
        to,
        "--from-password-file",
        file
      ],
      { ALMANAC_DATA_DIR: dataDir }
    )
    expect(done.code, done.stderr).toBe(0)
    expect(existsSync(join(dataDir, "cli-sync.db"))).toBe(true)
    expect(existsSync(join(dataDir, "almanac.db"))).toBe(false)
  }, 120_000)
})

describe("almanac sync once, what it says", () => {
  it("without a password names the variable and the flag that give one, and the flag works", async () => {
    const from = await mkcalendar(radicale.home, radicale.user)
    const to = await mkcalendar(xandikos.home)
    const args = ["sync", "once", "--from", from, "--from-user", radicale.user, "--to", to]
    const refused = await almanac([...args, "--state", stateFile()])
    expect(refused.code).not.toBe(0)
    const lines = refused.stderr.trim().split("\n")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain("ALMANAC_FROM_PASSWORD")
    expect(flagsIn(lines[0] ?? "")).toEqual(["--from-password-file"])
    // The flag it names is one `sync once` takes, and it gives the password.
    const file = join(mkdtempSync(join(tmpdir(), "almanac-pw-")), "from.password")
    writeFileSync(file, `${RADICALE_PASSWORD}\n`, { mode: 0o600 })
    const done = await almanac([...args, "--from-password-file", file, "--state", stateFile(), "--json"])
    expect(done.stderr).toBe("")
    expect(done.code).toBe(0)
  }, 120_000)

  it("with --json, stdout is one JSON document even when the sync token is rejected; the warning is on stderr", async () => {
    const from = await mkcalendar(radicale.home, radicale.user)
    const to = await mkcalendar(xandikos.home)
    await putEvent(
      from,
      "t.ics",
      ics("token-1@test", ["DTSTART:20261201T090000Z", "DTEND:20261201T100000Z", "SUMMARY:t"]),
      radicale.user
    )
    const state = stateFile()
    const args = ["sync", "once", "--from", from, "--from-user", radicale.user, "--to", to, "--state", state]
    const env = { ALMANAC_FROM_PASSWORD: RADICALE_PASSWORD }
    expect((await almanac([...args, "--json"], env)).code).toBe(0)
    // A cursor the servers never issued: a changed ctag, and a token they reject.
    await onState(
      state,
      `UPDATE calendars SET cursor_value = '{"ctag":"bogus","token":"http://radicale.org/ns/sync/0000000000000000000000000000000000000000"}'`
    )
    const res = await almanac([...args, "--json"], env)
    expect(res.code).toBe(0)
    const summary = JSON.parse(res.stdout) as { fullResync: boolean; created: number }
    expect(summary.fullResync).toBe(true)
    expect(summary.created).toBe(0)
    expect(res.stderr).toContain("sync token rejected")
    expect(res.stdout).not.toContain("sync token rejected")
  }, 120_000)
})

describe("almanac sync once, a damaged state file", () => {
  it("says in one line which file cannot be opened and why, instead of exiting silently", async () => {
    const state = stateFile()
    writeFileSync(state, Buffer.alloc(8192, 7))
    const res = await almanac([
      "sync",
      "once",
      "--from",
      `${xandikos.home}a/`,
      "--to",
      `${xandikos.home}b/`,
      "--state",
      state
    ])
    expect(res.code).not.toBe(0)
    expect(res.stdout).toBe("")
    expect(res.stderr.trim().split("\n")).toEqual([
      `almanac: DatabaseError: cannot open the SQLite database ${state}: file is not a database`
    ])
  }, 60_000)
})

/** Two calendars of the one Radicale user, the first with `n` events. */
const manyEvents = async (n: number) => {
  const from = await mkcalendar(radicale.home, radicale.user)
  const to = await mkcalendar(radicale.home, radicale.user)
  for (let i = 0; i < n; i++) {
    const day = String((i % 28) + 1).padStart(2, "0")
    await putEvent(
      from,
      `p${i}.ics`,
      ics(`progress-${randomUUID()}@test`, [
        `DTSTART:202701${day}T090000Z`,
        `DTEND:202701${day}T100000Z`,
        `SUMMARY:p${i}`
      ]),
      radicale.user
    )
  }
  return { from, to }
}

describe("almanac sync once, a long sync", () => {
  it("prints thin progress lines on stderr, and counts requests per side though both are one Radicale user", async () => {
    const n = 150
    const { from, to } = await manyEvents(n)
    const args = ["sync", "once", "--from", from, "--from-user", radicale.user, "--to", to]
    const all = [...args, "--to-user", radicale.user, "--state", stateFile(), "--json"]
    const env = { ALMANAC_FROM_PASSWORD: RADICALE_PASSWORD, ALMANAC_TO_PASSWORD: RADICALE_PASSWORD }
    const first = await almanac(all, env)
    expect(first.code).toBe(0)
    const summary = JSON.parse(first.stdout) as { created: number; requests: { from: number; to: number } }
    expect(summary.created).toBe(n)
    const progress = first.stderr
      .trim()
      .split("\n")
      .filter((l) => l.startsWith("almanac: "))
    expect(progress).toContain(`almanac: from: fetched ${n}/${n}`)
    expect(progress).toContain(`almanac: from: written ${n}/${n}`)
    // Thin: never a line per event.
    expect(progress.length).toBeLessThan(20)
    for (const line of progress) expect(line).toMatch(/^almanac: (from|to): (fetched|written) \d+\/\d+$/)
    // The source was read (ctag, sync-collection, two multigets); the target took the writes.
    expect(summary.requests.from).toBeLessThanOrEqual(5)
    expect(summary.requests.to).toBeGreaterThanOrEqual(n)
    const idle = await almanac(all, env)
    expect((JSON.parse(idle.stdout) as { requests: unknown }).requests).toEqual({ from: 1, to: 1 })
    // A small sync says nothing but its summary.
    expect(idle.stderr).toBe("")
  }, 180_000)
})

describe("almanac sync watch, a long sync", () => {
  it("prints the same progress lines on stderr, and its per-poll lines alone on stdout", async () => {
    const n = 120
    const { from, to } = await manyEvents(n)
    const child = start(
      [
        "sync",
        "watch",
        "--from",
        from,
        "--from-user",
        radicale.user,
        "--to",
        to,
        "--to-user",
        radicale.user
      ].concat(["--state", stateFile(), "--json", "--interval", "3600"]),
      { ALMANAC_FROM_PASSWORD: RADICALE_PASSWORD, ALMANAC_TO_PASSWORD: RADICALE_PASSWORD }
    )
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString()
    })
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString()
    })
    const closed = new Promise((r) => child.once("close", r))
    try {
      const deadline = Date.now() + 120_000
      // Both sides' first polls: the source's line reports the copies.
      while (
        Date.now() < deadline &&
        stdout
          .trim()
          .split("\n")
          .filter((l) => l !== "").length < 2
      )
        await new Promise((r) => setTimeout(r, 200))
    } finally {
      child.kill("SIGTERM")
      await closed
    }
    expect(stderr).toContain(`almanac: from: fetched ${n}/${n}`)
    expect(stderr).toContain(`almanac: from: written ${n}/${n}`)
    const polls = stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { calendar: string; report?: { created: number } })
    expect(polls.find((p) => p.calendar === from)?.report?.created).toBe(n)
  }, 180_000)
})

describe("almanac freebusy", () => {
  it("merges recurring, all-day, moved and cancelled events from a real server into UTC intervals", async () => {
    const cal = await mkcalendar(radicale.home, radicale.user)
    const u = radicale.user
    // Weekly Monday 09:00–10:00 Berlin from 2026-11-02: Nov 16 moved to Tuesday 14:00, Nov 23
    // removed by EXDATE, Nov 30 cancelled by an override, Dec 7 as the rule says.
    await putEvent(
      cal,
      "weekly.ics",
      [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//test//EN",
        "BEGIN:VEVENT",
        "UID:fb-weekly@test",
        "DTSTAMP:20261101T000000Z",
        "DTSTART;TZID=Europe/Berlin:20261102T090000",
        "DTEND;TZID=Europe/Berlin:20261102T100000",
        "RRULE:FREQ=WEEKLY;COUNT=6",
        "EXDATE;TZID=Europe/Berlin:20261123T090000",
        "SUMMARY:standup",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:fb-weekly@test",
        "DTSTAMP:20261101T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261116T090000",
        "DTSTART;TZID=Europe/Berlin:20261117T140000",
        "DTEND;TZID=Europe/Berlin:20261117T150000",
        "SUMMARY:standup (moved)",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:fb-weekly@test",
        "DTSTAMP:20261101T000000Z",
        "RECURRENCE-ID;TZID=Europe/Berlin:20261130T090000",
        "DTSTART;TZID=Europe/Berlin:20261130T090000",
        "DTEND;TZID=Europe/Berlin:20261130T100000",
        "STATUS:CANCELLED",
        "SUMMARY:standup",
        "END:VEVENT",
        "END:VCALENDAR",
        ""
      ].join("\r\n"),
      u
    )
    await putEvent(
      cal,
      "allday.ics",
      ics("fb-allday@test", ["DTSTART;VALUE=DATE:20261119", "DTEND;VALUE=DATE:20261120", "SUMMARY:offsite"]),
      u
    )
    await putEvent(
      cal,
      "free.ics",
      ics("fb-free@test", [
        "DTSTART:20261118T120000Z",
        "DTEND:20261118T130000Z",
        "TRANSP:TRANSPARENT",
        "SUMMARY:reminder"
      ]),
      u
    )
    await putEvent(
      cal,
      "cancelled.ics",
      ics("fb-cancel@test", [
        "DTSTART:20261118T150000Z",
        "DTEND:20261118T160000Z",
        "STATUS:CANCELLED",
        "SUMMARY:off"
      ]),
      u
    )
    const res = await almanac(
      [
        "freebusy",
        "--calendar",
        cal,
        "--user",
        u,
        "--start",
        "2026-11-16T00:00:00Z",
        "--end",
        "2026-12-08T00:00:00Z",
        "--json"
      ],
      { ALMANAC_PASSWORD: RADICALE_PASSWORD }
    )
    expect(res.code).toBe(0)
    expect(JSON.parse(res.stdout)).toEqual({
      busy: [
        { start: "2026-11-17T13:00:00.000Z", end: "2026-11-17T14:00:00.000Z" },
        { start: "2026-11-19T00:00:00.000Z", end: "2026-11-20T00:00:00.000Z" },
        { start: "2026-12-07T08:00:00.000Z", end: "2026-12-07T09:00:00.000Z" }
      ],
      skipped: []
    })
    // The all-day event falls on the 19th where the person is.
    const berlin = await almanac(
      [
        "freebusy",
        "--calendar",
        cal,
        "--user",
        u,
        "--start",
        "2026-11-19T00:00:00Z",
        "--end",
        "2026-11-21T00:00:00Z",
        "--zone",
        "Europe/Berlin",
        "--json"
      ],
      { ALMANAC_PASSWORD: RADICALE_PASSWORD }
    )
    expect(JSON.parse(berlin.stdout)).toEqual({
      busy: [{ start: "2026-11-19T00:00:00.000Z", end: "2026-11-19T23:00:00.000Z" }],
      skipped: []
    })
    // In Auckland the 19th starts at 11:00 UTC on the 18th: an hour the server, reading the
    // all-day event in UTC, would not match unless asked a wider range.
    const auckland = await almanac(
      [
        "freebusy",
        "--calendar",
        cal,
        "--user",
        u,
        "--start",
        "2026-11-18T10:00:00Z",
        "--end",
        "2026-11-18T12:00:00Z",
        "--zone",
        "Pacific/Auckland",
        "--json"
      ],
      { ALMANAC_PASSWORD: RADICALE_PASSWORD }
    )
    expect(JSON.parse(auckland.stdout)).toEqual({
      busy: [{ start: "2026-11-18T11:00:00.000Z", end: "2026-11-18T12:00:00.000Z" }],
      skipped: []
    })
  })
})

describe("almanac freebusy over a hostile calendar", () => {
  it("answers the readable events, and names what it skipped or cut instead of reading it as free", async () => {
    const cal = await mkcalendar(radicale.home, radicale.user)
    const u = radicale.user
    await putEvent(
      cal,
      "normal.ics",
      ics("fb-normal@test", ["DTSTART:20261121T090000Z", "DTEND:20261121T100000Z"]),
      u
    )
    // Every minute for 30 seconds from the window's start: 10,080 instances in a week, more
    // than the budget of 5,000 for one series.
    await putEvent(
      cal,
      "minutely.ics",
      ics("fb-minutely@test", ["DTSTART:20261116T000000Z", "DURATION:PT30S", "RRULE:FREQ=MINUTELY"]),
      u
    )
    // Stored by the server, refused by us: it ends before it starts.
    await putEvent(
      cal,
      "backwards.ics",
      ics("fb-backwards@test", ["DTSTART:20261118T100000Z", "DTEND:20261118T090000Z"]),
      u
    )
    const res = await almanac(
      [
        "freebusy",
        "--calendar",
        cal,
        "--user",
        u,
        "--start",
        "2026-11-16T00:00:00Z",
        "--end",
        "2026-11-23T00:00:00Z",
        "--json"
      ],
      { ALMANAC_PASSWORD: RADICALE_PASSWORD }
    )
    expect(res.code).toBe(0)
    const answer = JSON.parse(res.stdout) as {
      busy: ReadonlyArray<{ start: string; end: string }>
      skipped: ReadonlyArray<{ href: string; reason: string }>
    }
    // After the cut, the other events are still there.
    expect(answer.busy.at(-1)).toEqual({ start: "2026-11-21T09:00:00.000Z", end: "2026-11-21T10:00:00.000Z" })
    // The series is shown up to its cut (5,000 minutes in) and not after it.
    expect(answer.busy).toHaveLength(5_002)
    expect(answer.busy.at(-2)).toEqual({ start: "2026-11-19T11:20:00.000Z", end: "2026-11-19T11:20:30.000Z" })
    const reasons = Object.fromEntries(answer.skipped.map((s) => [s.href.split("/").at(-1), s.reason]))
    expect(reasons["minutely.ics"]).toBe(
      "it repeats more than 5000 times up to the end of the window; busy time is shown only until 2026-11-19T11:20:00.000Z"
    )
    expect(reasons["backwards.ics"]).toContain("ends before it starts")
    expect(Object.keys(reasons)).toHaveLength(2)
    expect(res.stderr).toContain("minutely.ics: it repeats more than 5000 times")
  })
})

describe("the commands that talk to calendar servers wait as ALMANAC_REQUEST_TIMEOUT says", () => {
  /** A server that takes connections and never answers: only the client's own deadline ends a request. */
  const silent = () =>
    new Promise<{ readonly url: string; readonly close: () => void }>((resolve) => {
      const sockets: Array<Socket> = []
      const server = createServer((socket) => {
        sockets.push(socket)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resolve({
          url: `http://127.0.0.1:${port}/cal/`,
          close: () => {
            for (const s of sockets) s.destroy()
            server.close()
          }
        })
      })
    })

  it("sync once gives up on a silent server after the configured time, saying so", async () => {
    const quiet = await silent()
    try {
      const res = await almanac(
        ["sync", "once", "--from", quiet.url, "--to", quiet.url.replace("/cal/", "/other/"), "--json"],
        { ALMANAC_REQUEST_TIMEOUT: "2s", ALMANAC_FROM_PASSWORD: "x", ALMANAC_TO_PASSWORD: "x" }
      )
      expect(res.code).not.toBe(0)
      expect(res.stderr).toContain("no complete answer within 2s")
    } finally {
      quiet.close()
    }
  })

  it("caldav changes does too, and a value that is no duration is refused naming the variable", async () => {
    const quiet = await silent()
    try {
      const res = await almanac(["caldav", "changes", "--calendar", quiet.url], {
        ALMANAC_REQUEST_TIMEOUT: "1s"
      })
      expect(res.code).not.toBe(0)
      expect(res.stderr).toContain("no complete answer within 1s")
      const bad = await almanac(["caldav", "changes", "--calendar", quiet.url], {
        ALMANAC_REQUEST_TIMEOUT: "soon"
      })
      expect(bad.code).not.toBe(0)
      expect(bad.stderr).toContain('ALMANAC_REQUEST_TIMEOUT: "soon" is not a duration')
    } finally {
      quiet.close()
    }
  })
})
