/**
 * Several runners on one PostgreSQL database: three `almanac serve` processes (the shipped bin),
 * each with its own HTTP port and runner address (ALMANAC_RUNNER_ADDRESS), the same database,
 * master key and admin token, watching the twelve empty calendars of one CalDAV account on a fake
 * that logs every request with its times (scripts/test-servers/IdleCalDav.ts; each answer takes 150 ms,
 * so a poll spans time). PostgreSQL is a throwaway cluster of this file's own
 * (scripts/test-servers/postgres.ts).
 *
 * The first runner starts alone on the empty database and watches the calendars (an existing
 * engine); the two others join it. Checked: the calendars' shards split (every runner polls some, each calendar is polled by one
 * runner); the API answers on every runner; "sync now" asked of a runner that does not own the
 * calendar reaches the one that does; a runner killed with SIGKILL has all its calendars polled by
 * the others within a minute, even with none of their keep-alive messages pending (the cluster
 * loses some; the runners' sweep of the wanted set brings them back); and never, over the whole test, two requests to one calendar at once
 * (two pollers of one calendar).
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as PollLog from "../../../scripts/test-servers/IdleCalDav.js"
import { type RunningPostgres, startPostgres } from "../../../scripts/test-servers/postgres.js"
import { freePort } from "../../../scripts/test-servers/servers.js"
import * as Serve from "./support/ServeProcess.js"

const calendars = 12
const adminToken = randomBytes(24).toString("hex")
const masterKey = randomBytes(32).toString("hex")

interface Runner {
  readonly name: string
  readonly url: string
  readonly process: Serve.Process
  readonly dataDir: string
}

let pg: RunningPostgres | undefined
let fake: PollLog.IdleCalDav | undefined
const runners: Array<Runner> = []

beforeAll(async () => {
  pg = await startPostgres()
  fake = await PollLog.start(calendars, 150)
})

afterAll(async () => {
  await Promise.all(
    runners.map(async (r) => {
      if (r.process.child.exitCode === null && r.process.child.signalCode === null)
        await Serve.stop(r.process).catch(() => r.process.child.kill("SIGKILL"))
      rmSync(r.dataDir, { recursive: true, force: true })
    })
  )
  await fake?.close()
  await pg?.stop()
})

const startRunner = async (name: string, databaseUrl: string): Promise<Runner> => {
  const port = await freePort()
  const runnerPort = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), `almanac-${name}-`))
  const url = `http://127.0.0.1:${port}`
  const process = await Serve.serve(
    {
      ALMANAC_DATA_DIR: dataDir,
      ALMANAC_PORT: String(port),
      ALMANAC_DATABASE_URL: databaseUrl,
      ALMANAC_RUNNER_ADDRESS: `127.0.0.1:${runnerPort}`,
      ALMANAC_MASTER_KEY: masterKey,
      ALMANAC_ADMIN_TOKEN: adminToken,
      ALMANAC_ALLOW_PRIVATE_URLS: "true",
      ALMANAC_POLL_INTERVAL: "5s",
      ALMANAC_LOG_FORMAT: "json"
    },
    url
  )
  const runner = { name, url, process, dataDir }
  runners.push(runner)
  return runner
}

/** The calendars each poll line of a runner's log names, with how many polls. */
const pollsLogged = (runner: Runner): Map<string, number> => {
  const counts = new Map<string, number>()
  for (const line of runner.process.output().split("\n")) {
    if (!line.startsWith("{")) continue
    try {
      const entry = JSON.parse(line) as { message?: unknown; annotations?: Record<string, unknown> }
      const calendar = entry.annotations?.calendar
      if (entry.message === "poll" && typeof calendar === "string")
        counts.set(calendar, (counts.get(calendar) ?? 0) + 1)
    } catch {
      // not a log line of ours
    }
  }
  return counts
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe("three runners on one PostgreSQL database", () => {
  it("split the calendars, take over a killed runner's within a minute, never poll one calendar twice at once", async () => {
    if (pg === undefined || fake === undefined) return expect.fail("no PostgreSQL or CalDAV fake")
    const db = pg
    const log = fake
    const databaseUrl = pg.createDatabase("almanac_runners")
    // An existing engine: one runner, its database migrated, watching the calendars; then two more join it.
    const first = await startRunner("runner-a", databaseUrl)

    const call = Serve.api(first.url, adminToken)
    const created = await call("POST", "/api/admin/users", { name: "Runners" })
    expect(created.status).toBe(201)
    const token = (created.body as { token: { token: string } }).token.token
    const connected = await Serve.api(first.url, token)("POST", "/api/accounts/caldav", {
      url: log.url,
      username: "runners",
      password: "runners-password"
    })
    expect(connected.status).toBe(201)
    const ids = (connected.body as { calendars: ReadonlyArray<{ id: string; url: string }> }).calendars
    expect(ids).toHaveLength(calendars)
    const indexOf = new Map(ids.map((c) => [c.id, Number(/cal-(\d+)\/$/.exec(c.url)?.[1])]))
    for (let i = 0; i < ids.length; i += 2) {
      const made = await Serve.api(first.url, token)("POST", "/api/relationships", {
        sourceCalendarId: ids[i]?.id,
        targetCalendarId: ids[i + 1]?.id,
        direction: "one-way"
      })
      expect(made.status).toBe(201)
    }
    await Serve.waitUntil(
      "every calendar polled by the first runner",
      async () => ids.filter((c) => log.pollsOf(indexOf.get(c.id) ?? -1).length > 0).length,
      (n) => n === calendars,
      60
    )
    await Promise.all([startRunner("runner-b", databaseUrl), startRunner("runner-c", databaseUrl)])

    // Every calendar polled, and the split settled: each calendar's polls over 15 s come from one runner.
    const ownerOf = async (): Promise<Map<string, string>> => {
      const before = runners.map((r) => pollsLogged(r))
      await sleep(15_000)
      const owners = new Map<string, string>()
      runners.forEach((r, i) => {
        if (r.process.child.exitCode !== null || r.process.child.signalCode !== null) return
        for (const [calendar, n] of pollsLogged(r))
          if (n > (before[i]?.get(calendar) ?? 0))
            owners.set(calendar, owners.has(calendar) ? "several" : r.name)
      })
      return owners
    }
    let owners = await ownerOf()
    for (
      let attempt = 0;
      attempt < 6 && (owners.size < calendars || [...owners.values()].includes("several"));
      attempt++
    )
      owners = await ownerOf()
    expect(owners.size).toBe(calendars)
    expect([...owners.values()]).not.toContain("several")
    const held = (name: string) => [...owners].filter(([, o]) => o === name).map(([c]) => c)
    process.stderr.write(
      `multi-runner: calendars per runner ${runners.map((r) => `${r.name} ${held(r.name).length}`).join(", ")}\n`
    )
    for (const r of runners) expect(held(r.name).length, `${r.name} polls none`).toBeGreaterThan(0)

    // The API and the pages answer on every runner.
    for (const r of runners) {
      expect((await fetch(`${r.url}/api/health`)).status).toBe(200)
      expect((await Serve.api(r.url, token)("GET", "/api/status")).status).toBe(200)
      expect((await fetch(`${r.url}/`)).status).toBeLessThan(500)
    }

    // "Sync now" asked of a runner that does not own the calendar reaches the one that does.
    const [victim, ...survivors] = [...runners].sort((a, b) => held(b.name).length - held(a.name).length)
    if (victim === undefined) return expect.fail("no runner")
    const remote = held(victim.name)[0]
    const asker = survivors[0]
    if (remote === undefined || asker === undefined) return expect.fail("no calendar to ask for")
    const remoteIndex = indexOf.get(remote) ?? -1
    const asked = Date.now()
    const polledBefore = log.pollsOf(remoteIndex).length
    expect((await Serve.api(asker.url, token)("POST", `/api/calendars/${remote}/sync`)).status).toBeLessThan(
      300
    )
    await Serve.waitUntil(
      "the owner to poll on sync now",
      async () => log.pollsOf(remoteIndex).filter((t) => t >= asked).length,
      (n) => n > 0
    )
    expect(log.pollsOf(remoteIndex).length).toBeGreaterThan(polledBefore)

    // SIGKILL the runner holding the most calendars: the others poll every one of them within a minute.
    // First its calendars' keep-alive messages are marked answered, as the cluster itself does when
    // a shard's messages are delivered again to an entity that holds its keep-alive (seen: 3 of 12
    // calendars with none pending). The cluster then restarts none of them: the takeover must come
    // from the database's wanted set (ActorHost's sweep), which is what this checks.
    const orphaned = held(victim.name).map((c) => indexOf.get(c) ?? -1)
    const victimIds = held(victim.name)
      .map((c) => `'${c.replace(/'/g, "''")}'`)
      .join(",")
    db.run(
      "almanac_runners",
      `UPDATE cluster_messages SET processed = TRUE WHERE entity_type = 'Calendar' AND tag = 'Cluster/Entity/keepAlive' AND entity_id IN (${victimIds})`
    )
    const pending = db.run(
      "almanac_runners",
      `SELECT COUNT(*) FROM cluster_messages WHERE processed = FALSE AND entity_id IN (${victimIds})`
    )
    expect(pending).toMatch(/^\s*0\s*$/m)
    victim.process.child.kill("SIGKILL")
    const killedAt = Date.now()
    await Serve.waitUntil(
      "the killed runner's calendars to be polled elsewhere",
      async () => orphaned.filter((i) => log.pollsOf(i).some((t) => t > killedAt + 1000)).length,
      (n) => n === orphaned.length,
      90
    )
    const takeover = Math.max(
      ...orphaned.map(
        (i) => (log.pollsOf(i).find((t) => t > killedAt + 1000) ?? Number.POSITIVE_INFINITY) - killedAt
      )
    )
    process.stderr.write(
      `multi-runner: ${victim.name} held ${orphaned.length} of ${calendars} calendars; all polled elsewhere ${(takeover / 1000).toFixed(1)} s after its SIGKILL\n`
    )
    expect(takeover).toBeLessThan(60_000)
    // By the survivors, and they answer.
    const after = new Map(survivors.map((r) => [r.name, pollsLogged(r)]))
    await sleep(6_000)
    const pollersNow = orphaned.filter((i) =>
      survivors.some((r) => {
        const id = ids.find((c) => indexOf.get(c.id) === i)?.id ?? ""
        return (pollsLogged(r).get(id) ?? 0) > (after.get(r.name)?.get(id) ?? 0)
      })
    )
    expect(pollersNow).toHaveLength(orphaned.length)
    for (const r of survivors) {
      expect((await fetch(`${r.url}/api/health`)).status).toBe(200)
      expect((await Serve.api(r.url, token)("GET", "/api/status")).status).toBe(200)
    }

    // Never two requests to one calendar at once, from the start to now.
    const overlapping = PollLog.overlaps(log.log())
    expect(overlapping, JSON.stringify(overlapping.slice(0, 3))).toEqual([])
    expect(log.unknown()).toEqual([])
  }, 300_000)
})
