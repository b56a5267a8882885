/**
 * A FAKE of a CalDAV server whose ctag and sync tokens have one-second granularity, as some widely
 * deployed servers have (docs/caldav-servers.md): "changed since" means changed in a strictly later
 * second. The items themselves live on a real server (the client given); this wrapper keeps only
 * the change log, by seconds of a clock the test turns, so that "an edit in the same second as the
 * poll" is a thing a test can make happen. Every write made through the wrapper, the test's own
 * (a person's) or the engine's, is logged at the current second.
 */
import type { CalDavClient } from "@almanac/caldav"
import { Effect, Option } from "effect"

export interface CoarseServer {
  readonly client: CalDavClient.CalDavClientShape
  /** Moves the server's clock on by whole seconds. */
  readonly tick: (seconds: number) => void
  /** Requests the wrapper answered (every method). */
  readonly requests: () => number
}

export const wrap = (real: CalDavClient.CalDavClientShape, startSecond = 10): CoarseServer => {
  let second = startSecond
  let lastChange = 0
  let requests = 0
  const changedAt = new Map<string, number>()
  const deletedAt = new Map<string, number>()
  const changed = (href: string) => {
    changedAt.set(href, second)
    deletedAt.delete(href)
    lastChange = second
  }
  const sinceOf = (token: string): number => {
    const m = /^t-(\d+)$/.exec(token)
    return m === null ? -1 : Number(m[1])
  }
  const count = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.zipRight(
      Effect.sync(() => requests++),
      effect
    )

  const client: CalDavClient.CalDavClientShape = {
    ...real,
    collectionState: () =>
      count(
        Effect.succeed({ ctag: Option.some(`ctag-${lastChange}`), syncToken: Option.some(`t-${lastChange}`) })
      ),
    syncCollection: (url, token) =>
      count(
        Effect.map(real.listEtags(url), (items) => {
          const since = Option.match(token, { onNone: () => -1, onSome: sinceOf })
          return {
            changed: items.filter((i) => (changedAt.get(i.href) ?? 0) > since),
            deleted: Option.isNone(token)
              ? []
              : [...deletedAt].filter(([, at]) => at > since).map(([h]) => h),
            token: `t-${second}`
          }
        })
      ),
    listEtags: (url) => count(real.listEtags(url)),
    multiget: (url, hrefs) => count(real.multiget(url, hrefs)),
    get: (href) => count(real.get(href)),
    put: (href, data, precondition) =>
      count(Effect.tap(real.put(href, data, precondition), () => Effect.sync(() => changed(href)))),
    remove: (href, etag) =>
      count(
        Effect.tap(real.remove(href, etag), () =>
          Effect.sync(() => {
            changedAt.delete(href)
            deletedAt.set(href, second)
            lastChange = second
          })
        )
      )
  }
  return {
    client,
    tick: (seconds) => {
      second += seconds
    },
    requests: () => requests
  }
}
