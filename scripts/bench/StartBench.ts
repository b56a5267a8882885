/**
 * Part 4: the `almanac` program as a person runs it (a process per command, the built bundle on
 * plain node) next to vdirsyncer: `--help`, and an idle `sync once` against vdirsyncer's idle sync of
 * the same pair (one source calendar on Xandikos, a target on Radicale for each tool, both synced
 * once beforehand). The runs alternate, almanac then vdirsyncer, so both meet the same machine
 * load; the figure is the median wall time, with the load average read before and after.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import type { HttpClient } from "@effect/platform"
import { Effect, Redacted, type Scope } from "effect"
import { build, isStale } from "../../packages/server/build.mjs"
import type { RunningServer } from "../test-servers/servers.js"
import { clientFor, password } from "./ClientBench.js"
import { median } from "./Timing.js"
import * as Vdirsyncer from "./Vdirsyncer.js"

const bin = fileURLToPath(new URL("../../packages/server/bin/almanac.mjs", import.meta.url))

export interface Side {
  readonly command: string
  readonly runsMs: ReadonlyArray<number>
  readonly medianMs: number
}

export interface Comparison {
  readonly what: string
  readonly almanac: Side
  readonly vdirsyncer: Side
  /** almanac / vdirsyncer median: at most 1 is the goal. */
  readonly ratio: number
  /** /proc/loadavg (1, 5, 15 min) before the first run and after the last. */
  readonly loadBefore: string
  readonly loadAfter: string
}

export interface StartResult {
  readonly runs: number
  readonly events: number
  readonly help: Comparison
  readonly idleSync: Comparison
  readonly warnings: ReadonlyArray<string>
}

const loadavg = (): string => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")
  } catch {
    return "n/a"
  }
}

interface Run {
  readonly ms: number
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** One process, timed from spawn to exit, output collected; killed after `timeoutMs`. */
const timedRun = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  timeoutMs: number
) =>
  Effect.async<Run>((resume) => {
    const start = performance.now()
    const child = spawn(command, [...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => {
      stdout = (stdout + d.toString()).slice(-64 * 1024)
    })
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-64 * 1024)
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    child.once("error", (e) => {
      clearTimeout(timer)
      resume(Effect.succeed({ ms: performance.now() - start, code: -1, stdout, stderr: String(e) }))
    })
    child.once("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ ms: performance.now() - start, code, stdout, stderr }))
    })
  })

/** `runs` alternating pairs after one warm-up each (files into the page cache). */
const alternate = (
  what: string,
  runs: number,
  a: { readonly label: string; readonly run: Effect.Effect<Run> },
  b: { readonly label: string; readonly run: Effect.Effect<Run> },
  warn: (line: string) => void
) =>
  Effect.gen(function* () {
    yield* a.run
    yield* b.run
    const loadBefore = loadavg()
    const msA: Array<number> = []
    const msB: Array<number> = []
    for (let i = 0; i < runs; i++) {
      for (const [side, out] of [
        [a, msA],
        [b, msB]
      ] as const) {
        const r = yield* side.run
        if (r.code !== 0) warn(`${what}: ${side.label} exited with ${r.code}: ${r.stderr.trim().slice(-400)}`)
        out.push(r.ms)
      }
    }
    const loadAfter = loadavg()
    const comparison: Comparison = {
      what,
      almanac: { command: a.label, runsMs: msA, medianMs: median(msA) },
      vdirsyncer: { command: b.label, runsMs: msB, medianMs: median(msB) },
      ratio: median(msA) / median(msB),
      loadBefore,
      loadAfter
    }
    return comparison
  })

export const run = (options: {
  readonly xandikos: RunningServer
  readonly radicale: RunningServer
  /** A calendar on Xandikos holding `events` events: the pair's source. */
  readonly sourceUrl: string
  readonly events: number
  readonly runs: number
  readonly log: (line: string) => void
}): Effect.Effect<StartResult, unknown, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const { radicale, sourceUrl, events, runs, log } = options
    const warnings: Array<string> = []
    const warn = (line: string) => {
      warnings.push(line)
      log(`WARNING: ${line}`)
    }
    if (isStale()) {
      log("start: building packages/server/dist")
      yield* Effect.promise(() => build())
    }
    const almanac = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
      timedRun(process.execPath, [bin, ...args], { NO_COLOR: "1", ...env }, 40 * 60_000)

    log(`start: almanac --help vs vdirsyncer --help, ${runs} runs each`)
    const help = yield* alternate(
      "--help",
      runs,
      { label: "almanac --help", run: almanac(["--help"]) },
      { label: "vdirsyncer --help", run: timedRun("vdirsyncer", ["--help"], {}, 60_000) },
      warn
    )

    // The pair: the source, and a fresh target on Radicale for each tool.
    const direct = yield* clientFor(radicale)
    const stamp = Date.now()
    const almanacTarget = `${radicale.home}bench-cli-${stamp}/`
    const vdirTarget = `${radicale.home}bench-vdirsyncer-idle-${stamp}/`
    yield* direct.mkcalendar(almanacTarget, { displayName: "almanac CLI copy", components: ["VEVENT"] })
    yield* direct.mkcalendar(vdirTarget, { displayName: "vdirsyncer idle copy", components: ["VEVENT"] })
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "almanac-bench-start-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const syncArgs = [
      "sync",
      "once",
      "--from",
      sourceUrl,
      "--to",
      almanacTarget,
      "--to-user",
      radicale.user,
      "--state",
      join(dir, "almanac.db"),
      "--json"
    ]
    const syncEnv = { ALMANAC_TO_PASSWORD: Redacted.value(password) }
    const vdir = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Vdirsyncer.make(
          { url: sourceUrl },
          { url: vdirTarget, username: radicale.user, password: Redacted.value(password) },
          40 * 60_000
        )
      ),
      (v) => Effect.sync(() => v.cleanup())
    )

    log(`start: initial sync of ${events} events by each tool (not measured)`)
    const first = yield* almanac(syncArgs, syncEnv)
    if (first.code !== 0) warn(`almanac initial sync exited with ${first.code}: ${first.stderr.trim()}`)
    const discovered = yield* Effect.promise(() => vdir.run("discover"))
    if (discovered.exitCode !== 0)
      warn(`vdirsyncer discover exited with ${discovered.exitCode}: ${discovered.tail}`)
    const initial = yield* Effect.promise(() => vdir.run("sync"))
    if (initial.exitCode !== 0)
      warn(`vdirsyncer initial sync exited with ${initial.exitCode}: ${initial.tail}`)

    log(`start: idle sync once vs idle vdirsyncer sync, ${runs} runs each`)
    const vdirSync = Effect.promise(() => vdir.run("sync")).pipe(
      Effect.map((r): Run => ({ ms: r.ms, code: r.exitCode, stdout: "", stderr: r.tail }))
    )
    const almanacIdle = almanac(syncArgs, syncEnv).pipe(
      Effect.tap((r) =>
        Effect.sync(() => {
          // Idle means idle: nothing written, one request per side (ctag/sync token).
          if (r.code === 0 && !/"created": 0,\s*"updated": 0,\s*"deleted": 0/.test(r.stdout))
            warn(`almanac idle sync was not idle: ${r.stdout.replace(/\s+/g, " ")}`)
        })
      )
    )
    const idleSync = yield* alternate(
      "idle sync",
      runs,
      { label: "almanac sync once", run: almanacIdle },
      { label: "vdirsyncer sync", run: vdirSync },
      warn
    )
    const result: StartResult = { runs, events, help, idleSync, warnings }
    return result
  })
