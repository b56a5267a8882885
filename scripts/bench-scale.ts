/**
 * `npm run bench:scale`: `almanac serve` (the shipped bin, in its own process) watching many idle
 * calendars. A tiny CalDAV fake on loopback answers discovery and idle polls (a ctag and a
 * sync-token that never change, no events); one account holds N calendars, paired into N/2
 * relationships through the API. Then the server is restarted three times and each start is
 * timed: spawn to the first 200 on /api/health, and spawn to every calendar polled once (the fake
 * counts the Depth 0 PROPFIND each poll begins with). After each life: RSS, and the rows in
 * cluster_messages / cluster_replies. The load average is printed with each figure: the machine
 * is shared, and a start on a loaded machine is slower.
 *
 * Each life then stays up for a steady window (ALMANAC_BENCH_STEADY seconds, default two poll
 * intervals) in which it measures what a runner at cadence costs: CPU (the server process's own
 * user + system time, from /proc), the poll rate it sustained against the rate asked (N / interval,
 * counted by the fake), and how late polls began (the server's almanac_poll_lateness_seconds
 * histogram, scraped at both ends of the window; its next poll time already holds the jitter, so
 * lateness is against the jittered time, given as the bucket bound a quantile falls under).
 * Database growth: the SQLite file's size after each life's clean stop (the WAL is folded back),
 * against the polls of that life. Memory per idle calendar: RSS once all polled, less the RSS of
 * the same server with no calendars (the seeding life, at its first 200), over N.
 *
 * ALMANAC_BENCH_CALENDARS (default 1000, 2..100000) sets N; ALMANAC_BENCH_POLL_INTERVAL (default
 * 60s; seconds or minutes, "90s", "10m") is the server's poll interval, over which first polls
 * are spread.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as IdleCalDav from "./test-servers/IdleCalDav.js"
import { freePort } from "./test-servers/servers.js"

const calendarCount = (): number => {
  const raw = process.env.ALMANAC_BENCH_CALENDARS
  if (raw === undefined || raw.trim() === "") return 1000
  const n = Number.parseInt(raw, 10)
  if (!Number.isFinite(n) || n < 2 || n > 100_000)
    throw new Error(
      `ALMANAC_BENCH_CALENDARS must be a whole number from 2 to 100000, not ${JSON.stringify(raw)}`
    )
  return n
}

const intervalSeconds = (text: string): number => {
  const m = /^(\d+)\s*(s|m)$/.exec(text)
  if (m === null)
    throw new Error(`ALMANAC_BENCH_POLL_INTERVAL must be seconds or minutes ("90s", "10m"), not ${text}`)
  return Number(m[1]) * (m[2] === "m" ? 60 : 1)
}

const started = Date.now()
const log = (line: string) =>
  process.stderr.write(`[scale ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// --- the server -----------------------------------------------------------------------------------

const bin = fileURLToPath(new URL("../packages/server/bin/almanac.mjs", import.meta.url))

const rssMiB = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
  return m === null ? Number.NaN : Math.round(Number(m[1]) / 1024)
}

/** The process's CPU time so far (user + system), in seconds: fields 14 and 15 of /proc/<pid>/stat, in ticks of 1/100 s. */
const cpuSeconds = (pid: number | undefined): number => {
  if (pid === undefined) return Number.NaN
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** The lateness histogram's cumulative buckets, by upper bound ("+Inf" last). */
const latenessBuckets = async (url: string): Promise<ReadonlyArray<readonly [string, number]>> => {
  const text = await (await fetch(`${url}/metrics`)).text()
  return [
    ...text.matchAll(/^almanac_poll_lateness_seconds_bucket\{[^}]*le="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)/gm)
  ].map((m) => [m[1] ?? "", Number(m[2])] as const)
}

/** The bucket bound under which quantile `q` of the polls between two scrapes falls ("≤ 0.05 s"). */
const quantileBound = (
  before: ReadonlyArray<readonly [string, number]>,
  after: ReadonlyArray<readonly [string, number]>,
  q: number
): string => {
  const counts = after.map(([le, n]) => [le, n - (before.find(([b]) => b === le)?.[1] ?? 0)] as const)
  const total = counts.at(-1)?.[1] ?? 0
  if (total === 0) return "no polls"
  const hit = counts.find(([, n]) => n >= q * total)
  return hit === undefined ? "?" : hit[0] === "+Inf" ? "> 3600 s" : `≤ ${hit[0]} s`
}

const fileBytes = (path: string) => (existsSync(path) ? statSync(path).size : 0)

const healthy = async (url: string) => {
  try {
    return (await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) })).ok
  } catch {
    return false
  }
}

interface Life {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
  readonly healthAfter: number
}

