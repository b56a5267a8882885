/**
 * `npm run bench:providers`: part 5 of `npm run bench` alone — Almanac syncing a Xandikos calendar
 * one way into Radicale (the baseline, in the same go), the Google Calendar fake and the Graph fake
 * (both from the test tree: no real Google or Microsoft here), then an idle poll of each target.
 * ALMANAC_BENCH_EVENTS (default 2000, 50..5000) sets the size of the calendar. Tables to stdout,
 * progress to stderr, everything to bench-providers-results.json in the repository.
 */
import { writeFileSync } from "node:fs"
import { cpus, loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { NodeHttpClient } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import * as CalendarFill from "./bench/CalendarFill.js"
import { clientFor } from "./bench/ClientBench.js"
import * as Corpus from "./bench/Corpus.js"
import * as ProviderBench from "./bench/ProviderBench.js"
import * as Report from "./bench/Report.js"
import { type RunningServer, startRadicale, startXandikos } from "./test-servers/servers.js"

const events = (() => {
  const raw = process.env.ALMANAC_BENCH_EVENTS
  const n = raw === undefined || raw.trim() === "" ? 2000 : Number.parseInt(raw, 10)
  if (!Number.isFinite(n) || n < 50 || n > 5000)
    throw new Error(`ALMANAC_BENCH_EVENTS must be a whole number from 50 to 5000, not ${JSON.stringify(raw)}`)
  return n
})()

const started = Date.now()
const log = (line: string) => {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
}

const server = (start: () => Promise<RunningServer>) =>
  Effect.acquireRelease(Effect.promise(start), (s) => Effect.promise(() => s.stop()))

const main = Effect.gen(function* () {
  const xandikos = yield* server(startXandikos)
  const radicale = yield* server(() => startRadicale())
  const corpus = Corpus.make(events)
  const sourceUrl = `${xandikos.home}bench-providers-source-${Date.now()}/`
  log(`filling ${sourceUrl} with ${events} events`)
  yield* CalendarFill.fill(yield* clientFor(xandikos), sourceUrl, corpus, "providers bench source")
  const loadBefore = loadavg()[0] ?? 0
  const part = yield* ProviderBench.runAll({ xandikos, radicale, sourceUrl, events, log })
  const loadAfter = loadavg()[0] ?? 0
  process.stdout.write(`${Report.providers(part.results, part.baseline.steps)}\n`)
  process.stdout.write(
    `load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after, on ${cpus().length} cores\n`
  )
  const file = fileURLToPath(new URL("../bench-providers-results.json", import.meta.url))
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date(started).toISOString(), node: process.version, cpus: cpus().length, load: [loadBefore, loadAfter], events, ...part }, null, 2)}\n`
  )
  log(`results written to ${file}`)
})

Effect.runPromiseExit(
  main.pipe(
    Effect.scoped,
    Effect.provide(NodeHttpClient.layerUndici),
    Effect.timeoutFail({
      duration: "30 minutes",
      onTimeout: () => new Error("the bench ran over 30 minutes")
    })
  )
).then((exit) => {
  if (exit._tag === "Failure") {
    process.stderr.write(`bench failed:\n${Cause.pretty(exit.cause)}\n`)
    process.exitCode = 1
  }
})
