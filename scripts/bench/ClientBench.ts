/**
 * Part 1: the CalDAV client against one server. Fills a fresh calendar with the corpus, then
 * measures, each time with a fresh client and its own counters: an idle poll, the changes after
 * edits, and fetching everything.
 */
import { CalDavClient, type CalDavError } from "@almanac/caldav"
import type { HttpClient } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import type { RunningServer } from "../test-servers/servers.js"
import * as CalendarFill from "./CalendarFill.js"
import type { CorpusItem } from "./Corpus.js"
import * as Corpus from "./Corpus.js"
import { median, timed } from "./Timing.js"

export const password = Redacted.make("bench-password")

export const clientFor = (server: RunningServer) =>
  CalDavClient.make({ auth: { user: server.user, password }, timeout: "60 seconds" })

export interface Measurement {
  readonly name: string
  readonly runs: number
  /** Median wall milliseconds over the runs. */
  readonly ms: number
  /** Counters of the first run (every run sends the same requests unless `varied`). */
  readonly requests: number
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly varied: boolean
  readonly detail: string
}

export interface FillResult {
  readonly events: number
  readonly ms: number
  readonly requests: number
  readonly bytesSent: number
  readonly bytesReceived: number
}

export interface ServerResult {
  readonly server: string
  readonly calendarUrl: string
  readonly fill: FillResult
  readonly measurements: ReadonlyArray<Measurement>
  readonly warnings: ReadonlyArray<string>
}

/** Runs `body` `runs` times, each with a fresh client, and keeps its counters. */
const measure = (
  server: RunningServer,
  name: string,
  runs: number,
  body: (client: CalDavClient.CalDavClientShape) => Effect.Effect<string, CalDavErrorOf>
) =>
  Effect.gen(function* () {
    const samples: Array<{ ms: number; stats: CalDavClient.ExchangeStats; detail: string }> = []
    for (let run = 0; run < runs; run++) {
      const client = yield* clientFor(server)
      const { value: detail, ms } = yield* timed(body(client))
      samples.push({ ms, stats: yield* client.stats, detail })
    }
    const first = samples[0]
    const stats = first?.stats ?? { requests: 0, bytesSent: 0, bytesReceived: 0 }
    const measurement: Measurement = {
      name,
      runs,
      ms: median(samples.map((s) => s.ms)),
      requests: stats.requests,
      bytesSent: stats.bytesSent,
      bytesReceived: stats.bytesReceived,
      varied: samples.some(
        (s) => s.stats.requests !== stats.requests || s.stats.bytesReceived !== stats.bytesReceived
      ),
      detail: first?.detail ?? ""
    }
    return measurement
  })

type CalDavErrorOf = CalDavError.CalDavError

export interface ServerRun {
  readonly result: ServerResult
  /** The calendar's contents after the edits. */
  readonly stored: ReadonlyArray<CalendarFill.Stored>
  /** What the edits deleted, to put back for later parts. */
  readonly deleted: ReadonlyArray<CalendarFill.Stored>
}

export const run = (
  server: RunningServer,
  corpus: ReadonlyArray<CorpusItem>,
  log: (line: string) => void
): Effect.Effect<ServerRun, CalDavErrorOf, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const warnings: Array<string> = []
    const url = `${server.home}bench-client-${Date.now()}/`
    const filler = yield* clientFor(server)
    log(
      `${server.name}: filling ${url} with ${corpus.length} events (PUT, ${CalendarFill.putConcurrency} at a time)`
    )
    const filled = yield* timed(CalendarFill.fill(filler, url, corpus, "almanac bench"))
    const fillStats = yield* filler.stats
    const fill: FillResult = { events: corpus.length, ms: filled.ms, ...fillStats }

    const before = yield* filler.collectionState(url)
    if (Option.isNone(before.syncToken)) warnings.push(`${server.name}: the calendar offers no sync-token`)
    if (Option.isNone(before.ctag)) warnings.push(`${server.name}: the calendar offers no getctag`)

    const idle = yield* measure(server, "(a) idle poll: collectionState", 5, (client) =>
      Effect.map(client.collectionState(url), (s) => `ctag ${Option.isSome(s.ctag) ? "unchanged" : "absent"}`)
    )
    if (idle.requests !== 1 || idle.bytesSent + idle.bytesReceived >= 1000) {
      warnings.push(
        `${server.name}: idle poll missed its goal (1 request, < 1 KB): ${idle.requests} requests, ${idle.bytesSent + idle.bytesReceived} bytes`
      )
    }

    const plan = Corpus.editPlan(corpus.length, 20, 5)
    const edited = yield* CalendarFill.edit(filler, filled.value, plan, "client")
    log(`${server.name}: edited ${edited.updated.length} and deleted ${edited.deleted.length}`)

    const changes = yield* measure(
      server,
      `(b) ${edited.updated.length} upd + ${edited.deleted.length} del: state + sync(token) + multiget`,
      3,
      (client) =>
        Effect.gen(function* () {
          const state = yield* client.collectionState(url)
          const delta = yield* client.syncCollection(url, before.syncToken)
          const got = yield* client.multiget(
            url,
            delta.changed.map((c) => c.href)
          )
          const changed = state.ctag.pipe(Option.exists((c) => Option.contains(before.ctag, c)))
            ? "ctag UNCHANGED, "
            : ""
          return `${changed}${delta.changed.length} changed, ${delta.deleted.length} deleted, ${got.found.length} fetched`
        })
    )
    const expectedChanges = `${edited.updated.length} changed, ${edited.deleted.length} deleted, ${edited.updated.length} fetched`
    if (changes.detail !== expectedChanges) {
      warnings.push(`${server.name}: changes expected "${expectedChanges}", got "${changes.detail}"`)
    }

    const all = yield* measure(server, "(c) fetch all: sync(none) + multiget(all)", 3, (client) =>
      Effect.gen(function* () {
        const delta = yield* client.syncCollection(url, Option.none())
        const got = yield* client.multiget(
          url,
          delta.changed.map((c) => c.href)
        )
        return `${delta.changed.length} listed, ${got.found.length} fetched, ${got.missing.length} missing`
      })
    )
    const expectedAll = `${edited.stored.length} listed, ${edited.stored.length} fetched, 0 missing`
    if (all.detail !== expectedAll) {
      warnings.push(`${server.name}: fetch-all expected "${expectedAll}", got "${all.detail}"`)
    }

    for (const m of [idle, changes, all]) {
      if (m.varied) warnings.push(`${server.name}: ${m.name}: counters differed between runs`)
    }

    return {
      result: {
        server: server.name,
        calendarUrl: url,
        fill,
        measurements: [idle, changes, all],
        warnings
      },
      stored: edited.stored,
      deleted: edited.deleted
    }
  })
