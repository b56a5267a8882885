/**
 * The CalendarProvider port over a CalDAV calendar: ctag check → sync-collection → multiget, with
 * a Depth-1 etag listing for servers without sync-collection, and the caldav client's errors
 * translated into the engine's. Refs are hrefs, versions are etags; a copy created under key K
 * is `<K>.ics` in the collection (the names copies have always had), written If-None-Match: *.
 */
import type { CalDavClient, CalDavError } from "@almanac/caldav"
import { type CalendarProvider, type EventModel, ProviderError } from "@almanac/core"
import { Duration, Effect, Option, Schema } from "effect"
import * as ICalCodec from "./ICalCodec.js"

/**
 * What we remember of a calendar between polls. Stored as JSON text by the engine. `ctag` is the
 * collection's getctag, or its sync-token property where it has no ctag. `recheck`: the last poll
 * saw the calendar change, so the next one lists it in full (see `changes`).
 */
const CursorState = Schema.parseJson(
  Schema.Struct({
    ctag: Schema.NullOr(Schema.String),
    token: Schema.NullOr(Schema.String),
    recheck: Schema.optional(Schema.Boolean)
  })
)
type CursorState = typeof CursorState.Type

const encodeCursor = (state: CursorState): string => JSON.stringify(state)
const decodeCursor = (cursor: string): Option.Option<CursorState> =>
  Schema.decodeUnknownOption(CursorState)(cursor)

/** Errors that end a poll; the write errors below keep their own meaning. */
const pollError =
  (calendar: string) =>
  (e: CalDavError.CalDavError): ProviderError.PollError => {
    switch (e._tag) {
      case "TokenInvalid":
        return new ProviderError.TokenInvalid({ calendar, detail: e.message })
      case "Unauthorized":
        return new ProviderError.Unauthorized({ calendar, detail: e.message })
      case "RateLimited":
        return new ProviderError.RateLimited(
          Option.match(e.retryAfter, {
            onNone: () => ({ calendar }),
            onSome: (d) => ({ calendar, retryAfterMillis: Duration.toMillis(d) })
          })
        )
      default:
        // A 404 on the calendar itself, a refusal or an unreadable answer: the poll cannot go on
        // now; the actor backs off and the status shows the message.
        return new ProviderError.Transient({ calendar, detail: e.message })
    }
  }

const writeError =
  (calendar: string, href: string) =>
  (e: CalDavError.CalDavError): CalendarProvider.WriteError => {
    switch (e._tag) {
      case "EtagMismatch":
        return new ProviderError.EtagMismatch({ ref: href })
      case "NotFound":
        return new ProviderError.NotFound({ ref: href })
      case "UidConflict":
        return new ProviderError.UidConflict({ ref: href, detail: e.message })
      case "Rejected":
        return new ProviderError.Rejected({ ref: href, detail: e.message })
      default:
        return pollError(calendar)(e)
    }
  }

const whole: CalendarProvider.Scope = { _tag: "Whole" }

const capabilities: CalendarProvider.Capabilities = {
  deltas: true,
  readOnly: false,
  scope: "whole",
  ids: "key"
}

const toVersion = (item: { readonly href: string; readonly etag: string }): CalendarProvider.ItemVersion => ({
  ref: item.href,
  version: item.etag
})

/** The href of the copy created under `key`: `<key>.ics` in the collection. */
export const hrefOf = (collection: string, key: string): string =>
  new URL(`${encodeURIComponent(key)}.ics`, collection.endsWith("/") ? collection : `${collection}/`).href

/**
 * What a CalDAV calendar holds of a resource: all of it; the iCalendar codec writes everything
 * the model carries. Normalization only settles what the codec would settle on the way back
 * (see ICalCodec.normalize).
 */
export const normalize = (resource: EventModel.EventResource): EventModel.EventResource =>
  ICalCodec.normalize(resource)

