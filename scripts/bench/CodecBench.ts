/**
 * Part 2: the codec and free/busy, in process. Throughput of ICalCodec.parse (text to the event
 * model) with and without serialize, next to ical.js's own ICAL.parse (text to jCal) of the same
 * texts; then FreeBusy.busy over five parsed calendars.
 */
import { FreeBusy } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Either } from "effect"
import ICAL from "ical.js"
import type { CorpusItem } from "./Corpus.js"
import * as Corpus from "./Corpus.js"
import { median, timeSync } from "./Timing.js"

export interface ThroughputRow {
  readonly name: string
  /** Median milliseconds for one pass over every text. */
  readonly ms: number
  readonly itemsPerSecond: number
}

export interface FreeBusyResult {
  readonly calendars: number
  readonly resources: number
  readonly windowStart: string
  readonly windowEnd: string
  readonly runsMs: ReadonlyArray<number>
  readonly medianMs: number
  readonly intervals: number
}

export interface CodecResult {
  readonly items: number
  readonly passes: number
  readonly rows: ReadonlyArray<ThroughputRow>
  readonly failures: number
  readonly freeBusy: FreeBusyResult
}

const passes = 5

/** One warm-up pass, then the median of `passes`. */
const throughput = (name: string, count: number, pass: () => void): ThroughputRow => {
  pass()
  const ms = median(Array.from({ length: passes }, () => timeSync(pass).ms))
  return { name, ms, itemsPerSecond: (count * 1000) / ms }
}

export const run = (corpus: ReadonlyArray<CorpusItem>, log: (line: string) => void): CodecResult => {
  const texts = corpus.map((c) => c.text)
  let failures = 0
  let sink = 0

  log(`codec: ${texts.length} texts, ${passes} passes each after a warm-up`)
  const icalOnly = throughput("ICAL.parse (ical.js, text to jCal)", texts.length, () => {
    for (const t of texts) {
      const jcal: unknown = ICAL.parse(t)
      if (Array.isArray(jcal)) sink++
    }
  })
  const parseOnly = throughput("ICalCodec.parse (text to event model)", texts.length, () => {
    failures = 0
    for (const t of texts) {
      const r = ICalCodec.parseEither(t, { href: "bench.ics" })
      if (Either.isLeft(r)) failures++
      else sink++
    }
  })
  const roundTrip = throughput("ICalCodec.parse + serialize", texts.length, () => {
    for (const t of texts) {
      const r = ICalCodec.parseEither(t, { href: "bench.ics" })
      if (Either.isRight(r)) sink += ICalCodec.serialize(r.right).length > 0 ? 1 : 0
    }
  })
  if (sink === 0) throw new Error("codec bench produced nothing")

  log("free/busy: building and parsing 5 calendars")
  const calendars = 5
  const resources = Array.from({ length: calendars }, (_, v) => Corpus.make(corpus.length, v)).flatMap(
    (variant) =>
      variant.flatMap((item) => {
        const r = ICalCodec.parseEither(item.text, { href: item.name })
        if (Either.isLeft(r)) {
          failures++
          return []
        }
        return [r.right]
      })
  )
  const window = Corpus.freeBusyWindow
  const first = FreeBusy.busy(resources, window)
  const runsMs = Array.from({ length: 5 }, () => timeSync(() => FreeBusy.busy(resources, window)).ms)

  return {
    items: texts.length,
    passes,
    rows: [icalOnly, parseOnly, roundTrip],
    failures,
    freeBusy: {
      calendars,
      resources: resources.length,
      windowStart: window.start.toISOString(),
      windowEnd: window.end.toISOString(),
      runsMs,
      medianMs: median(runsMs),
      intervals: first.length
    }
  }
}
