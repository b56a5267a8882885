/**
 * Busy time across a user's calendars, for scheduling tools. CalDAV calendars: one calendar-query
 * per calendar and our own recurrence expansion (iCloud has no free-busy-query REPORT and other
 * servers answer it badly; see FreeBusyCommand for the same computation on the command line).
 * Google calendars: one `freeBusy.query` per account for all its chosen calendars — Google
 * expands and applies transparency itself, and places all-day events in each calendar's own zone
 * (the `zone` asked for applies to CalDAV calendars only). The intervals of all calendars are
 * merged into one answer. Microsoft calendars and subscribed feeds: their events read through the
 * engine's provider (Graph's window listing, the feed) and expanded by us like CalDAV's — Graph's
 * getSchedule answers only for a mailbox's default calendar and not at all for personal
 * (Outlook.com) accounts, so it cannot stand for one chosen calendar. That costs a listing of the
 * calendar's window (365 days back, 730 ahead) per question. One unreadable event
 * is skipped and reported, never a reason to answer nothing; a calendar that cannot be asked
 * fails the whole answer, because "free" from a calendar we could not read would be a lie.
 */
import { CalendarProvider, type EventModel, FreeBusy, type SyncStore } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import { Context, Effect, Either, Layer, Option } from "effect"
import { Accounts, type CalendarInfo } from "../store/Accounts.js"
import { AccountClients, nameOf } from "./AccountClients.js"
import * as Input from "./Input.js"
import {
  CalendarFailed,
  InvalidRequest,
  Missing,
  type RequestProblem,
  type UpstreamError
} from "./SchedulingError.js"

/** Longest range one question may cover: a year, leap day included. */
export const MAX_DAYS = 366

export interface Query {
  readonly start?: string | undefined
  readonly end?: string | undefined
  /** None: every event calendar in scope. */
  readonly calendarIds?: ReadonlyArray<string> | undefined
  /** IANA zone in which all-day and floating events fall; UTC by default. */
  readonly zone?: string | undefined
}

export interface Skipped {
  readonly calendarId: string
  readonly href: string
  readonly reason: string
}

export interface Answer {
  readonly window: Input.Window
  readonly zone: string
  readonly busy: ReadonlyArray<FreeBusy.Interval>
  readonly calendars: ReadonlyArray<CalendarInfo>
  readonly skipped: ReadonlyArray<Skipped>
}

type Failure = InvalidRequest | Missing | UpstreamError | SyncStore.StoreError

export interface FreeBusyServiceShape {
  /** Across one account's calendars (all, or the chosen ones of that account). */
  readonly forAccount: (userId: string, accountId: string, query: Query) => Effect.Effect<Answer, Failure>
  /** Across every account of the user (all calendars, or the chosen ones of any account). */
  readonly forUser: (userId: string, query: Query) => Effect.Effect<Answer, Failure>
}

export class FreeBusyService extends Context.Tag("@almanac/server/FreeBusyService")<
  FreeBusyService,
  FreeBusyServiceShape
>() {}

const read = (query: Query) => {
  const problems: Array<RequestProblem> = []
  const window = Input.window(query.start, query.end, MAX_DAYS)
  if (Either.isLeft(window)) problems.push(...window.left)
  const zone = query.zone ?? "UTC"
  if (!Input.isZone(zone)) problems.push({ reason: "UnknownZone", field: "zone", given: zone })
  const ids = query.calendarIds?.map((id) => id.trim()).filter((id) => id !== "")
  if (query.calendarIds !== undefined && (ids === undefined || ids.length === 0))
    problems.push({ reason: "NoneChosen", field: "calendarIds" })
  if (Either.isLeft(window) || problems.length > 0) return Either.left(new InvalidRequest({ problems }))
  return Either.right({ window: window.right, zone, ids: Option.fromNullable(ids) })
}

