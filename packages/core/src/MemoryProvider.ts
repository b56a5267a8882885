/**
 * The provider port in memory, shipped beside the port (as @effect/cluster ships
 * `RunnerStorage.layerMemory`): stateful and faithful to the contract every provider keeps —
 * versions change on every write, conditional writes fail on a stale version, a copy's ref
 * derives from its creation key (AlreadyExists on a second create), a change feed from a version
 * cursor with deletions, TokenInvalid for a cursor it never gave. It passes the same contract
 * suite as the real providers. Tests reach behind the port through `MemoryCalendar` to act as a
 * person would (write, delete, leave a malformed item) and to inject faults.
 */
import { Effect, Layer, Option } from "effect"
import type {
  CalendarProvider,
  Capabilities,
  Changes,
  Fetched,
  ItemVersion,
  Scope,
  WriteError
} from "./CalendarProvider.js"
import { ProviderRegistry } from "./CalendarProvider.js"
import type { EventResource } from "./EventModel.js"
import * as FreeBusy from "./FreeBusy.js"
import {
  AlreadyExists,
  EtagMismatch,
  NotFound,
  type PollError,
  Rejected,
  TokenInvalid,
  Transient
} from "./ProviderError.js"

type Stored =
  | { readonly _tag: "Event"; readonly version: string; readonly resource: EventResource }
  /** Something a person left that no codec reads (a provider answers Bad for it). */
  | { readonly _tag: "Malformed"; readonly version: string; readonly reason: string }

export interface Faults {
  /** The next `changes` calls reject their cursor. */
  tokenInvalid: number
  /** Refs whose next conditional write loses a race: someone else writes first. */
  races: Map<string, number>
  /** Writes left before every further write fails with Transient (the process dying mid-sync). */
  writesBeforeFailure: number | undefined
  /** Refs that a fetch reports as missing (eventual consistency). */
  missing: Set<string>
  /** Refs whose content cannot be decoded. */
  bad: Set<string>
  /** Summaries the calendar refuses to store (as a server refuses invalid data with 403). */
  refuse: Set<string>
}

export interface Options {
  readonly capabilities?: Partial<Capabilities>
  /** For a window-scoped calendar: the window its listings cover. */
  readonly window?: { readonly start: number; readonly end: number }
  /** What the calendar can store: it keeps what is written to it in this form. */
  readonly normalize?: (resource: EventResource) => EventResource
  /** How long a write takes (ms) with `inFlight` writes on the calendar, itself included: a slow server. */
  readonly writeLatency?: (inFlight: number) => number
  /** The server it stands for, as `CalendarProvider.writeHost`. */
  readonly writeHost?: string
}

export const defaultCapabilities: Capabilities = { deltas: true, readOnly: false, scope: "whole", ids: "key" }

/** One calendar in memory: its provider, and the hands of a person working on it directly. */
export class MemoryCalendar {
  readonly items = new Map<string, Stored>()
  private version = 0
  private readonly log: Array<{ readonly version: number; readonly ref: string }> = []
  /** Requests the provider answered (listings, fetches, writes). */
  requests = 0
  /** Writes that changed the calendar. */
  writes = 0
  /** Writes being answered now, and the most there ever were at once. */
  inFlight = 0
  peakInFlight = 0
  readonly faults: Faults = {
    tokenInvalid: 0,
    races: new Map(),
    writesBeforeFailure: undefined,
    missing: new Set(),
    bad: new Set(),
    refuse: new Set()
  }
  readonly capabilities: Capabilities
  readonly scope: Scope

  constructor(
    readonly ref: string,
    private readonly options: Options = {}
  ) {
    this.capabilities = { ...defaultCapabilities, ...options.capabilities }
    this.scope =
      options.window === undefined
        ? { _tag: "Whole" }
        : { _tag: "Window", start: options.window.start, end: options.window.end }
  }

  private bump(ref: string): string {
    this.version++
    this.log.push({ version: this.version, ref })
    return `"${this.version}"`
  }

  /** A person writes an item, outside the engine. */
  put(name: string, resource: EventResource): string {
    const ref = this.ref + name
    this.items.set(ref, { _tag: "Event", version: this.bump(ref), resource })
    return ref
  }

