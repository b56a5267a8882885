/**
 * Writing the corpus to a calendar through the caldav client, and the edits between polls:
 * creates with bounded concurrency, then updates (If-Match) and deletes (If-Match).
 */
import type { CalDavClient, CalDavError } from "@almanac/caldav"
import { Effect } from "effect"
import type { CorpusItem, EditPlan } from "./Corpus.js"
import * as Corpus from "./Corpus.js"

export interface Stored {
  readonly item: CorpusItem
  readonly href: string
  readonly etag: string
}

export const putConcurrency = 4

/** A fresh calendar at `url` filled with `items`; returns what was stored, in corpus order. */
export const fill = (
  client: CalDavClient.CalDavClientShape,
  url: string,
  items: ReadonlyArray<CorpusItem>,
  displayName: string
): Effect.Effect<ReadonlyArray<Stored>, CalDavError.CalDavError> =>
  Effect.gen(function* () {
    yield* client.mkcalendar(url, { displayName, components: ["VEVENT"] })
    return yield* put(client, url, items)
  })

/** Creates `items` in the calendar at `url`, `putConcurrency` at a time. */
export const put = (
  client: CalDavClient.CalDavClientShape,
  url: string,
  items: ReadonlyArray<CorpusItem>
): Effect.Effect<ReadonlyArray<Stored>, CalDavError.CalDavError> =>
  Effect.forEach(
    items,
    (item) => {
      const href = `${url}${item.name}`
      return Effect.map(
        client.put(href, item.text, { _tag: "Create" }),
        ({ etag }): Stored => ({ item, href, etag })
      )
    },
    { concurrency: putConcurrency }
  )

export interface Edited {
  /** The calendar's contents after the edits, in corpus order (deleted ones left out). */
  readonly stored: ReadonlyArray<Stored>
  readonly updated: ReadonlyArray<Stored>
  readonly deleted: ReadonlyArray<Stored>
}

/** Applies `plan` to what `stored` describes; `round` names the edit in the new titles. */
export const edit = (
  client: CalDavClient.CalDavClientShape,
  stored: ReadonlyArray<Stored>,
  plan: EditPlan,
  round: string
): Effect.Effect<Edited, CalDavError.CalDavError> =>
  Effect.gen(function* () {
    const at = (i: number) => {
      const s = stored[i]
      return s === undefined ? Effect.dieMessage(`no stored item at ${i}`) : Effect.succeed(s)
    }
    const updated = yield* Effect.forEach(
      plan.updates,
      (i) =>
        Effect.gen(function* () {
          const s = yield* at(i)
          const next = Corpus.edited(s.item, round)
          const { etag } = yield* client.put(s.href, next.text, { _tag: "Update", etag: s.etag })
          return [i, { item: next, href: s.href, etag }] as const
        }),
      { concurrency: putConcurrency }
    )
    const deleted = yield* Effect.forEach(
      plan.deletes,
      (i) =>
        Effect.gen(function* () {
          const s = yield* at(i)
          yield* client.remove(s.href, s.etag)
          return [i, s] as const
        }),
      { concurrency: putConcurrency }
    )
    const byIndex = new Map<number, Stored | undefined>(stored.map((s, i) => [i, s]))
    for (const [i, s] of updated) byIndex.set(i, s)
    for (const [i] of deleted) byIndex.set(i, undefined)
    const result: Edited = {
      stored: [...byIndex.values()].filter((s): s is Stored => s !== undefined),
      updated: updated.map(([, s]) => s),
      deleted: deleted.map(([, s]) => s)
    }
    return result
  })
