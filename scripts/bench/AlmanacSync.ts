/**
 * The Almanac engine wired for one one-way relationship, the way the real-server sync test wires
 * it: a CalDAV registry with one client per account, the SQL store on SQLite (a file), the
 * default policy, and a step = SyncCycle.run for the source, then for the target.
 */
import { CalendarProvider, Policy, StoreMigrations, SyncCycle, SyncStore } from "@almanac/core"
import { CalDavRegistry } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Option, type Redacted, type Scope } from "effect"

export interface Endpoint {
  /** Server base URL and calendar URL, as the engine should reach them. */
  readonly serverUrl: string
  readonly calendarUrl: string
  readonly user: string
  readonly password: Redacted.Redacted<string>
}

export interface StepReport {
  readonly source: SyncCycle.CycleReport
  readonly target: SyncCycle.CycleReport
  /** The engine's own counts, per side, for this step. */
  readonly requests: { readonly from: number; readonly to: number }
}

export interface Engine {
  readonly step: Effect.Effect<StepReport, unknown>
}

const summary = (r: SyncCycle.CycleReport) =>
  `${r.outcome}: +${r.created} ~${r.updated} -${r.deleted} =${r.unchanged}` +
  (r.conflicts + r.quarantined + r.missing > 0
    ? ` conflicts ${r.conflicts} quarantined ${r.quarantined} missing ${r.missing}`
    : "") +
  (r.halted.length > 0 ? ` HALTED: ${r.halted.join("; ")}` : "")

export const describe = (s: StepReport): string => `source ${summary(s.source)}; target ${summary(s.target)}`

export const make = (
  source: Endpoint,
  target: Endpoint,
  databaseFile: string
): Effect.Effect<Engine, unknown, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const registry = yield* CalDavRegistry.make([
      { id: "from", options: { auth: { user: source.user, password: source.password } } },
      { id: "to", options: { auth: { user: target.user, password: target.password } } }
    ])
    const layer = Layer.merge(
      SyncStore.layer.pipe(
        Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
        Layer.provideMerge(SqliteClient.layer({ filename: databaseFile }).pipe(Layer.orDie))
      ),
      Layer.succeed(CalendarProvider.ProviderRegistry, registry.registry)
    )
    const context = yield* Layer.build(layer)

    yield* Effect.gen(function* () {
      const store = yield* SyncStore.SyncStore
      yield* store.ensureAccount({
        id: "from",
        kind: "caldav",
        url: source.serverUrl,
        username: Option.some(source.user)
      })
      yield* store.ensureAccount({
        id: "to",
        kind: "caldav",
        url: target.serverUrl,
        username: Option.some(target.user)
      })
      yield* store.ensureCalendar({ id: "A", accountId: "from", ref: source.calendarUrl })
      yield* store.ensureCalendar({ id: "B", accountId: "to", ref: target.calendarUrl })
      yield* store.saveRelationship({
        id: "bench",
        sourceCalendarId: "A",
        targetCalendarId: "B",
        pairId: Option.none(),
        policy: Policy.defaultPolicy,
        window: Option.none(),
        paused: false
      })
    }).pipe(Effect.provide(context))

    const requestsOf = (id: string) => {
      const client = registry.clients.get(id)
      return client === undefined ? Effect.succeed(0) : Effect.map(client.stats, (s) => s.requests)
    }

    const step = Effect.gen(function* () {
      const before = { from: yield* requestsOf("from"), to: yield* requestsOf("to") }
      const options = SyncCycle.defaultOptions(new Date())
      const sourceReport = yield* SyncCycle.run("A", options)
      const targetReport = yield* SyncCycle.run("B", options)
      const report: StepReport = {
        source: sourceReport,
        target: targetReport,
        requests: {
          from: (yield* requestsOf("from")) - before.from,
          to: (yield* requestsOf("to")) - before.to
        }
      }
      return report
    }).pipe(Effect.provide(context))

    return { step }
  })