const serve = async (env: Record<string, string>, url: string, deadlineSeconds: number): Promise<Life> => {
  const t0 = Date.now()
  const child = spawn(process.execPath, [bin, "serve"], {
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000)
  }
  child.stdout?.on("data", keep)
  child.stderr?.on("data", keep)
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)))
  for (;;) {
    if (child.exitCode !== null) throw new Error(`almanac serve exited: ${output}`)
    if (await healthy(url)) break
    if (Date.now() - t0 > deadlineSeconds * 1000)
      throw new Error(`no 200 on /api/health within ${deadlineSeconds} s`)
    await sleep(100)
  }
  return { child, output: () => output, exited, healthAfter: (Date.now() - t0) / 1000 }
}

const stop = async (life: Life) => {
  life.child.kill("SIGTERM")
  const t0 = Date.now()
  const r = await Promise.race([life.exited, sleep(120_000).then(() => "timeout" as const)])
  if (r === "timeout") {
    life.child.kill("SIGKILL")
    throw new Error("almanac serve did not stop within 120 s of SIGTERM")
  }
  return (Date.now() - t0) / 1000
}

const rows = (db: string): { messages: number; replies: number; failing: number } => {
  const count = (table: string) =>
    Number(execFileSync("sqlite3", [db, `SELECT count(*) FROM ${table}`], { encoding: "utf8" }).trim())
  const failing = Number(
    execFileSync("sqlite3", [db, "SELECT count(*) FROM calendars WHERE last_error IS NOT NULL"], {
      encoding: "utf8"
    }).trim()
  )
  return { messages: count("cluster_messages"), replies: count("cluster_replies"), failing }
}