export const make = (
  client: CalDavClient.CalDavClientShape,
  calendarUrl: string
): CalendarProvider.CalendarProvider => {
  const asPoll = pollError(calendarUrl)
  const base = calendarUrl.endsWith("/") ? calendarUrl : `${calendarUrl}/`

  /** What a poll compares with the cursor: the ctag, or the sync-token property where there is none. */
  const stampOf = (state: CalDavClient.CollectionState): string | null =>
    Option.getOrNull(Option.orElse(state.ctag, () => state.syncToken))

  /** Every member with its etag: sync-collection without a token, or PROPFIND Depth 1 where that is refused. */
  const fullListing = Effect.suspend(() => client.syncCollection(calendarUrl, Option.none())).pipe(
    Effect.map((d) => ({ items: d.changed, token: d.token as string | null })),
    Effect.catchTag("Rejected", () =>
      client.listEtags(calendarUrl).pipe(Effect.map((items) => ({ items, token: null })))
    )
  )

  const listed = (stamp: string | null, recheck: boolean) =>
    Effect.map(fullListing, (listing) => ({
      _tag: "Snapshot" as const,
      items: listing.items.map(toVersion),
      cursor: encodeCursor({ ctag: stamp, token: listing.token, ...(recheck ? { recheck } : {}) }),
      scope: whole
    }))

  /** A complete listing. */
  const snapshot = Effect.gen(function* () {
    const state = yield* client.collectionState(calendarUrl)
    return yield* listed(stampOf(state), false)
  }).pipe(Effect.mapError(asPoll))

  /**
   * ctag → sync-collection, with one more step for servers whose ctag and sync token have
   * one-second granularity ("changed since" meaning strictly later, docs/caldav-servers.md): an
   * edit made in the same second as the poll that saw the previous one moves neither the ctag nor
   * the token that poll took, and only an etag listing finds it. So a poll that saw the calendar
   * change asks the next poll to list it in full (one REPORT beside the PROPFIND; the engine
   * fetches only versions it does not know); that listing settles it when the ctag has not moved
   * since, else the poll after lists again. A quiet calendar still costs one PROPFIND a poll. An
   * edit after a full listing's read in that same second is found at the next reconcile.
   */
  const changes = (cursor: Option.Option<string>) =>
    Effect.gen(function* () {
      if (Option.isNone(cursor)) return yield* snapshot
      const previous = decodeCursor(cursor.value)
      // Not a cursor this provider wrote: the engine resyncs by merge, as for a rejected token.
      if (Option.isNone(previous)) {
        return yield* new ProviderError.TokenInvalid({
          calendar: calendarUrl,
          detail: "the cursor is not one of ours"
        })
      }
      const state = yield* client.collectionState(calendarUrl).pipe(Effect.mapError(asPoll))
      const stamp = stampOf(state)
      const moved = stamp === null || stamp !== previous.value.ctag
      if (previous.value.recheck === true)
        return yield* listed(stamp, stamp !== null && moved).pipe(Effect.mapError(asPoll))
      // One PROPFIND for an idle calendar: the whole point of polling cheaply.
      if (!moved) return { _tag: "Unchanged" as const }
      const token = previous.value.token
      if (token === null) return yield* snapshot
      const delta = yield* client
        .syncCollection(calendarUrl, Option.some(token))
        .pipe(Effect.mapError(asPoll))
      // A moved ctag with an empty delta is the same-second case too (the token missed an edit).
      const recheck = stamp !== null || delta.changed.length + delta.deleted.length > 0
      return {
        _tag: "Delta" as const,
        changed: delta.changed.map(toVersion),
        deleted: delta.deleted,
        cursor: encodeCursor({ ctag: stamp, token: delta.token, ...(recheck ? { recheck } : {}) }),
        scope: whole
      }
    })

  const fetch = (hrefs: ReadonlyArray<string>) =>
    client.multiget(calendarUrl, hrefs).pipe(
      Effect.mapError(asPoll),
      Effect.flatMap((result) =>
        Effect.forEach(result.found, (item) =>
          ICalCodec.parse(item.data, { href: item.href }).pipe(
            Effect.map(
              (resource): CalendarProvider.Fetched => ({
                _tag: "Found",
                ref: item.href,
                version: item.etag,
                resource
              })
            ),
            Effect.catchAll((e) =>
              Effect.succeed<CalendarProvider.Fetched>({
                _tag: "Bad",
                ref: item.href,
                version: item.etag,
                reason: e.message
              })
            )
          )
        ).pipe(
          Effect.map((found) => [
            ...found,
            ...result.missing.map((href): CalendarProvider.Fetched => ({ _tag: "Missing", ref: href }))
          ])
        )
      )
    )

  return {
    calendarRef: calendarUrl,
    capabilities,
    ...(URL.canParse(calendarUrl) ? { writeHost: new URL(calendarUrl).host } : {}),
    changes,
    snapshot,
    fetch,
    create: (key, resource) => {
      const href = hrefOf(base, key)
      return client.put(href, ICalCodec.serialize(resource), { _tag: "Create" }).pipe(
        Effect.map(({ etag }) => ({ ref: href, version: etag })),
        // If-None-Match: * failed: something is already under the key's name.
        Effect.catchTag("EtagMismatch", () => Effect.fail(new ProviderError.AlreadyExists({ ref: href }))),
        Effect.mapError((e) => (e._tag === "AlreadyExists" ? e : writeError(calendarUrl, href)(e)))
      )
    },
    update: (href, etag, resource) =>
      client.put(href, ICalCodec.serialize(resource), { _tag: "Update", etag }).pipe(
        Effect.map((written) => ({ ref: href, version: written.etag })),
        Effect.mapError(writeError(calendarUrl, href))
      ),
    remove: (href, etag) => client.remove(href, etag).pipe(Effect.mapError(writeError(calendarUrl, href))),
    normalize
  }
}
