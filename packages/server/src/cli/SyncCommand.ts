import { createHash } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import {
  CalendarActor,
  CalendarProvider,
  Policy,
  ProviderError,
  type Relationship,
  SyncCycle,
  SyncPlan,
  SyncProgress,
  SyncStore
} from "@almanac/core"
import { CalDavProvider } from "@almanac/providers"
import { Console, Duration, Effect, FiberMap, Layer, Option, Schema } from "effect"
import * as Database from "../Database.js"
import type * as Cli from "./Cli.js"
import * as Output from "./Output.js"
import * as Password from "./Password.js"
import * as ProgressLines from "./ProgressLines.js"
import * as RequestTimeout from "./RequestTimeout.js"

type SyncArgs = Cli.SyncArgs

/** The mass-delete guard stopped a relationship: exit non-zero so scripts notice. */
export class SafetyStop extends Schema.TaggedError<SafetyStop>()("SafetyStop", { message: Schema.String }) {}

const hash = (...parts: ReadonlyArray<string>) =>
  createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, 32)

/** Accounts, calendars and relationships of one `--from`/`--to` pair, with stable ids. */
const setup = (args: SyncArgs) =>
  Effect.gen(function* () {
    const fromPassword = yield* Password.resolve({
      user: args.fromUser,
      envVar: "ALMANAC_FROM_PASSWORD",
      passwordFile: args.fromPasswordFile,
      fileFlag: "--from-password-file",
      label: "the source"
    })
    const toPassword = yield* Password.resolve({
      user: args.toUser,
      envVar: "ALMANAC_TO_PASSWORD",
      passwordFile: args.toPasswordFile,
      fileFlag: "--to-password-file",
      label: "the target"
    })
    const side = (url: string, user: Option.Option<string>, password: typeof fromPassword) => {
      const accountId = hash(
        "caldav",
        new URL(url).origin,
        Option.getOrElse(user, () => "")
      )
      const auth: CalDavClient.BasicAuth | undefined =
        Option.isSome(user) && Option.isSome(password)
          ? { user: user.value, password: password.value }
          : undefined
      return { accountId, calendarId: hash(accountId, url), url, user, auth }
    }
    const from = side(args.from, args.fromUser, fromPassword)
    const to = side(args.to, args.toUser, toPassword)
    const policy = Policy.SyncPolicy.make({ markPrivate: args.private, transp: "keep", attendees: false })
    const forward = hash("relationship", from.calendarId, to.calendarId)
    const backward = hash("relationship", to.calendarId, from.calendarId)
    const pairId = args.twoWay ? Option.some(hash("pair", forward, backward)) : Option.none<string>()
    const first: Relationship.Relationship = {
      id: forward,
      sourceCalendarId: from.calendarId,
      targetCalendarId: to.calendarId,
      pairId,
      policy,
      // One bound alone means the other side is open-ended (a century).
      window:
        Option.isNone(args.daysBack) && Option.isNone(args.daysAhead)
          ? Option.none()
          : Option.some({
              pastDays: Option.getOrElse(args.daysBack, () => 36_500),
              futureDays: Option.getOrElse(args.daysAhead, () => 36_500)
            }),
      paused: false
    }
    const relationships = args.twoWay
      ? [
          first,
          { ...first, id: backward, sourceCalendarId: to.calendarId, targetCalendarId: from.calendarId }
        ]
      : [first]
    return { from, to, relationships }
  })

type Setup = Effect.Effect.Success<ReturnType<typeof setup>>

/** Progress lines on stderr, each calendar named by its side. */
const progressOf = (s: Setup) =>
  ProgressLines.make({ label: (calendarId) => (calendarId === s.from.calendarId ? "from" : "to") })