  /** A person leaves an item that cannot be read. */
  putMalformed(name: string, reason = "not an event"): string {
    const ref = this.ref + name
    this.items.set(ref, { _tag: "Malformed", version: this.bump(ref), reason })
    return ref
  }

  /** A person deletes an item, outside the engine. */
  delete(ref: string): void {
    if (this.items.delete(ref)) this.bump(ref)
  }

  /** The resource stored at `ref`, if it holds a readable one. */
  resourceAt(ref: string): EventResource | undefined {
    const s = this.items.get(ref)
    return s?._tag === "Event" ? s.resource : undefined
  }

  resources(): ReadonlyArray<EventResource> {
    return [...this.items.values()].flatMap((s) => (s._tag === "Event" ? [s.resource] : []))
  }

  private inScope(stored: Stored): boolean {
    if (this.scope._tag === "Whole" || stored._tag === "Malformed") return true
    return FreeBusy.occursWithin(stored.resource, {
      start: new Date(this.scope.start),
      end: new Date(this.scope.end)
    })
  }

  private write<A>(
    ref: string,
    f: () => Effect.Effect<A, WriteError>,
    resource?: EventResource
  ): Effect.Effect<A, WriteError> {
    return Effect.suspend((): Effect.Effect<A, WriteError> => {
      this.requests++
      if (this.capabilities.readOnly) {
        return Effect.fail(new Rejected({ ref, detail: "the calendar is read-only" }))
      }
      const summary =
        resource === undefined
          ? undefined
          : Option.getOrUndefined(Option.flatMap(resource.master, (m) => m.summary))
      if (summary !== undefined && this.faults.refuse.has(summary)) {
        return Effect.fail(new Rejected({ ref, detail: "403 invalid calendar data" }))
      }
      if (this.faults.writesBeforeFailure !== undefined) {
        if (this.faults.writesBeforeFailure <= 0) {
          return Effect.fail(new Transient({ calendar: this.ref, detail: "connection reset" }))
        }
        this.faults.writesBeforeFailure--
      }
      const races = this.faults.races.get(ref) ?? 0
      if (races > 0) {
        this.faults.races.set(ref, races - 1)
        const current = this.items.get(ref)
        // Someone else's write lands first, changing the version under us.
        if (current !== undefined) this.items.set(ref, { ...current, version: this.bump(ref) })
        return Effect.fail(new EtagMismatch({ ref }))
      }
      const latency = this.options.writeLatency
      if (latency === undefined) return f()
      return Effect.acquireUseRelease(
        Effect.sync(() => {
          this.inFlight++
          this.peakInFlight = Math.max(this.peakInFlight, this.inFlight)
          return this.inFlight
        }),
        (n) => Effect.zipRight(Effect.sleep(latency(n)), f()),
        () => Effect.sync(() => this.inFlight--)
      )
    })
  }

  /** What the calendar keeps of a written resource: its own form (`normalize`), as a real service rewrites. */
  private stored(resource: EventResource): EventResource {
    return this.options.normalize === undefined ? resource : this.options.normalize(resource)
  }

  private listing(): ReadonlyArray<ItemVersion> {
    return [...this.items.entries()]
      .filter(([, s]) => this.inScope(s))
      .map(([ref, s]) => ({ ref, version: s.version }))
  }