const main = async () => {
  const n = calendarCount()
  const interval = process.env.ALMANAC_BENCH_POLL_INTERVAL?.trim() || "60s"
  const cadence = intervalSeconds(interval)
  const steady = Number(process.env.ALMANAC_BENCH_STEADY?.trim() || String(2 * cadence))
  const fake = await IdleCalDav.start(n)
  const dataDir = mkdtempSync(join(tmpdir(), "almanac-scale-"))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const adminToken = randomBytes(24).toString("hex")
  const env = {
    ALMANAC_DATA_DIR: dataDir,
    ALMANAC_PORT: String(port),
    ALMANAC_ADMIN_TOKEN: adminToken,
    ALMANAC_ALLOW_PRIVATE_URLS: "true",
    ALMANAC_POLL_INTERVAL: interval,
    ALMANAC_LOG_FORMAT: "json"
  }
  log(`N = ${n} calendars, ${Math.floor(n / 2)} relationships, poll interval ${interval}, data in ${dataDir}`)
  try {
    // Seeding: an empty server, one account holding N calendars, N/2 relationships.
    const seedStart = Date.now()
    const seed = await serve(env, url, 120)
    const emptyRss = rssMiB(seed.child.pid)
    const call = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const text = await res.text()
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
      return JSON.parse(text) as unknown
    }
    const user = (await call(adminToken, "POST", "/api/admin/users", { name: "Bench" })) as {
      token: { token: string }
    }
    const token = user.token.token
    const connected = (await call(token, "POST", "/api/accounts/caldav", {
      url: fake.url,
      username: "bench",
      password: "bench-password"
    })) as { calendars: ReadonlyArray<{ id: string; url: string }> }
    if (connected.calendars.length !== n)
      throw new Error(
        `discovery found ${connected.calendars.length} calendars, not ${n}; fake saw ${fake.unknown().join("; ")}`
      )
    const discovered = (Date.now() - seedStart) / 1000
    const ids = connected.calendars.map((c) => c.id)
    const pairs = Array.from({ length: Math.floor(n / 2) }, (_, i) => [ids[2 * i], ids[2 * i + 1]] as const)
    for (let i = 0; i < pairs.length; i += 8)
      await Promise.all(
        pairs.slice(i, i + 8).map(([s, t]) =>
          call(token, "POST", "/api/relationships", {
            sourceCalendarId: s,
            targetCalendarId: t,
            direction: "one-way"
          })
        )
      )
    const created = (Date.now() - seedStart) / 1000
    log(
      `seeded through the API: account and ${n} calendars after ${discovered.toFixed(1)} s, ${pairs.length} relationships after ${created.toFixed(1)} s; empty server's RSS ${emptyRss} MiB; load ${load()}`
    )
    await stop(seed)
    const db = join(dataDir, "almanac.db")
    const dbBytes = () => fileBytes(db) + fileBytes(`${db}-wal`)
    let bytesBefore = dbBytes()
    log(`after seeding: ${JSON.stringify(rows(db))}, database ${(bytesBefore / 1024 / 1024).toFixed(1)} MiB`)

    const results: Array<Record<string, number | string>> = []
    for (let life = 1; life <= 3; life++) {
      fake.reset()
      const lifePolls = fake.polls()
      const t0 = Date.now()
      const loadAtStart = load()
      const running = await serve(env, url, 1800)
      const healthAfter = running.healthAfter
      const rssAtHealth = rssMiB(running.child.pid)
      const loadAtHealth = load()
      let allPolledAfter = Number.NaN
      const pollDeadline = Date.now() + 1_800_000
      while (Date.now() < pollDeadline) {
        if (fake.polled() >= n) {
          allPolledAfter = (Date.now() - t0) / 1000
          break
        }
        if (running.child.exitCode !== null) throw new Error(`almanac serve exited: ${running.output()}`)
        await sleep(200)
      }
      const rssAtPolled = rssMiB(running.child.pid)
      const loadAtPolled = load()
      // The steady window: a runner at cadence.
      const cpu0 = cpuSeconds(running.child.pid)
      const polls0 = fake.polls()
      const late0 = await latenessBuckets(url)
      const w0 = Date.now()
      await sleep(steady * 1000)
      const window = (Date.now() - w0) / 1000
      const cpuShare = (cpuSeconds(running.child.pid) - cpu0) / window
      const pollRate = (fake.polls() - polls0) / window
      const late1 = await latenessBuckets(url)
      const rssSteady = rssMiB(running.child.pid)
      const loadSteady = load()
      const stopSeconds = await stop(running)
      const counts = rows(db)
      const bytesAfter = dbBytes()
      const growth = bytesAfter - bytesBefore
      bytesBefore = bytesAfter
      const r = {
        life,
        healthSeconds: healthAfter,
        allPolledSeconds: allPolledAfter,
        rssAtHealthMiB: rssAtHealth,
        rssAllPolledMiB: rssAtPolled,
        stopSeconds,
        clusterMessages: counts.messages,
        clusterReplies: counts.replies,
        calendarsFailing: counts.failing,
        perCalendarKiB: Math.round(((rssSteady - emptyRss) * 1024) / n),
        rssSteadyMiB: rssSteady,
        cpuPercent: Math.round(cpuShare * 1000) / 10,
        pollRate: Math.round(pollRate * 10) / 10,
        askedRate: Math.round((n / cadence) * 10) / 10,
        latenessP50: quantileBound(late0, late1, 0.5),
        latenessP99: quantileBound(late0, late1, 0.99),
        databaseGrowthBytes: growth,
        polls: fake.polls() - lifePolls,
        loadAtStart,
        loadAtHealth,
        loadAtPolled,
        loadSteady
      }
      results.push(r)
      log(JSON.stringify(r))
    }
    process.stdout.write(
      `\nalmanac serve with ${n} idle calendars (${Math.floor(n / 2)} relationships, poll interval ${interval})\n` +
        `created through the API in ${created.toFixed(1)} s (account with ${n} calendars ${discovered.toFixed(1)} s); empty server ${emptyRss} MiB\n` +
        `life  health s  all polled s  RSS MiB (health/polled)  stop s  cluster_messages  cluster_replies  load 1/5/15 (start | health | polled)\n`
    )
    for (const r of results)
      process.stdout.write(
        `${String(r.life).padEnd(6)}${Number(r.healthSeconds).toFixed(1).padStart(8)}  ${Number(r.allPolledSeconds).toFixed(1).padStart(12)}  ` +
          `${`${r.rssAtHealthMiB}/${r.rssAllPolledMiB}`.padStart(23)}  ${Number(r.stopSeconds).toFixed(1).padStart(6)}  ` +
          `${String(r.clusterMessages).padStart(16)}  ${String(r.clusterReplies).padStart(15)}  ${r.loadAtStart} | ${r.loadAtHealth} | ${r.loadAtPolled}\n`
      )
    process.stdout.write(
      `\nat cadence, over ${steady} s a life (asked ${(n / cadence).toFixed(1)} polls/s)\n` +
        `life  polls/s  CPU % of a core  lateness p50 / p99  RSS MiB  KiB per calendar  database growth B (per poll)  load 1/5/15\n`
    )
    for (const r of results)
      process.stdout.write(
        `${String(r.life).padEnd(6)}${Number(r.pollRate).toFixed(1).padStart(7)}  ${Number(r.cpuPercent).toFixed(1).padStart(15)}  ` +
          `${`${r.latenessP50} / ${r.latenessP99}`.padStart(18)}  ${String(r.rssSteadyMiB).padStart(7)}  ${String(r.perCalendarKiB).padStart(16)}  ` +
          `${`${r.databaseGrowthBytes} (${(Number(r.databaseGrowthBytes) / Math.max(1, Number(r.polls))).toFixed(2)})`.padStart(28)}  ${r.loadSteady}\n`
      )
    if (fake.unknown().length > 0) log(`requests the fake did not know: ${fake.unknown().join("; ")}`)
  } finally {
    await fake.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:scale failed: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 1
})
