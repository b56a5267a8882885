/**
 * Part 3: the Almanac engine next to vdirsyncer, one way from a calendar on Xandikos into a fresh
 * calendar on Radicale (one for each tool), through counting proxies so both are counted alike:
 * the initial sync, a sync after edits on the source, and a sync with nothing to do. After each
 * step the targets are checked for the expected number of items and edits.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { CalDavClient } from "@almanac/caldav"
import type { HttpClient } from "@effect/platform"
import { Effect, Redacted, type Scope } from "effect"
import type { RunningServer } from "../test-servers/servers.js"
import * as AlmanacSync from "./AlmanacSync.js"
import * as CalendarFill from "./CalendarFill.js"
import { clientFor, password } from "./ClientBench.js"
import * as Corpus from "./Corpus.js"
import * as CountingProxy from "./CountingProxy.js"
import { median, timed } from "./Timing.js"
import * as Vdirsyncer from "./Vdirsyncer.js"

export interface SideCounts {
  readonly from: CountingProxy.Counts
  readonly to: CountingProxy.Counts
}

export interface ToolStep {
  readonly ms: number
  readonly counts: SideCounts
  /** Requests per method per side, with the time the servers took for them. */
  readonly methods: { readonly from: CountingProxy.MethodCounts; readonly to: CountingProxy.MethodCounts }
  /** Items on the tool's target after the step, and how many carry the latest edit. */
  readonly targetItems: number
  readonly targetEdited: number
  readonly detail: string
  readonly ok: boolean
}

export interface StepResult {
  readonly step: string
  readonly expectedItems: number
  readonly expectedEdited: number
  readonly almanac: ToolStep
  readonly vdirsyncer: ToolStep
  /** The engine's own request counts, to compare with the proxy's. */
  readonly almanacOwnRequests: { readonly from: number; readonly to: number }
}

export interface SyncResult {
  /** The pair, as the report names it (e.g. "Xandikos -> Radicale"). */
  readonly pair: string
  readonly events: number
  readonly source: string
  readonly almanacTarget: string
  readonly vdirsyncerTarget: string
  readonly vdirsyncerDiscover: {
    readonly ms: number
    readonly counts: SideCounts
    readonly exitCode: number | null
  }
  /** Median ms of `vdirsyncer --version` (3 runs): process start, included in each of its syncs. */
  readonly vdirsyncerStartupMs: number
  readonly steps: ReadonlyArray<StepResult>
  readonly warnings: ReadonlyArray<string>
}

const editMarker = "[edit sync]"

/** Items in a calendar, and how many carry the marker of the latest edit (read directly, uncounted). */
const inspect = (client: CalDavClient.CalDavClientShape, url: string) =>
  Effect.gen(function* () {
    const listing = yield* client.listEtags(url)
    const got = yield* client.multiget(
      url,
      listing.map((i) => i.href)
    )
    return {
      items: listing.length,
      // unfolded first: a long SUMMARY line may be folded in the middle of the marker
      edited: got.found.filter((i) => i.data.replace(/\r?\n[ \t]/g, "").includes(editMarker)).length
    }
  })

