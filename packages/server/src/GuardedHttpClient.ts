/**
 * The HTTP client the server uses to reach calendar servers. UrlGuard checks a URL's addresses
 * before the server connects, but the client resolves the name again when it connects, so a
 * name that answers with a public address first and a private one next (DNS rebinding) would
 * slip through. Here the check runs inside the connection's own lookup: the address connected
 * to is the address checked.
 */
import { lookup as dnsLookup } from "node:dns"
import type { LookupFunction } from "node:net"
import { SyncMetrics } from "@almanac/core"
import { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer, Metric, Option } from "effect"
import { Agent } from "undici"
import { classifyAddress } from "./UrlGuard.js"

/** A `dns.lookup` that refuses names resolving to loopback, private or link-local addresses. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error !== null) return callback(error, [])
    const refused = addresses.flatMap((a) =>
      Option.match(classifyAddress(a.address), {
        onNone: () => [],
        onSome: (why) => [`${a.address}: ${why}`]
      })
    )
    if (refused.length > 0) {
      const e: NodeJS.ErrnoException = new Error(
        `refused to connect to ${hostname}: it resolves to an address that is not public (${refused.join("; ")})`
      )
      e.code = "EALMANACPRIVATE"
      return callback(e, [])
    }
    if (options.all === true) return callback(null, addresses)
    const first = addresses[0]
    if (first === undefined)
      return callback(Object.assign(new Error(`no address for ${hostname}`), { code: "ENOTFOUND" }), [])
    return callback(null, first.address, first.family)
  })
}

/** Every request counted (`almanac_calendar_requests`) by method and status class, answered or not. */
const counted = (client: HttpClient.HttpClient): HttpClient.HttpClient =>
  HttpClient.transform(client, (response, request) =>
    response.pipe(
      Effect.tapBoth({
        onSuccess: (r) => Metric.increment(SyncMetrics.request(request.method, r.status)),
        onFailure: () => Metric.increment(SyncMetrics.request(request.method, "error"))
      })
    )
  )

/**
 * Sockets kept open to one origin at most. Calendars of one service share an origin (every
 * iCloud partition, Google, Graph), and a poll per calendar at once would otherwise open a socket
 * per poll: at 19,000 calendars, 18–19k open files. Requests beyond the cap wait for a socket
 * (keep-alive makes one quickly free again); the engine's own limits (writes per calendar,
 * requests per mailbox) stay below it.
 */
export const defaultConnectionsPerOrigin = 32

export interface Options {
  readonly allowPrivateUrls: boolean
  readonly connectionsPerOrigin?: number | undefined
}

/**
 * An undici client over an Agent with a socket cap per origin; unless private addresses are
 * allowed, its connections resolve through `guardedLookup`. Either way, requests are counted.
 */
export const layer = (options: Options): Layer.Layer<HttpClient.HttpClient> =>
  Layer.effect(HttpClient.HttpClient, Effect.map(HttpClient.HttpClient, counted)).pipe(
    Layer.provide(uncounted(options))
  )

const uncounted = (options: Options): Layer.Layer<HttpClient.HttpClient> =>
  NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
    Layer.provide(
      Layer.scoped(
        NodeHttpClient.Dispatcher,
        Effect.acquireRelease(
          Effect.sync(
            () =>
              new Agent({
                connections: options.connectionsPerOrigin ?? defaultConnectionsPerOrigin,
                ...(options.allowPrivateUrls ? {} : { connect: { lookup: guardedLookup } })
              })
          ),
          (agent) => Effect.promise(() => agent.destroy())
        )
      )
    )
  )
