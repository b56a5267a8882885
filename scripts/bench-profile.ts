/**
 * `npm run bench:profile`: where a first sync's CPU goes. The engine syncs N events
 * (ALMANAC_BENCH_EVENTS, default 300) from Xandikos to Radicale in this process, under V8's
 * sampling profiler; prints the CPU per event and the share of each package (self time, idle
 * left out), and writes the profile to bench-sync.cpuprofile (open it in Chrome's DevTools).
 * Measures Almanac's own CPU, not the servers'; the machine's load is printed with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import type { Profiler } from "node:inspector"
import { Session } from "node:inspector/promises"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { CalDavClient } from "@almanac/caldav"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import * as AlmanacSync from "./bench/AlmanacSync.js"
import * as CalendarFill from "./bench/CalendarFill.js"
import * as Corpus from "./bench/Corpus.js"
import { startRadicale, startXandikos } from "./test-servers/servers.js"

const print = (line: string) => process.stdout.write(`${line}\n`)

/** The package a frame belongs to: a node_modules package, an Almanac package, node itself. */
const packageOf = (frame: Profiler.ProfileNode["callFrame"]): string => {
  const url = frame.url
  if (url === "") return frame.functionName === "(garbage collector)" ? "(gc)" : "(native)"
  const modules = url.lastIndexOf("node_modules/")
  if (modules >= 0) {
    const parts = url.slice(modules + 13).split("/")
    return parts[0]?.startsWith("@") === true ? `${parts[0]}/${parts[1]}` : (parts[0] ?? url)
  }
  const own = /\/packages\/([^/]+)\/src\/(.+)$/.exec(url)
  if (own !== null) return `almanac ${own[1]}/${own[2]}`
  return url.startsWith("node:") ? "node" : url
}

const shares = (profile: Profiler.Profile): ReadonlyArray<[string, number]> => {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const micros = new Map<string, number>()
  const deltas = profile.timeDeltas ?? []
  for (const [i, id] of (profile.samples ?? []).entries()) {
    const node = byId.get(id)
    if (node === undefined || node.callFrame.functionName === "(idle)") continue
    const key = packageOf(node.callFrame)
    micros.set(key, (micros.get(key) ?? 0) + (deltas[i] ?? 0))
  }
  return [...micros].sort((a, b) => b[1] - a[1])
}

const events = Number(process.env.ALMANAC_BENCH_EVENTS ?? 300)

const main = Effect.gen(function* () {
  const xandikos = yield* Effect.acquireRelease(Effect.promise(startXandikos), (s) => Effect.promise(s.stop))
  const radicale = yield* Effect.acquireRelease(
    Effect.promise(() => startRadicale()),
    (s) => Effect.promise(s.stop)
  )
  const password = Redacted.make("bench")
  const from = yield* CalDavClient.make({ auth: { user: xandikos.user, password } })
  const to = yield* CalDavClient.make({ auth: { user: radicale.user, password } })
  const source = `${xandikos.home}profile-source/`
  const target = `${radicale.home}profile-target/`
  yield* CalendarFill.fill(from, source, Corpus.make(events), "profile source")
  yield* to.mkcalendar(target, { displayName: "profile target", components: ["VEVENT"] })
  const state = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "almanac-profile-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )
  const engine = yield* AlmanacSync.make(
    { serverUrl: xandikos.url, calendarUrl: source, user: xandikos.user, password },
    { serverUrl: radicale.url, calendarUrl: target, user: radicale.user, password },
    join(state, "almanac.db")
  )
  const session = new Session()
  session.connect()
  yield* Effect.promise(() => session.post("Profiler.enable"))
  yield* Effect.promise(() => session.post("Profiler.setSamplingInterval", { interval: 200 }))
  yield* Effect.promise(() => session.post("Profiler.start"))
  const load = loadavg()[0] ?? 0
  const wall = performance.now()
  const cpu = process.cpuUsage()
  const step = yield* engine.step
  const used = process.cpuUsage(cpu)
  const millis = performance.now() - wall
  const { profile } = yield* Effect.promise(() => session.post("Profiler.stop"))
  session.disconnect()
  writeFileSync("bench-sync.cpuprofile", JSON.stringify(profile))
  const cpuMillis = (used.user + used.system) / 1000
  print(AlmanacSync.describe(step))
  print(
    `${events} events: ${millis.toFixed(0)} ms wall, ${cpuMillis.toFixed(0)} ms CPU, ` +
      `${(cpuMillis / events).toFixed(2)} ms CPU per event (load ${load.toFixed(2)} at the start)`
  )
  const rows = shares(profile)
  const busy = rows.reduce((n, [, v]) => n + v, 0)
  print("busy time by package (self time):")
  for (const [name, v] of rows.slice(0, 15))
    print(`  ${((100 * v) / busy).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(0).padStart(6)} ms  ${name}`)
}).pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))

Effect.runPromise(main).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${String(e)}\n`)
    process.exit(1)
  }
)
