/**
 * The bench's results as aligned tables.
 */
import type { ServerResult } from "./ClientBench.js"
import type { CodecResult } from "./CodecBench.js"
import type * as CountingProxy from "./CountingProxy.js"
import type * as ProviderBench from "./ProviderBench.js"
import type { StartResult } from "./StartBench.js"
import type { SyncResult } from "./SyncBench.js"
import * as Table from "./Table.js"

export const client = (r: ServerResult): string => {
  const perPut = r.fill.ms / Math.max(1, r.fill.events)
  return Table.render({
    title: `1. CalDAV client on ${r.server}: ${r.fill.events} events (fresh client per measurement; ms = median of the runs)`,
    headers: ["measurement", "requests", "sent", "received", "ms", "runs", "result"],
    rows: [
      [
        `fill: MKCALENDAR + ${r.fill.events} PUT (4 at a time)`,
        Table.int(r.fill.requests),
        Table.bytes(r.fill.bytesSent),
        Table.bytes(r.fill.bytesReceived),
        Table.ms(r.fill.ms),
        "1",
        `${perPut.toFixed(1)} ms per event, ${Table.int((r.fill.events * 1000) / r.fill.ms)} events/s`
      ],
      ...r.measurements.map((m) => [
        m.name,
        Table.int(m.requests),
        Table.bytes(m.bytesSent),
        Table.bytes(m.bytesReceived),
        Table.ms(m.ms),
        String(m.runs),
        m.detail
      ])
    ],
    notes: r.warnings.map((w) => `WARNING: ${w}`)
  })
}

export const codec = (r: CodecResult): string => {
  const base = r.rows[0]?.itemsPerSecond
  const throughput = Table.render({
    title: `2. Codec on the same ${r.items} iCalendar texts (median of ${r.passes} passes after a warm-up)`,
    headers: ["pass", "ms per pass", "events/s", "vs ICAL.parse"],
    rows: r.rows.map((row) => [
      row.name,
      Table.ms(row.ms),
      Table.int(row.itemsPerSecond),
      Table.ratio(row.itemsPerSecond, base)
    ]),
    notes: r.failures > 0 ? [`WARNING: ${r.failures} texts did not parse`] : []
  })
  const fb = r.freeBusy
  const freeBusy = Table.render({
    title: "   Free/busy: FreeBusy.busy over 30 days, resources parsed once (median of 5 runs)",
    headers: ["calendars", "resources", "window (UTC)", "busy intervals", "median ms", "runs ms"],
    rows: [
      [
        String(fb.calendars),
        Table.int(fb.resources),
        `${fb.windowStart.slice(0, 10)} .. ${fb.windowEnd.slice(0, 10)}`,
        Table.int(fb.intervals),
        Table.ms(fb.medianMs),
        fb.runsMs.map(Table.ms).join(" ")
      ]
    ]
  })
  return `${throughput}\n${freeBusy}`
}

export const sync = (r: SyncResult): string => {
  const req = (c: { from: { requests: number }; to: { requests: number } }) =>
    `${Table.int(c.from.requests)} / ${Table.int(c.to.requests)}`
  const total = (c: { from: { requests: number }; to: { requests: number } }) =>
    c.from.requests + c.to.requests
  const main = Table.render({
    title:
      `3. Sync engine vs vdirsyncer: ${r.events} events, ${r.pair}, one way ` +
      "(requests from/to as counted by the proxies; ratios = vdirsyncer / almanac)",
    headers: [
      "step",
      "almanac ms",
      "almanac req (from/to)",
      "vdirsyncer ms",
      "vdirsyncer req (from/to)",
      "requests ratio",
      "speed ratio",
      "target items (alm/vdir)"
    ],
    rows: r.steps.map((s) => [
      s.step,
      Table.ms(s.almanac.ms),
      req(s.almanac.counts),
      Table.ms(s.vdirsyncer.ms),
      req(s.vdirsyncer.counts),
      Table.ratio(total(s.vdirsyncer.counts), total(s.almanac.counts)),
      Table.ratio(s.vdirsyncer.ms, s.almanac.ms),
      `${Table.int(s.almanac.targetItems)}${s.almanac.ok ? "" : "!"} / ${Table.int(s.vdirsyncer.targetItems)}${s.vdirsyncer.ok ? "" : "!"} (want ${Table.int(s.expectedItems)})`
    ])
  })
  const bytes = (c: { bytesSent: number; bytesReceived: number }) =>
    `${Table.bytes(c.bytesSent)} / ${Table.bytes(c.bytesReceived)}`
  const traffic = Table.render({
    title: "   Bytes per side (sent / received by the tool)",
    headers: ["step", "almanac from", "almanac to", "vdirsyncer from", "vdirsyncer to"],
    rows: r.steps.map((s) => [
      s.step,
      bytes(s.almanac.counts.from),
      bytes(s.almanac.counts.to),
      bytes(s.vdirsyncer.counts.from),
      bytes(s.vdirsyncer.counts.to)
    ])
  })
  const perMethod = (m: CountingProxy.MethodCounts) =>
    Object.entries(m)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, v]) => `${name} ${Table.int(v.requests)} (${Table.int(v.ms)} ms)`)
      .join(", ") || "-"
  const methods = Table.render({
    title: "   Requests by method per side, with the server time they took (summed over concurrent requests)",
    headers: ["step", "tool", "from (Xandikos)", "to (Radicale)"],
    rows: r.steps.flatMap((s) => [
      [s.step, "almanac", perMethod(s.almanac.methods.from), perMethod(s.almanac.methods.to)],
      ["", "vdirsyncer", perMethod(s.vdirsyncer.methods.from), perMethod(s.vdirsyncer.methods.to)]
    ])
  })
  const d = r.vdirsyncerDiscover
  const details = Table.render({
    title: "   What each tool reported",
    headers: ["step", "almanac (source poll; target poll)", "vdirsyncer"],
    rows: r.steps.map((s) => [s.step, s.almanac.detail, s.vdirsyncer.detail]),
    notes: [
      `   vdirsyncer discover (once, before the steps, not in the table): ${Table.ms(d.ms)} ms, ${req(d.counts)} requests, exit ${d.exitCode}`,
      `   vdirsyncer's ms include starting Python: \`vdirsyncer --version\` takes ${Table.ms(r.vdirsyncerStartupMs)} ms (median of 3); Almanac runs in process`,
      ...r.warnings.map((w) => `WARNING: ${w}`)
    ]
  })
  return `${main}\n${traffic}\n${methods}\n${details}`
}