export const run = (options: {
  readonly xandikos: RunningServer
  readonly radicale: RunningServer
  /** The source calendar on Xandikos and what it holds, in corpus order. */
  readonly sourceUrl: string
  readonly stored: ReadonlyArray<CalendarFill.Stored>
  readonly log: (line: string) => void
  /** How the report names the pair; Radicale with fsync is the default target. */
  readonly pair?: string
}): Effect.Effect<SyncResult, unknown, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const { xandikos, radicale, sourceUrl, stored, log } = options
    const warnings: Array<string> = []
    const warn = (line: string) => {
      warnings.push(line)
      log(`WARNING: ${line}`)
    }
    const lifetimeMs = 40 * 60_000
    const proxyFrom = yield* Effect.acquireRelease(
      Effect.promise(() => CountingProxy.start(xandikos.url, { maxLifetimeMs: lifetimeMs })),
      (p) => Effect.promise(() => p.stop())
    )
    const proxyTo = yield* Effect.acquireRelease(
      Effect.promise(() => CountingProxy.start(radicale.url, { maxLifetimeMs: lifetimeMs })),
      (p) => Effect.promise(() => p.stop())
    )
    const counts = (): SideCounts => ({ from: proxyFrom.counts(), to: proxyTo.counts() })
    const methods = () => ({ from: proxyFrom.byMethod(), to: proxyTo.byMethod() })
    const methodsSince = (before: ReturnType<typeof methods>) => ({
      from: CountingProxy.diffMethods(proxyFrom.byMethod(), before.from),
      to: CountingProxy.diffMethods(proxyTo.byMethod(), before.to)
    })
    const since = (before: SideCounts): SideCounts => ({
      from: CountingProxy.diff(proxyFrom.counts(), before.from),
      to: CountingProxy.diff(proxyTo.counts(), before.to)
    })

    const direct = { from: yield* clientFor(xandikos), to: yield* clientFor(radicale) }
    const stamp = Date.now()
    const almanacTarget = `${radicale.home}bench-almanac-${stamp}/`
    const vdirTarget = `${radicale.home}bench-vdirsyncer-${stamp}/`
    yield* direct.to.mkcalendar(almanacTarget, { displayName: "almanac copy", components: ["VEVENT"] })
    yield* direct.to.mkcalendar(vdirTarget, { displayName: "vdirsyncer copy", components: ["VEVENT"] })

    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "almanac-bench-state-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const engine = yield* AlmanacSync.make(
      {
        serverUrl: proxyFrom.url,
        calendarUrl: CountingProxy.via(proxyFrom, sourceUrl),
        user: xandikos.user,
        password
      },
      {
        serverUrl: proxyTo.url,
        calendarUrl: CountingProxy.via(proxyTo, almanacTarget),
        user: radicale.user,
        password
      },
      join(dir, "almanac.db")
    )
    const vdir = yield* Effect.acquireRelease(
      Effect.sync(() =>
        Vdirsyncer.make(
          { url: CountingProxy.via(proxyFrom, sourceUrl) },
          {
            url: CountingProxy.via(proxyTo, vdirTarget),
            username: radicale.user,
            password: Redacted.value(password)
          },
          10 * 60_000
        )
      ),
      (v) => Effect.sync(() => v.cleanup())
    )

    const startups: Array<number> = []
    for (let i = 0; i < 3; i++) startups.push((yield* Effect.promise(() => vdir.startup())).ms)
    const vdirsyncerStartupMs = median(startups)

    const beforeDiscover = counts()
    const discover = yield* Effect.promise(() => vdir.run("discover"))
    const vdirsyncerDiscover = { ms: discover.ms, counts: since(beforeDiscover), exitCode: discover.exitCode }
    if (discover.exitCode !== 0)
      warn(`vdirsyncer discover exited with ${discover.exitCode}: ${discover.tail}`)

    const steps: Array<StepResult> = []
    const step = (name: string, expectedItems: number, expectedEdited: number) =>
      Effect.gen(function* () {
        log(`sync: ${name}: almanac`)
        const beforeAlmanac = counts()
        const almanacMethodsBefore = methods()
        const almanacRun = yield* timed(Effect.either(engine.step))
        const almanacCounts = since(beforeAlmanac)
        const almanacMethods = methodsSince(almanacMethodsBefore)
        const almanacSeen = yield* inspect(direct.to, almanacTarget)
        let almanacDetail: string
        let almanacOwn = { from: 0, to: 0 }
        if (almanacRun.value._tag === "Left") {
          almanacDetail = `FAILED: ${String(almanacRun.value.left)}`
          warn(`almanac ${name}: the engine failed: ${String(almanacRun.value.left)}`)
        } else {
          almanacDetail = AlmanacSync.describe(almanacRun.value.right)
          almanacOwn = almanacRun.value.right.requests
          if (
            almanacOwn.from !== almanacCounts.from.requests ||
            almanacOwn.to !== almanacCounts.to.requests
          ) {
            warn(
              `almanac ${name}: its own counts (${almanacOwn.from}/${almanacOwn.to}) differ from the proxies' (${almanacCounts.from.requests}/${almanacCounts.to.requests})`
            )
          }
        }

        log(`sync: ${name}: vdirsyncer`)
        const beforeVdir = counts()
        const vdirMethodsBefore = methods()
        const vdirRun = yield* Effect.promise(() => vdir.run("sync"))
        const vdirCounts = since(beforeVdir)
        const vdirMethods = methodsSince(vdirMethodsBefore)
        const vdirSeen = yield* inspect(direct.to, vdirTarget)
        const vdirDetail =
          `exit ${vdirRun.exitCode}${vdirRun.timedOut ? " (timed out)" : ""}: ` +
          `uploaded ${vdirRun.uploaded}, updated ${vdirRun.updated}, deleted ${vdirRun.deleted}`
        if (vdirRun.exitCode !== 0) warn(`vdirsyncer ${name}: ${vdirDetail}\n${vdirRun.tail}`)

        const check = (tool: string, seen: { items: number; edited: number }) => {
          const ok = seen.items === expectedItems && seen.edited === expectedEdited
          if (!ok) {
            warn(
              `${tool} ${name}: target holds ${seen.items} items (${seen.edited} with the edit), expected ${expectedItems} (${expectedEdited})`
            )
          }
          return ok
        }
        const result: StepResult = {
          step: name,
          expectedItems,
          expectedEdited,
          almanac: {
            ms: almanacRun.ms,
            counts: almanacCounts,
            methods: almanacMethods,
            targetItems: almanacSeen.items,
            targetEdited: almanacSeen.edited,
            detail: almanacDetail,
            ok: check("almanac", almanacSeen) && almanacRun.value._tag === "Right"
          },
          vdirsyncer: {
            ms: vdirRun.ms,
            counts: vdirCounts,
            methods: vdirMethods,
            targetItems: vdirSeen.items,
            targetEdited: vdirSeen.edited,
            detail: vdirDetail,
            ok: check("vdirsyncer", vdirSeen) && vdirRun.exitCode === 0
          },
          almanacOwnRequests: almanacOwn
        }
        steps.push(result)
      })

    const count = stored.length
    const before = yield* inspect(direct.from, sourceUrl)
    if (before.items !== count) warn(`the source holds ${before.items} items, expected ${count}`)
    yield* step("initial", count, 0)

    const plan = Corpus.editPlan(count, 20, 5)
    const edited = yield* CalendarFill.edit(direct.from, stored, plan, "sync")
    log(`sync: edited ${edited.updated.length} and deleted ${edited.deleted.length} on the source`)
    const upd = `${edited.updated.length} upd + ${edited.deleted.length} del`
    yield* step(upd, count - edited.deleted.length, edited.updated.length)
    yield* step("no-op", count - edited.deleted.length, edited.updated.length)

    for (const [name, p] of [
      ["from", proxyFrom],
      ["to", proxyTo]
    ] as const) {
      for (const e of p.errors()) warn(`proxy ${name}: ${e}`)
    }

    const result: SyncResult = {
      pair: options.pair ?? "Xandikos -> Radicale",
      events: count,
      source: sourceUrl,
      almanacTarget,
      vdirsyncerTarget: vdirTarget,
      vdirsyncerDiscover,
      vdirsyncerStartupMs,
      steps,
      warnings
    }
    return result
  })
