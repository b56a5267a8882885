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
 * ALMANAC_BENCH_CALENDARS (default 1000, 2..20000) sets N; ALMANAC_BENCH_POLL_INTERVAL (default
 * 60s) is the server's poll interval, over which first polls may be spread.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as IdleCalDav from "./test-servers/IdleCalDav.js"
import { freePort } from "./test-servers/servers.js"

const calendarCount = (): number => {
  const raw = process.env.ALMANAC_BENCH_CALENDARS
  if (raw === undefined || raw.trim() === "") return 1000
  const n = Number.parseInt(raw, 10)
  if (!Number.isFinite(n) || n < 2 || n > 20000)
    throw new Error(
      `ALMANAC_BENCH_CALENDARS must be a whole number from 2 to 20000, not ${JSON.stringify(raw)}`
    )
  return n
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
    const seed = await serve(env, url, 120)
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
    log(`seeded through the API; load ${load()}`)
    await stop(seed)
    const db = join(dataDir, "almanac.db")
    log(`after seeding: ${JSON.stringify(rows(db))}`)

    const results: Array<Record<string, number | string>> = []
    for (let life = 1; life <= 3; life++) {
      fake.reset()
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
      const stopSeconds = await stop(running)
      const counts = rows(db)
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
        loadAtStart,
        loadAtHealth,
        loadAtPolled
      }
      results.push(r)
      log(JSON.stringify(r))
    }
    process.stdout.write(
      `\nalmanac serve with ${n} idle calendars (${Math.floor(n / 2)} relationships, poll interval ${interval})\n` +
        `life  health s  all polled s  RSS MiB (health/polled)  stop s  cluster_messages  cluster_replies  load 1/5/15 (start | health | polled)\n`
    )
    for (const r of results)
      process.stdout.write(
        `${String(r.life).padEnd(6)}${Number(r.healthSeconds).toFixed(1).padStart(8)}  ${Number(r.allPolledSeconds).toFixed(1).padStart(12)}  ` +
          `${`${r.rssAtHealthMiB}/${r.rssAllPolledMiB}`.padStart(23)}  ${Number(r.stopSeconds).toFixed(1).padStart(6)}  ` +
          `${String(r.clusterMessages).padStart(16)}  ${String(r.clusterReplies).padStart(15)}  ${r.loadAtStart} | ${r.loadAtHealth} | ${r.loadAtPolled}\n`
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