const persist = (s: Setup) =>
  Effect.gen(function* () {
    const store = yield* SyncStore.SyncStore
    for (const side of [s.from, s.to]) {
      yield* store.ensureAccount({
        id: side.accountId,
        kind: "caldav",
        url: new URL(side.url).origin,
        username: side.user
      })
      yield* store.ensureCalendar({ id: side.calendarId, accountId: side.accountId, ref: side.url })
    }
    for (const r of s.relationships) yield* store.saveRelationship(r)
    // A relationship that was two-way before and is one-way now stops copying backwards.
    if (s.relationships.length === 1) {
      const reverse = hash("relationship", s.to.calendarId, s.from.calendarId)
      const existing = yield* store.relationshipsOf(s.to.calendarId)
      const old = existing.asSource.find((r) => r.id === reverse)
      if (old !== undefined) yield* store.saveRelationship({ ...old, paused: true })
    }
  })

/**
 * Runs `program` with the store and the providers of both sides. Each side has a client of its
 * own, even when both are one account on one server: request counts are per side.
 */
const withEngine = <A, E, R>(
  args: SyncArgs,
  s: Setup,
  program: (clients: ReadonlyMap<string, CalDavClient.CalDavClientShape>) => Effect.Effect<A, E, R>
) =>
  Effect.gen(function* () {
    const clients = new Map<string, CalDavClient.CalDavClientShape>()
    const timeout = yield* RequestTimeout.fromEnv()
    for (const side of [s.from, s.to])
      clients.set(side.url, yield* CalDavClient.make({ auth: side.auth, timeout }))
    const registry: CalendarProvider.ProviderRegistry["Type"] = {
      open: (calendar) => {
        const client = clients.get(calendar.ref)
        return client === undefined
          ? Effect.fail(
              new ProviderError.Unauthorized({
                calendar: calendar.ref,
                detail: `no client for ${calendar.ref}`
              })
            )
          : Effect.succeed(CalDavProvider.make(client, calendar.ref))
      }
    }
    const file = Option.getOrElse(args.state, Database.defaultStateFile)
    const engine = Layer.mergeAll(
      Database.sqliteStore(file),
      Layer.succeed(CalendarProvider.ProviderRegistry, registry),
      Layer.succeed(SyncProgress.SyncProgress, progressOf(s))
    )
    return yield* Effect.gen(function* () {
      yield* persist(s)
      return yield* program(clients)
    }).pipe(Effect.provide(engine))
  })

interface Summary {
  created: number
  updated: number
  deleted: number
  unchanged: number
  conflicts: number
  quarantined: number
  fullResync: boolean
  requests: { from: number; to: number }
}

const summarize = (
  reports: ReadonlyArray<SyncCycle.CycleReport>,
  requests: { from: number; to: number }
): Summary => ({
  created: reports.reduce((n, r) => n + r.created, 0),
  updated: reports.reduce((n, r) => n + r.updated, 0),
  deleted: reports.reduce((n, r) => n + r.deleted, 0),
  unchanged: reports.reduce((n, r) => n + r.unchanged, 0),
  conflicts: reports.reduce((n, r) => n + r.conflicts, 0),
  quarantined: reports.reduce((n, r) => n + r.quarantined, 0),
  fullResync: reports.some((r) => r.fullResync),
  requests
})

const summaryLine = (s: Summary) =>
  `created ${s.created}, updated ${s.updated}, deleted ${s.deleted}, unchanged ${s.unchanged}, conflicts ${s.conflicts}, quarantined ${s.quarantined}${s.fullResync ? ", full resync" : ""} · requests: from ${s.requests.from}, to ${s.requests.to}`

const requestCounts = (s: Setup, clients: ReadonlyMap<string, CalDavClient.CalDavClientShape>) =>
  Effect.gen(function* () {
    const count = (url: string) => {
      const client = clients.get(url)
      return client === undefined ? Effect.succeed(0) : Effect.map(client.stats, (st) => st.requests)
    }
    return { from: yield* count(s.from.url), to: yield* count(s.to.url) }
  })

