/**
 * A fake calendar for the engine's tests: stateful, fast, and faithful to the contract the
 * CalDAV provider keeps (etags change on every write, conditional writes fail with 412
 * semantics, a change feed from a version cursor, a rejected cursor, missing items). Faults are
 * injected by the test. It is a fake: protocol behaviour is proven against real servers elsewhere.
 */
import { Effect, Option } from "effect"
import type { CalendarProvider, EventModel } from "../../src/index.js"
import { ProviderError } from "../../src/index.js"

type Resource = EventModel.EventResource

interface Stored {
  readonly etag: string
  readonly resource: Resource
}

export interface Faults {
  /** The next `changes` call rejects its cursor. */
  tokenInvalid: number
  /** hrefs whose next conditional write loses a race: someone else writes first. */
  races: Map<string, number>
  /** Writes left before every further write fails with Transient (the process dying mid-sync). */
  writesBeforeFailure: number | undefined
  /** hrefs that a fetch reports as missing (eventual consistency). */
  missing: Set<string>
  /** hrefs whose content cannot be decoded. */
  bad: Set<string>
  /** Summaries the calendar refuses to store (as a server refuses invalid data with 403). */
  refuse: Set<string>
}

export class InMemoryCalendar {
  readonly items = new Map<string, Stored>()
  private version = 0
  private readonly log: Array<{ readonly version: number; readonly href: string }> = []
  requests = 0
  writes = 0
  readonly faults: Faults = {
    tokenInvalid: 0,
    races: new Map(),
    writesBeforeFailure: undefined,
    missing: new Set(),
    bad: new Set(),
    refuse: new Set()
  }

  constructor(readonly url: string) {}

  private bump(href: string): string {
    this.version++
    this.log.push({ version: this.version, href })
    return `"${this.version}"`
  }

  /** A person's edit, outside the engine. */
  put(name: string, resource: Resource): string {
    const href = this.url + name
    this.items.set(href, { etag: this.bump(href), resource })
    return href
  }

  /** A person deletes an item, outside the engine. */
  delete(href: string): void {
    if (this.items.delete(href)) this.bump(href)
  }

  resources(): ReadonlyArray<Resource> {
    return [...this.items.values()].map((s) => s.resource)
  }

  private write<A>(
    href: string,
    f: () => A,
    resource?: Resource
  ): Effect.Effect<A, CalendarProvider.WriteError> {
    return Effect.suspend((): Effect.Effect<A, CalendarProvider.WriteError> => {
      this.requests++
      const summary =
        resource === undefined
          ? undefined
          : Option.getOrUndefined(Option.flatMap(resource.master, (m) => m.summary))
      if (summary !== undefined && this.faults.refuse.has(summary)) {
        return Effect.fail(new ProviderError.Rejected({ href, detail: "403 invalid calendar data" }))
      }
      if (this.faults.writesBeforeFailure !== undefined) {
        if (this.faults.writesBeforeFailure <= 0) {
          return Effect.fail(new ProviderError.Transient({ calendar: this.url, detail: "connection reset" }))
        }
        this.faults.writesBeforeFailure--
      }
      const races = this.faults.races.get(href) ?? 0
      if (races > 0) {
        this.faults.races.set(href, races - 1)
        const current = this.items.get(href)
        // Someone else's write lands first, changing the etag under us.
        if (current !== undefined) this.items.set(href, { ...current, etag: this.bump(href) })
        return Effect.fail(new ProviderError.EtagMismatch({ href }))
      }
      return Effect.sync(f)
    })
  }

  provider(): CalendarProvider.CalendarProvider {
    const snapshot = Effect.sync(() => {
      this.requests++
      return {
        _tag: "Snapshot" as const,
        items: [...this.items.entries()].map(([href, s]) => ({ href, etag: s.etag })),
        cursor: String(this.version)
      }
    })
    return {
      calendarUrl: this.url,
      capabilities: { deltas: true },
      snapshot,
      changes: (cursor) =>
        Effect.suspend((): Effect.Effect<CalendarProvider.Changes, ProviderError.PollError> => {
          if (Option.isNone(cursor)) return snapshot
          this.requests++
          if (this.faults.tokenInvalid > 0) {
            this.faults.tokenInvalid--
            return Effect.fail(
              new ProviderError.TokenInvalid({ calendar: this.url, detail: "token expired" })
            )
          }
          const since = Number(cursor.value)
          if (since === this.version) return Effect.succeed({ _tag: "Unchanged" as const })
          this.requests++
          const touched = new Set(this.log.filter((e) => e.version > since).map((e) => e.href))
          const changed = [...touched].flatMap((href) => {
            const s = this.items.get(href)
            return s === undefined ? [] : [{ href, etag: s.etag }]
          })
          const deleted = [...touched].filter((href) => !this.items.has(href))
          return Effect.succeed({ _tag: "Delta" as const, changed, deleted, cursor: String(this.version) })
        }),
      fetch: (hrefs) =>
        Effect.sync(() => {
          this.requests++
          return hrefs.map((href): CalendarProvider.Fetched => {
            const s = this.items.get(href)
            if (s === undefined || this.faults.missing.has(href)) return { _tag: "Missing", href }
            if (this.faults.bad.has(href)) return { _tag: "Bad", href, etag: s.etag, reason: "unparseable" }
            return { _tag: "Found", href, etag: s.etag, resource: s.resource }
          })
        }),
      create: (name, resource) => {
        const href = this.url + name
        return Effect.suspend(() =>
          this.items.has(href)
            ? Effect.suspend(() => {
                this.requests++
                return Effect.fail(new ProviderError.EtagMismatch({ href }))
              })
            : this.write(
                href,
                () => {
                  const etag = this.bump(href)
                  this.writes++
                  this.items.set(href, { etag, resource })
                  return { href, etag }
                },
                resource
              )
        )
      },
      update: (href, etag, resource) =>
        this.write(href, () => undefined, resource).pipe(
          Effect.flatMap((): Effect.Effect<CalendarProvider.ItemVersion, CalendarProvider.WriteError> => {
            const current = this.items.get(href)
            if (current === undefined) return Effect.fail(new ProviderError.NotFound({ href }))
            if (current.etag !== etag) return Effect.fail(new ProviderError.EtagMismatch({ href }))
            const next = this.bump(href)
            this.writes++
            this.items.set(href, { etag: next, resource })
            return Effect.succeed({ href, etag: next })
          })
        ),
      remove: (href, etag) =>
        this.write(href, () => undefined).pipe(
          Effect.flatMap((): Effect.Effect<void, CalendarProvider.WriteError> => {
            const current = this.items.get(href)
            if (current === undefined) return Effect.fail(new ProviderError.NotFound({ href }))
            if (current.etag !== etag) return Effect.fail(new ProviderError.EtagMismatch({ href }))
            this.items.delete(href)
            this.bump(href)
            this.writes++
            return Effect.void
          })
        )
    }
  }
}