export const start = (r: StartResult): string =>
  Table.render({
    title:
      `4. The almanac program vs vdirsyncer, one process per command: median wall ms of ${r.runs} alternating runs ` +
      `(ratio = almanac / vdirsyncer; the goal is at most 1.00x); idle sync of the same pair, ${r.events} events`,
    headers: [
      "command",
      "almanac ms",
      "vdirsyncer ms",
      "ratio",
      "load before",
      "load after",
      "almanac runs (ms)"
    ],
    rows: [r.help, r.idleSync].map((c) => [
      `${c.almanac.command} / ${c.vdirsyncer.command}`,
      Table.ms(c.almanac.medianMs),
      Table.ms(c.vdirsyncer.medianMs),
      Table.ratio(c.almanac.medianMs, c.vdirsyncer.medianMs),
      c.loadBefore,
      c.loadAfter,
      c.almanac.runsMs.map(Table.ms).join(" ")
    ]),
    notes: [
      "   almanac runs `node packages/server/bin/almanac.mjs` (the built bundle; `npx almanac` adds npm's own start)",
      "   load = /proc/loadavg (1, 5, 15 min); vdirsyncer runs (ms): " +
        [r.help, r.idleSync].map((c) => c.vdirsyncer.runsMs.map(Table.ms).join(" ")).join(" | "),
      ...r.warnings.map((w) => `WARNING: ${w}`)
    ]
  })

/** Part 5: the Google and Microsoft columns, with part 3's Almanac run into Radicale as the baseline. */
export const providers = (
  results: ReadonlyArray<ProviderBench.ProviderResult>,
  baseline: ReadonlyArray<ProviderBench.ProviderStep>
): string => {
  const columns = [
    { name: "radicale (CalDAV)", steps: baseline },
    ...results.map((r) => ({ name: `${r.provider} (fake)`, steps: r.steps }))
  ]
  const stepNames = baseline.map((s) => s.step.replace(/ of the \w+ calendar$/, ""))
  const cell = (s: ProviderBench.ProviderStep | undefined) =>
    s === undefined
      ? "-"
      : `${Table.ms(s.ms)} ms, ${Table.int(s.counts.requests)} req, ${Table.bytes(s.counts.bytesSent)} / ${Table.bytes(s.counts.bytesReceived)}, ${Table.int(s.targetItems)} held${s.quarantined > 0 ? `, ${Table.int(s.quarantined)} quarantined` : ""}`
  return Table.render({
    title:
      "5. Almanac into each provider, one way from Xandikos (target side: time, requests, bytes sent / received, items held; " +
      "Google and Graph hold a changed instance apart from its series). " +
      "Google and Microsoft are the test tree's fakes: their times are Almanac's work, not the services'",
    headers: ["step", ...columns.map((c) => c.name)],
    rows: stepNames.map((name, i) => [name, ...columns.map((c) => cell(c.steps[i]))])
  })
}