/** The chosen calendars among those in scope; any id outside the scope is reported as missing. */
const choose = (
  inScope: ReadonlyArray<CalendarInfo>,
  ids: Option.Option<ReadonlyArray<string>>,
  scope: string
) =>
  Option.match(ids, {
    onNone: () => Effect.succeed(inScope),
    onSome: (wanted) => {
      const unknown = wanted.filter((id) => !inScope.some((c) => c.id === id))
      return unknown.length > 0
        ? Effect.fail(
            new Missing({
              what: `${unknown.length > 1 ? "calendars" : "calendar"} ${unknown.join(", ")} ${scope}`
            })
          )
        : Effect.succeed(inScope.filter((c) => wanted.includes(c.id)))
    }
  })

export const make: Effect.Effect<
  FreeBusyServiceShape,
  never,
  Accounts | AccountClients | CalendarProvider.ProviderRegistry
> = Effect.gen(function* () {
  const accounts = yield* Accounts
  const clients = yield* AccountClients
  const registry = yield* CalendarProvider.ProviderRegistry

  /** Google's own answer for its calendars, account by account. */
  const googleBusy = (calendars: ReadonlyArray<CalendarInfo>, window: Input.Window, startedAt: number) =>
    Effect.gen(function* () {
      const byAccount = new Map<string, Array<CalendarInfo>>()
      for (const c of calendars) byAccount.set(c.accountId, [...(byAccount.get(c.accountId) ?? []), c])
      const intervals: Array<FreeBusy.Interval> = []
      for (const [accountId, [first, ...rest]] of byAccount) {
        if (first === undefined) continue
        const mine = [first, ...rest]
        const client = yield* clients.googleClientFor(accountId)
        const answers = yield* client
          .freeBusy({ timeMin: window.start, timeMax: window.end, calendars: mine.map((c) => c.url) })
          .pipe(Effect.catchAll(clients.providerFailure(first, startedAt)))
        for (const calendar of mine) {
          const answer = answers.get(calendar.url)
          // "Free" from a calendar Google would not answer for would be a lie.
          if (answer === undefined || answer.errors.length > 0)
            return yield* new CalendarFailed({
              calendarId: calendar.id,
              calendarName: nameOf(calendar),
              detail: `Google gave no free/busy for it (${answer?.errors.join(", ") || "not in the answer"})`
            })
          intervals.push(...answer.busy)
        }
      }
      return intervals
    })

  /** The events of a calendar read through its provider: every item its listing holds. */
  const throughProvider = (calendar: CalendarInfo, kind: string, startedAt: number) =>
    Effect.gen(function* () {
      const upstream = (e: { readonly _tag: string; readonly detail?: string }) =>
        clients.providerFailure(calendar, startedAt)({ _tag: e._tag, message: e.detail ?? e._tag })
      const provider = yield* registry
        .open({ ref: calendar.url, accountId: calendar.accountId, kind })
        .pipe(Effect.catchAll(upstream))
      const listing = yield* provider.snapshot.pipe(Effect.catchAll(upstream))
      const refs = listing.items.map((i) => i.ref)
      const fetched: Array<CalendarProvider.Fetched> = []
      for (let i = 0; i < refs.length; i += 100)
        fetched.push(...(yield* provider.fetch(refs.slice(i, i + 100)).pipe(Effect.catchAll(upstream))))
      return fetched
    })

  const compute = (chosen: ReadonlyArray<CalendarInfo>, window: Input.Window, zone: string) =>
    Effect.gen(function* () {
      // Before any credential is read: a refusal parks an account only if it did not resume since.
      const startedAt = Date.now()
      const kinds = new Map<string, string>()
      for (const id of new Set(chosen.map((c) => c.accountId))) {
        const account = yield* accounts.byId(id)
        kinds.set(id, Option.match(account, { onNone: () => "caldav", onSome: (a) => a.kind }))
      }
      const isGoogle = (c: CalendarInfo) => kinds.get(c.accountId) === "google"
      const fromGoogle = yield* googleBusy(chosen.filter(isGoogle), window, startedAt)
      const viaProvider = (c: CalendarInfo) => {
        const kind = kinds.get(c.accountId)
        return kind === "microsoft" || kind === "ics"
      }
      const fromProviders = yield* Effect.forEach(
        chosen.filter(viaProvider),
        (calendar) =>
          Effect.map(
            throughProvider(calendar, kinds.get(calendar.accountId) ?? "", startedAt),
            (fetched) => ({
              calendar,
              fetched
            })
          ),
        { concurrency: 2 }
      )
      const calendars = chosen.filter((c) => !isGoogle(c) && !viaProvider(c))
      const accountIds = [...new Set(calendars.map((c) => c.accountId))]
      const byAccount = new Map(
        yield* Effect.forEach(accountIds, (id) =>
          Effect.map(clients.clientFor(id), (client) => [id, client] as const)
        )
      )
      const range = FreeBusy.queryRange(window)
      const perCalendar = yield* Effect.forEach(
        calendars,
        (calendar) => {
          const client = byAccount.get(calendar.accountId)
          if (client === undefined) return Effect.die(`no client for account ${calendar.accountId}`)
          return client.query(calendar.url, range).pipe(
            Effect.catchAll(clients.failure(calendar, startedAt)),
            Effect.map((items) => ({ calendar, items }))
          )
        },
        { concurrency: 4 }
      )
      const resources: Array<EventModel.EventResource> = []
      const origins: Array<{ readonly calendarId: string; readonly href: string }> = []
      const skipped: Array<Skipped> = []
      for (const { calendar, items } of perCalendar) {
        for (const item of items) {
          const parsed = ICalCodec.parseEither(item.data, { href: item.href })
          if (Either.isRight(parsed)) {
            resources.push(parsed.right)
            origins.push({ calendarId: calendar.id, href: item.href })
          } else {
            skipped.push({ calendarId: calendar.id, href: item.href, reason: parsed.left.reason })
            yield* Effect.logInfo("free/busy skipped an unreadable event", calendar.id, item.href)
          }
        }
      }
      for (const { calendar, fetched } of fromProviders) {
        for (const f of fetched) {
          if (f._tag === "Found") {
            resources.push(f.resource)
            origins.push({ calendarId: calendar.id, href: f.ref })
          } else if (f._tag === "Bad")
            skipped.push({ calendarId: calendar.id, href: f.ref, reason: f.reason })
        }
      }
      const ours = FreeBusy.report(resources, window, { floatingZone: zone })
      // A series expanded only part of the way (its budget of instances ran out) is shown up to
      // the cut and named here, so that the rest of the window is not read as free.
      for (const c of ours.cut) {
        const origin = origins[c.index]
        if (origin !== undefined) skipped.push({ ...origin, reason: FreeBusy.cutReason(c.cut) })
      }
      const busy = FreeBusy.merge([...ours.busy, ...fromGoogle], window)
      return { window, zone, busy, calendars: chosen, skipped } satisfies Answer
    })

  return {
    forAccount: (userId, accountId, query) =>
      Effect.gen(function* () {
        const q = yield* read(query)
        const account = yield* accounts.get(userId, accountId)
        if (Option.isNone(account)) return yield* new Missing({ what: `account ${accountId}` })
        const chosen = yield* choose(yield* accounts.calendars(accountId), q.ids, `in account ${accountId}`)
        return yield* compute(chosen, q.window, q.zone)
      }),
    forUser: (userId, query) =>
      Effect.gen(function* () {
        const q = yield* read(query)
        const all = yield* accounts.list(userId)
        const calendars = (yield* Effect.forEach(all, (a) => accounts.calendars(a.id))).flat()
        const chosen = yield* choose(calendars, q.ids, "among your accounts")
        return yield* compute(chosen, q.window, q.zone)
      })
  }
})

export const layer: Layer.Layer<
  FreeBusyService,
  never,
  Accounts | AccountClients | CalendarProvider.ProviderRegistry
> = Layer.effect(FreeBusyService, make)
