/**
 * `npm run bench:start`: only part 4 of `npm run bench` (the almanac program's start and idle sync
 * next to vdirsyncer's), on a source calendar it fills itself. Tables to stdout, progress to stderr.
 *
 * ALMANAC_BENCH_EVENTS (default 2000, 50..5000) sets the size of the calendar; ALMANAC_BENCH_RUNS
 * (default 11) the runs of each command.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import * as CalendarFill from "./bench/CalendarFill.js"
import * as ClientBench from "./bench/ClientBench.js"
import * as Corpus from "./bench/Corpus.js"
import * as Report from "./bench/Report.js"
import * as StartBench from "./bench/StartBench.js"
import { ensurePackages, type RunningServer, startRadicale, startXandikos } from "./test-servers/servers.js"

const whole = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === "") return fallback
  const n = Number.parseInt(raw, 10)
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`)
  return n
}

const started = Date.now()
const log = (line: string) => {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
}

const server = (start: () => Promise<RunningServer>) =>
  Effect.acquireRelease(
    Effect.promise(start).pipe(Effect.tap((s) => Effect.sync(() => log(`${s.name} on ${s.url}`)))),
    (s) => Effect.promise(() => s.stop())
  )

const main = Effect.gen(function* () {
  const events = whole("ALMANAC_BENCH_EVENTS", 2000, 50, 5000)
  const runs = whole("ALMANAC_BENCH_RUNS", 11, 3, 101)
  ensurePackages(["vdirsyncer"])
  const xandikos = yield* server(startXandikos)
  const radicale = yield* server(() => startRadicale())
  const source = `${xandikos.home}bench-start-source-${Date.now()}/`
  log(`source: filling ${source} with ${events} events`)
  yield* CalendarFill.fill(
    yield* ClientBench.clientFor(xandikos),
    source,
    Corpus.make(events),
    "bench source"
  )
  const result = yield* StartBench.run({ xandikos, radicale, sourceUrl: source, events, runs, log })
  process.stdout.write(`${Report.start(result)}\n`)
})

Effect.runPromiseExit(main.pipe(Effect.scoped, Effect.provide(NodeHttpClient.layerUndici))).then((exit) => {
  if (exit._tag === "Failure") {
    process.stderr.write(`bench failed:\n${Cause.pretty(exit.cause)}\n`)
    process.exitCode = 1
  }
})