  provider(): CalendarProvider {
    const snapshot = Effect.sync(() => {
      this.requests++
      return {
        _tag: "Snapshot" as const,
        items: this.listing(),
        cursor: String(this.version),
        scope: this.scope
      }
    })
    const changes = (cursor: Option.Option<string>) =>
      Effect.suspend((): Effect.Effect<Changes, PollError> => {
        if (Option.isNone(cursor)) return snapshot
        this.requests++
        const since = /^\d+$/.test(cursor.value) ? Number(cursor.value) : Number.NaN
        if (this.faults.tokenInvalid > 0 || !(since >= 0 && since <= this.version)) {
          if (this.faults.tokenInvalid > 0) this.faults.tokenInvalid--
          return Effect.fail(
            new TokenInvalid({ calendar: this.ref, detail: `cursor ${cursor.value} not valid` })
          )
        }
        if (since === this.version) return Effect.succeed({ _tag: "Unchanged" as const })
        const touched = new Set(this.log.filter((e) => e.version > since).map((e) => e.ref))
        const changed = [...touched].flatMap((ref) => {
          const s = this.items.get(ref)
          return s === undefined || !this.inScope(s) ? [] : [{ ref, version: s.version }]
        })
        const deleted = [...touched].filter((ref) => !this.items.has(ref))
        return Effect.succeed({
          _tag: "Delta" as const,
          changed,
          deleted,
          cursor: String(this.version),
          scope: this.scope
        })
      })
    const fetch = (refs: ReadonlyArray<string>) =>
      Effect.sync(() => {
        this.requests++
        return refs.map((ref): Fetched => {
          const s = this.items.get(ref)
          if (s === undefined || this.faults.missing.has(ref)) return { _tag: "Missing", ref }
          if (s._tag === "Malformed") return { _tag: "Bad", ref, version: s.version, reason: s.reason }
          if (this.faults.bad.has(ref)) return { _tag: "Bad", ref, version: s.version, reason: "unparseable" }
          return { _tag: "Found", ref, version: s.version, resource: s.resource }
        })
      })
    const conditional = (ref: string, version: string): Effect.Effect<void, NotFound | EtagMismatch> => {
      const current = this.items.get(ref)
      if (current === undefined) return Effect.fail(new NotFound({ ref }))
      if (current.version !== version) return Effect.fail(new EtagMismatch({ ref }))
      return Effect.void
    }
    return {
      calendarRef: this.ref,
      capabilities: this.capabilities,
      ...(this.options.writeHost === undefined ? {} : { writeHost: this.options.writeHost }),
      snapshot,
      changes,
      fetch,
      create: (key, resource) => {
        const ref = this.ref + key
        return Effect.suspend((): Effect.Effect<ItemVersion, WriteError | AlreadyExists> => {
          if (this.items.has(ref)) {
            this.requests++
            return Effect.fail(new AlreadyExists({ ref }))
          }
          return this.write(
            ref,
            () =>
              Effect.sync(() => {
                const version = this.bump(ref)
                this.writes++
                this.items.set(ref, { _tag: "Event", version, resource: this.stored(resource) })
                return { ref, version }
              }),
            resource
          )
        })
      },
      update: (ref, version, resource) =>
        this.write(
          ref,
          () =>
            Effect.flatMap(conditional(ref, version), () =>
              Effect.sync(() => {
                const next = this.bump(ref)
                this.writes++
                this.items.set(ref, { _tag: "Event", version: next, resource: this.stored(resource) })
                return { ref, version: next }
              })
            ),
          resource
        ),
      remove: (ref, version) =>
        this.write(ref, () =>
          Effect.flatMap(conditional(ref, version), () =>
            Effect.sync(() => {
              this.items.delete(ref)
              this.bump(ref)
              this.writes++
            })
          )
        ),
      normalize: this.options.normalize ?? ((resource) => resource)
    }
  }
}

/** Calendars in memory, by ref. */
export class MemoryCalendars {
  readonly byRef = new Map<string, MemoryCalendar>()
  add(ref: string, options?: Options): MemoryCalendar {
    const c = new MemoryCalendar(ref, options)
    this.byRef.set(ref, c)
    return c
  }
}

/** A fresh empty calendar. */
export const make = (ref: string, options?: Options): MemoryCalendar => new MemoryCalendar(ref, options)

/** A registry over calendars in memory; a calendar it does not hold is not there (Transient). */
export const registry = (calendars: MemoryCalendars): ProviderRegistry["Type"] => ({
  open: (calendar) => {
    const c = calendars.byRef.get(calendar.ref)
    return c === undefined
      ? Effect.fail(new Transient({ calendar: calendar.ref, detail: "no such calendar" }))
      : Effect.succeed(c.provider())
  }
})

export const layerMemory = (
  calendars: MemoryCalendars = new MemoryCalendars()
): Layer.Layer<ProviderRegistry> => Layer.succeed(ProviderRegistry, registry(calendars))
