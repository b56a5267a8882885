/**
 * vdirsyncer (the Debian package) as the reference tool: one pair of two CalDAV storages that
 * point straight at calendar URLs (`collections = null`), "a wins" on conflicts, its config and
 * status in a temporary folder, each run a bounded child process.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { performance } from "node:perf_hooks"

export interface Storage {
  readonly url: string
  readonly username?: string
  readonly password?: string
}

export interface RunResult {
  readonly command: string
  readonly exitCode: number | null
  readonly ms: number
  readonly timedOut: boolean
  /** What vdirsyncer said it did, from its log lines. */
  readonly uploaded: number
  readonly updated: number
  readonly deleted: number
  /** The last lines of its output. */
  readonly tail: string
}

export interface Vdirsyncer {
  readonly configFile: string
  readonly run: (command: "discover" | "sync") => Promise<RunResult>
  /** `vdirsyncer --version`: the cost of starting the program, which every sync pays. */
  readonly startup: () => Promise<RunResult>
  readonly cleanup: () => void
}

const storageSection = (name: string, s: Storage): string =>
  [
    `[storage ${name}]`,
    `type = "caldav"`,
    `url = ${JSON.stringify(s.url)}`,
    ...(s.username === undefined ? [] : [`username = ${JSON.stringify(s.username)}`]),
    ...(s.password === undefined ? [] : [`password = ${JSON.stringify(s.password)}`])
  ].join("\n")

export const configText = (statusPath: string, a: Storage, b: Storage): string =>
  [
    "[general]",
    `status_path = ${JSON.stringify(statusPath)}`,
    "",
    "[pair bench]",
    `a = "bench_a"`,
    `b = "bench_b"`,
    "collections = null",
    `conflict_resolution = "a wins"`,
    "",
    storageSection("bench_a", a),
    "",
    storageSection("bench_b", b),
    ""
  ].join("\n")

const maxOutput = 64 * 1024

/** A vdirsyncer setup syncing `a` into `b`; every run is killed after `timeoutMs`. */
export const make = (a: Storage, b: Storage, timeoutMs: number): Vdirsyncer => {
  const dir = mkdtempSync(join(tmpdir(), "almanac-bench-vdirsyncer-"))
  const configFile = join(dir, "config")
  writeFileSync(configFile, configText(join(dir, "status/"), a, b), { mode: 0o600 })

  const run = (command: "discover" | "sync" | "--version") =>
    new Promise<RunResult>((resolve, reject) => {
      const start = performance.now()
      const args = command === "--version" ? [command] : ["-c", configFile, command]
      const child = spawn("vdirsyncer", args, {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, HOME: dir }
      })
      // counted line by line as they come: the kept output is only a bounded tail
      let output = ""
      let partial = ""
      const tally = { uploaded: 0, updated: 0, deleted: 0 }
      const countLine = (line: string) => {
        if (line.includes("Copying (uploading) item")) tally.uploaded++
        else if (line.includes("Copying (updating) item")) tally.updated++
        else if (line.includes("Deleting item")) tally.deleted++
      }
      const keep = (d: Buffer) => {
        const text = partial + d.toString()
        const lines = text.split("\n")
        partial = (lines.pop() ?? "").slice(-maxOutput)
        for (const line of lines) countLine(line)
        output = (output + d.toString()).slice(-maxOutput)
      }
      child.stdout.on("data", keep)
      child.stderr.on("data", keep)
      let timedOut = false
      const timer = setTimeout(() => {
        timedOut = true
        child.kill("SIGKILL")
      }, timeoutMs)
      child.once("error", (e) => {
        clearTimeout(timer)
        reject(e)
      })
      child.once("close", (code) => {
        clearTimeout(timer)
        countLine(partial)
        resolve({
          command: `vdirsyncer ${args.join(" ")}`,
          exitCode: code,
          ms: performance.now() - start,
          timedOut,
          ...tally,
          tail: output.trim().split("\n").slice(-6).join("\n")
        })
      })
    })

  return {
    configFile,
    run,
    startup: () => run("--version"),
    cleanup: () => rmSync(dir, { recursive: true, force: true })
  }
}
