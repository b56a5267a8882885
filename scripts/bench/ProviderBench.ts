/**
 * Part 5: the Google and Microsoft columns. The engine syncs the Xandikos source calendar (the
 * whole corpus) one way into a calendar on the Google Calendar fake and on the Graph fake — FAKES
 * from the test tree (no real Google or Microsoft here), so the times say how much work Almanac
 * does, not how fast Google or Microsoft answer — each behind a counting proxy, and then polls the
 * provider's calendar with nothing changed. Counted per step: requests and bytes to the provider,
 * and the wall time. The baseline in the same go is part 3's Almanac run into Radicale.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  CalendarProvider,
  Policy,
  type ProviderError,
  StoreMigrations,
  SyncCycle,
  SyncStore
} from "@almanac/core"
import {
  CalDavRegistry,
  GoogleCalendarClient,
  GoogleOAuth,
  GoogleProvider,
  GraphCalendarClient,
  GraphProvider,
  MicrosoftOAuth,
  OAuthTokenSource
} from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Either, Layer, Option, Redacted, type Scope } from "effect"
import * as GoogleFake from "../../packages/providers/test/fakes/GoogleFake.js"
import * as GraphFake from "../../packages/providers/test/fakes/GraphFake.js"
import type { RunningServer } from "../test-servers/servers.js"
import { clientFor, password } from "./ClientBench.js"
import * as CountingProxy from "./CountingProxy.js"
import { timed } from "./Timing.js"

export type Provider = "google" | "microsoft" | "radicale"

export interface ProviderStep {
  readonly step: string
  readonly ms: number
  /** To the provider (through its proxy). */
  readonly counts: CountingProxy.Counts
  readonly methods: CountingProxy.MethodCounts
  readonly created: number
  readonly quarantined: number
  readonly unchanged: number
  /** Events the provider's calendar holds afterwards (masters and single events). */
  readonly targetItems: number
}

export interface ProviderResult {
  readonly provider: Provider
  readonly events: number
  readonly steps: ReadonlyArray<ProviderStep>
}

const CALENDAR: Record<Exclude<Provider, "radicale">, string> = {
  google: "bench@group.calendar.google.com",
  microsoft: "AAMk-bench"
}

interface Target {
  readonly ref: string
  readonly open: Effect.Effect<CalendarProvider.CalendarProvider, ProviderError.PollError>
  /** Items the calendar holds, read past the proxy (uncounted). */
  readonly items: Effect.Effect<number>
  readonly proxy: CountingProxy.CountingProxy
}

const proxied = (url: string) =>
  Effect.acquireRelease(
    Effect.promise(() => CountingProxy.start(url, { maxLifetimeMs: 40 * 60_000 })),
    (p) => Effect.promise(() => p.stop())
  )

/** A token source over a grant the fake issued, as if a person had just consented. */
const tokensFor = (
  oauth: Parameters<typeof OAuthTokenSource.make>[0]["oauth"],
  grant: { readonly accessToken: string; readonly refreshToken: string; readonly expiresIn: number },
  account: string
) =>
  OAuthTokenSource.make({
    oauth,
    account,
    initial: {
      accessToken: Redacted.make(grant.accessToken),
      refreshToken: Redacted.make(grant.refreshToken),
      expiresAt: Date.now() + grant.expiresIn * 1000
    },
    onRefresh: () => Effect.void
  })