export const once = (args: SyncArgs) =>
  Effect.gen(function* () {
    const s = yield* setup(args)
    yield* withEngine(args, s, (clients) =>
      Effect.gen(function* () {
        const opts = {
          ...SyncCycle.defaultOptions(new Date()),
          dryRun: args.dryRun,
          confirmDeletes: args.confirmDeletes
        }
        // The source first, then the target: the target's poll finds copies people edited or
        // deleted there and puts them back.
        const reports = [
          yield* SyncCycle.run(s.from.calendarId, opts),
          yield* SyncCycle.run(s.to.calendarId, opts)
        ]
        const summary = summarize(reports, yield* requestCounts(s, clients))
        const halted = reports.flatMap((r) => r.halted)
        if (args.json) {
          yield* Output.printJson(
            args.dryRun
              ? {
                  ...summary,
                  plan: reports.flatMap((r) => r.plans.flatMap((p) => p.actions.map(SyncPlan.describe)))
                }
              : summary
          )
        } else {
          if (args.dryRun) {
            for (const r of reports)
              for (const p of r.plans) for (const a of p.actions) yield* Console.log(SyncPlan.describe(a))
          }
          yield* Console.log(`${args.dryRun ? "would have: " : ""}${summaryLine(summary)}`)
        }
        for (const h of halted)
          yield* Console.error(
            `almanac: stopped: ${h} (run again with --confirm-deletes if this is intended)`
          )
        if (halted.length > 0) return yield* Effect.fail(new SafetyStop({ message: halted.join("; ") }))
      })
    )
  })

export const watch = (args: Cli.SyncWatchArgs) =>
  Effect.gen(function* () {
    const s = yield* setup(args)
    yield* withEngine(args, s, (clients) =>
      Effect.gen(function* () {
        const fibers = yield* FiberMap.make<string>()
        let seen = { from: 0, to: 0 }
        const engine = yield* Effect.context<
          SyncStore.SyncStore | CalendarProvider.ProviderRegistry | SyncProgress.SyncProgress
        >()
        const config: CalendarActor.ActorConfig = {
          ...CalendarActor.defaultConfig,
          interval: Duration.seconds(args.interval)
        }
        for (const side of [s.from, s.to]) {
          const { loop } = yield* CalendarActor.make({
            calendarId: side.calendarId,
            config,
            poll: (reconcile) =>
              SyncCycle.run(side.calendarId, {
                ...SyncCycle.defaultOptions(new Date()),
                reconcile,
                dryRun: args.dryRun,
                confirmDeletes: args.confirmDeletes
              }).pipe(Effect.provide(engine)),
            onOutcome: (outcome, wait) =>
              Effect.gen(function* () {
                // Per poll, not since start: both actors use both sides' clients (a poll writes to
                // the other side), so this counts what happened since the previous line.
                const total = yield* requestCounts(s, clients)
                const requests = { from: total.from - seen.from, to: total.to - seen.to }
                seen = total
                const next =
                  wait._tag === "Park"
                    ? "parked until re-authenticated"
                    : `next in ${Duration.format(wait.delay)}`
                const what =
                  outcome._tag === "Ok"
                    ? outcome.report.outcome === "unchanged"
                      ? "unchanged"
                      : summaryLine(summarize([outcome.report], requests))
                    : outcome._tag === "Failed"
                      ? `failed: ${Output.describeError(outcome.error)}`
                      : "internal error (logged)"
                const line = args.json
                  ? Output.toJson({
                      at: new Date().toISOString(),
                      calendar: side.url,
                      outcome: outcome._tag,
                      ...(outcome._tag === "Ok" ? { report: summarize([outcome.report], requests) } : {})
                    }).replace(/\n\s*/g, " ")
                  : `${new Date().toISOString()}  ${side === s.from ? "from" : "to  "}  ${what} · ${next}`
                yield* Console.log(line)
              })
          })
          yield* FiberMap.run(fibers, side.calendarId, loop)
        }
        return yield* Effect.never
      }).pipe(Effect.scoped)
    )
  })
