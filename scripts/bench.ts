/**
 * `npm run bench`: the CalDAV client on Xandikos and Radicale, the codec and free/busy, and the
 * sync engine next to vdirsyncer, and the engine into the Google and Microsoft fakes (part 5, also
 * alone as `npm run bench:providers`). Starts its own servers on loopback and stops them at the end.
 * Tables go to stdout, progress to stderr, everything to bench-results.json in the repository.
 *
 * ALMANAC_BENCH_EVENTS (default 2000, 50..5000) sets the size of the calendar.
 * The server with many calendars (start-up time, first polls, RSS, cluster rows) is a bench of
 * its own: `npm run bench:scale` (scripts/bench-scale.ts).
 */
import { writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { fileURLToPath } from "node:url"
import { NodeHttpClient } from "@effect/platform-node"
import { Cause, Effect } from "effect"
import * as CalendarFill from "./bench/CalendarFill.js"
import * as ClientBench from "./bench/ClientBench.js"
import * as CodecBench from "./bench/CodecBench.js"
import * as Corpus from "./bench/Corpus.js"
import * as ProviderBench from "./bench/ProviderBench.js"
import * as Report from "./bench/Report.js"
import * as StartBench from "./bench/StartBench.js"
import * as SyncBench from "./bench/SyncBench.js"
import { ensurePackages, type RunningServer, startRadicale, startXandikos } from "./test-servers/servers.js"

const eventCount = (): number => {
  const raw = process.env.ALMANAC_BENCH_EVENTS
  if (raw === undefined || raw.trim() === "") return 2000
  const n = Number.parseInt(raw, 10)
  if (!Number.isFinite(n) || n < 50 || n > 5000) {
    throw new Error(`ALMANAC_BENCH_EVENTS must be a whole number from 50 to 5000, not ${JSON.stringify(raw)}`)
  }
  return n
}

const started = Date.now()
const log = (line: string) => {
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`)
}
const print = (text: string) => {
  process.stdout.write(`${text}\n`)
}

const server = (start: () => Promise<RunningServer>) =>
  Effect.acquireRelease(
    Effect.promise(start).pipe(Effect.tap((s) => Effect.sync(() => log(`${s.name} on ${s.url}`)))),
    (s) => Effect.promise(() => s.stop()).pipe(Effect.tap(() => Effect.sync(() => log(`${s.name} stopped`))))
  )

const main = Effect.gen(function* () {
  const events = eventCount()
  ensurePackages(["vdirsyncer"])
  const corpus = Corpus.make(events)
  log(`corpus: ${events} events, kinds: ${Corpus.kinds.join(", ")}`)

  // In process first, while nothing else runs.
  const codec = CodecBench.run(corpus, log)
  print(Report.codec(codec))

  const xandikos = yield* server(startXandikos)
  const radicale = yield* server(() => startRadicale())

  const onXandikos = yield* ClientBench.run(xandikos, corpus, log)
  print(Report.client(onXandikos.result))
  const onRadicale = yield* ClientBench.run(radicale, corpus, log)
  print(Report.client(onRadicale.result))

  // The Xandikos calendar becomes the sync source: the deleted events go back, so it holds the
  // whole corpus again (20 of them with the client bench's edit).
  const source = onXandikos.result.calendarUrl
  const restorer = yield* ClientBench.clientFor(xandikos)
  const restored = yield* CalendarFill.put(
    restorer,
    source,
    onXandikos.deleted.map((s) => s.item)
  )
  const stored = [...onXandikos.stored, ...restored].sort((a, b) => a.item.name.localeCompare(b.item.name))
  log(`sync: source ${source} holds ${stored.length} events again`)

  // Two targets that behave differently: Radicale with an fsync per PUT (bound by the disk),
  // and Radicale without (bound by its own work), so that the ratio is not the disk's alone.
  const sync = yield* SyncBench.run({ xandikos, radicale, sourceUrl: source, stored, log })
  print(Report.sync(sync))
  const radicaleFast = yield* server(() => startRadicale({ fsync: false }))
  // The first pair edited and deleted some of its source: the second gets a fresh one.
  const fastSource = `${xandikos.home}bench-fast-source-${Date.now()}/`
  const fastStored = [...(yield* CalendarFill.fill(restorer, fastSource, corpus, "bench fast source"))].sort(
    (a, b) => a.item.name.localeCompare(b.item.name)
  )
  log(`sync: second source ${fastSource} holds ${fastStored.length} events`)
  const syncFast = yield* SyncBench.run({
    xandikos,
    radicale: radicaleFast,
    sourceUrl: fastSource,
    stored: fastStored,
    log,
    pair: "Xandikos -> Radicale without fsync"
  })
  print(Report.sync(syncFast))

  // The same source into Radicale again (the baseline), the Google fake and the Graph fake.
  const providers = yield* ProviderBench.runAll({
    xandikos,
    radicale,
    sourceUrl: source,
    events: stored.length,
    log
  })
  print(Report.providers(providers.results, providers.baseline.steps))

  // The same source calendar, now synced by each tool from the command line.
  const start = yield* StartBench.run({
    xandikos,
    radicale,
    sourceUrl: source,
    events: (yield* restorer.listEtags(source)).length,
    runs: 11,
    log
  })
  print(Report.start(start))

  const results = {
    date: new Date(started).toISOString(),
    node: process.version,
    cpus: cpus().length,
    events,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    client: [onXandikos.result, onRadicale.result],
    codec,
    sync: [sync, syncFast],
    providers,
    start
  }
  const file = fileURLToPath(new URL("../bench-results.json", import.meta.url))
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`)
  log(`results written to ${file}`)
  log("the server with many calendars: npm run bench:scale (ALMANAC_BENCH_CALENDARS, default 1000)")
})

const program = main.pipe(
  Effect.scoped,
  Effect.provide(NodeHttpClient.layerUndici),
  // a hard stop: the scope still closes, so servers and proxies are stopped
  Effect.timeoutFail({ duration: "40 minutes", onTimeout: () => new Error("the bench ran over 40 minutes") })
)

Effect.runPromiseExit(program).then((exit) => {
  if (exit._tag === "Failure") {
    process.stderr.write(`bench failed:\n${Cause.pretty(exit.cause)}\n`)
    process.exitCode = 1
  }
})