const google: Effect.Effect<Target, unknown, HttpClient.HttpClient | Scope.Scope> = Effect.gen(function* () {
  const fake = yield* Effect.acquireRelease(
    Effect.promise(() =>
      GoogleFake.start({
        // The client's own page size decides, as on Google.
        pageSize: 2500,
        calendars: [
          {
            id: CALENDAR.google,
            summary: "Bench",
            timeZone: "Europe/Berlin",
            accessRole: "owner",
            primary: true
          }
        ]
      })
    ),
    (f) => Effect.promise(() => f.close())
  )
  const proxy = yield* proxied(new URL(fake.apiUrl).origin)
  const oauth = Either.getOrThrowWith(
    GoogleOAuth.make({
      clientId: fake.clientId,
      clientSecret: Redacted.make(fake.clientSecret),
      redirectUri: "http://127.0.0.1:9/oauth/google/callback",
      authUrl: fake.authUrl,
      tokenUrl: fake.tokenUrl,
      revokeUrl: fake.revokeUrl
    }),
    (e) => new Error(e.message)
  )
  const tokens = yield* tokensFor(oauth, fake.issueTokens(), "bench-google")
  const client = yield* GoogleCalendarClient.make({
    tokens,
    apiUrl: CountingProxy.via(proxy, fake.apiUrl),
    account: "bench-google"
  })
  const provider = GoogleProvider.make(client, {
    id: CALENDAR.google,
    timeZone: "Europe/Berlin",
    writable: true
  })
  return {
    ref: CALENDAR.google,
    open: Effect.succeed(provider),
    items: Effect.sync(() => fake.events(CALENDAR.google).length),
    proxy
  }
})

const microsoft: Effect.Effect<Target, unknown, HttpClient.HttpClient | Scope.Scope> = Effect.gen(
  function* () {
    const fake = yield* Effect.acquireRelease(
      Effect.promise(() =>
        GraphFake.start({
          clientSecret: "bench-secret",
          pageSize: 1000,
          calendars: [{ id: CALENDAR.microsoft, name: "Bench", canEdit: true, isDefaultCalendar: true }]
        })
      ),
      (f) => Effect.promise(() => f.close())
    )
    const proxy = yield* proxied(fake.authorityUrl)
    const oauth = Either.getOrThrowWith(
      MicrosoftOAuth.make({
        clientId: fake.clientId,
        clientSecret: Redacted.make(fake.clientSecret ?? ""),
        redirectUri: "http://127.0.0.1:9/oauth/microsoft/callback",
        authority: fake.authorityUrl
      }),
      (e) => new Error(e.message)
    )
    const tokens = yield* tokensFor(oauth, fake.issueTokens(), "bench-microsoft")
    const client = yield* GraphCalendarClient.make({
      tokens,
      apiUrl: CountingProxy.via(proxy, fake.apiUrl),
      account: "bench-microsoft"
    })
    const provider = GraphProvider.make(client, {
      id: CALENDAR.microsoft,
      timeZone: "Europe/Berlin",
      canEdit: true
    })
    return {
      ref: CALENDAR.microsoft,
      open: Effect.succeed(provider),
      items: Effect.sync(() => fake.events(CALENDAR.microsoft).length),
      proxy
    }
  }
)

/** The baseline: a fresh calendar on the real Radicale, through the CalDAV provider. */
const radicale = (
  server: RunningServer
): Effect.Effect<Target, unknown, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const proxy = yield* proxied(server.url)
    const direct = yield* clientFor(server)
    const url = `${server.home}bench-providers-${Date.now()}/`
    yield* direct.mkcalendar(url, { displayName: "almanac providers baseline", components: ["VEVENT"] })
    const registry = yield* CalDavRegistry.make([
      { id: "to", options: { auth: { user: server.user, password } } }
    ])
    const ref = CountingProxy.via(proxy, url)
    return {
      ref,
      open: registry.registry.open({ ref, accountId: "to", kind: "caldav" }),
      items: Effect.map(Effect.orDie(direct.listEtags(url)), (l) => l.length),
      proxy
    }
  })

export const run = (options: {
  readonly provider: Provider
  readonly xandikos: RunningServer
  /** The baseline's server. */
  readonly radicale: RunningServer
  readonly sourceUrl: string
  readonly events: number
  readonly log: (line: string) => void
}): Effect.Effect<ProviderResult, unknown, HttpClient.HttpClient | Scope.Scope> =>
  Effect.gen(function* () {
    const { provider, xandikos, sourceUrl, log } = options
    const target = yield* provider === "google"
      ? google
      : provider === "microsoft"
        ? microsoft
        : radicale(options.radicale)
    const caldav = yield* CalDavRegistry.make([
      { id: "from", options: { auth: { user: xandikos.user, password } } }
    ])
    const registry: CalendarProvider.ProviderRegistry["Type"] = {
      open: (address) => (address.accountId === "to" ? target.open : caldav.registry.open(address))
    }
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), `almanac-bench-${provider}-`))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const context = yield* Layer.build(
      Layer.merge(
        SyncStore.layer.pipe(
          Layer.provideMerge(Layer.effectDiscard(StoreMigrations.run.pipe(Effect.orDie))),
          Layer.provideMerge(SqliteClient.layer({ filename: join(dir, "almanac.db") }).pipe(Layer.orDie))
        ),
        Layer.succeed(CalendarProvider.ProviderRegistry, registry)
      )
    )
    yield* Effect.gen(function* () {
      const store = yield* SyncStore.SyncStore
      yield* store.ensureAccount({
        id: "from",
        kind: "caldav",
        url: xandikos.url,
        username: Option.some(xandikos.user)
      })
      yield* store.ensureAccount({
        id: "to",
        kind: provider === "radicale" ? "caldav" : provider,
        url: "",
        username: Option.none()
      })
      yield* store.ensureCalendar({ id: "A", accountId: "from", ref: sourceUrl })
      yield* store.ensureCalendar({ id: "B", accountId: "to", ref: target.ref })
      yield* store.saveRelationship({
        id: "bench",
        sourceCalendarId: "A",
        targetCalendarId: "B",
        pairId: Option.none(),
        // Details kept: the copies are whole events, the heavier case.
        policy: { ...Policy.defaultPolicy, markPrivate: false },
        window: Option.none(),
        paused: false
      })
    }).pipe(Effect.provide(context))

    const measure = (step: string, calendars: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        const before = target.proxy.counts()
        const methodsBefore = target.proxy.byMethod()
        const { value: reports, ms } = yield* timed(
          Effect.forEach(calendars, (id) => SyncCycle.run(id, SyncCycle.defaultOptions(new Date()))).pipe(
            Effect.provide(context)
          )
        )
        const sum = (f: (r: SyncCycle.CycleReport) => number) => reports.reduce((n, r) => n + f(r), 0)
        const result: ProviderStep = {
          step,
          ms,
          counts: CountingProxy.diff(target.proxy.counts(), before),
          methods: CountingProxy.diffMethods(target.proxy.byMethod(), methodsBefore),
          created: sum((r) => r.created),
          quarantined: sum((r) => r.quarantined),
          unchanged: sum((r) => r.unchanged),
          targetItems: yield* target.items
        }
        log(
          `${provider} ${step}: ${Math.round(ms)} ms, ${result.counts.requests} requests, +${result.created} quarantined ${result.quarantined}, ${result.targetItems} on the target; ${Object.entries(
            result.methods
          )
            .map(([m, c]) => `${m} ${c.requests}`)
            .join(", ")}`
        )
        return result
      })

    const initial = yield* measure(`initial sync of ${options.events} events`, ["A", "B"])
    const idle = yield* measure(`idle poll of the ${provider} calendar`, ["B"])
    return { provider, events: options.events, steps: [initial, idle] }
  })

/** The baseline into Radicale, then Google and Microsoft, one after the other (nothing else running). */
export const runAll = (options: {
  readonly xandikos: RunningServer
  readonly radicale: RunningServer
  readonly sourceUrl: string
  readonly events: number
  readonly log: (line: string) => void
}): Effect.Effect<
  { readonly baseline: ProviderResult; readonly results: ReadonlyArray<ProviderResult> },
  unknown,
  HttpClient.HttpClient | Scope.Scope
> =>
  Effect.gen(function* () {
    const baseline = yield* Effect.scoped(run({ ...options, provider: "radicale" }))
    const results = yield* Effect.forEach(["google", "microsoft"] as const, (provider) =>
      Effect.scoped(run({ ...options, provider }))
    )
    return { baseline, results }
  })
