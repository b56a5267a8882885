/**
 * A small counting HTTP reverse proxy on loopback, put in front of a CalDAV server so that
 * every client is counted the same way: requests, and bytes each way (request line, headers
 * and body as received; status line, headers and body as sent back). Bounded: a cap on
 * connections, on request bodies and on each exchange's time, and it closes itself after
 * `maxLifetimeMs` whatever happens to its owner.
 */
import * as http from "node:http"
import { performance } from "node:perf_hooks"

export interface Counts {
  readonly requests: number
  readonly bytesSent: number
  readonly bytesReceived: number
}

/** Requests per method and the wall time the server took for them (first byte sent to last byte back). */
export type MethodCounts = Readonly<Record<string, { readonly requests: number; readonly ms: number }>>

export interface CountingProxy {
  /** Base URL of the proxy, ending in "/". */
  readonly url: string
  readonly counts: () => Counts
  readonly byMethod: () => MethodCounts
  /** Upstream failures seen (connection refused, timeouts, oversized bodies). */
  readonly errors: () => ReadonlyArray<string>
  readonly stop: () => Promise<void>
}

export interface ProxyOptions {
  readonly maxLifetimeMs?: number
  readonly maxConnections?: number
  readonly maxRequestBodyBytes?: number
  readonly exchangeTimeoutMs?: number
}

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"])

const headerBytes = (rawHeaders: ReadonlyArray<string>): number => {
  let n = 2 // the blank line
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    n += Buffer.byteLength(`${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`)
  }
  return n
}

const forwardHeaders = (rawHeaders: ReadonlyArray<string>): Array<[string, string]> => {
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? ""
    if (!hopByHop.has(name.toLowerCase())) out.push([name, rawHeaders[i + 1] ?? ""])
  }
  return out
}

/** Starts a proxy on 127.0.0.1 (a free port) forwarding to `upstream` (an http://127.0.0.1 URL). */
export const start = (upstream: string, options: ProxyOptions = {}): Promise<CountingProxy> => {
  const target = new URL(upstream)
  if (target.protocol !== "http:" || (target.hostname !== "127.0.0.1" && target.hostname !== "localhost")) {
    return Promise.reject(new Error(`the counting proxy forwards to loopback http only, not ${upstream}`))
  }
  const maxBody = options.maxRequestBodyBytes ?? 64 * 1024 * 1024
  const exchangeTimeout = options.exchangeTimeoutMs ?? 120_000
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 })
  let requests = 0
  let sent = 0
  let received = 0
  const methods = new Map<string, { requests: number; ms: number }>()
  const errors: Array<string> = []
  const noteError = (e: string) => {
    if (errors.length < 100) errors.push(e)
  }

  const server = http.createServer((req, res) => {
    requests++
    const began = performance.now()
    const method = req.method ?? "GET"
    res.once("close", () => {
      const m = methods.get(method) ?? { requests: 0, ms: 0 }
      methods.set(method, { requests: m.requests + 1, ms: m.ms + (performance.now() - began) })
    })
    sent += Buffer.byteLength(`${req.method ?? "GET"} ${req.url ?? "/"} HTTP/${req.httpVersion}\r\n`)
    sent += headerBytes(req.rawHeaders)
    const upstreamReq = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // the Host header stays the proxy's, so absolute URLs the server builds point back here
        headers: forwardHeaders(req.rawHeaders).flat(),
        agent,
        timeout: exchangeTimeout
      },
      (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 502
        const headers = forwardHeaders(upstreamRes.rawHeaders)
        received += Buffer.byteLength(`HTTP/1.1 ${status} ${upstreamRes.statusMessage ?? ""}\r\n`)
        received += headerBytes(headers.flat())
        res.writeHead(status, upstreamRes.statusMessage, headers.flat())
        upstreamRes.on("data", (chunk: Buffer) => {
          received += chunk.length
        })
        upstreamRes.pipe(res)
        upstreamRes.on("error", (e) => {
          noteError(`upstream response: ${e.message}`)
          res.destroy(e)
        })
      }
    )
    upstreamReq.on("timeout", () => upstreamReq.destroy(new Error(`no answer within ${exchangeTimeout} ms`)))
    upstreamReq.on("error", (e) => {
      noteError(`${req.method} ${req.url}: ${e.message}`)
      if (!res.headersSent) {
        res.writeHead(502, { "content-type": "text/plain" })
        res.end(`counting proxy: ${e.message}`)
      } else res.destroy(e)
    })
    let bodyBytes = 0
    req.on("data", (chunk: Buffer) => {
      bodyBytes += chunk.length
      sent += chunk.length
      if (bodyBytes > maxBody) {
        noteError(`${req.method} ${req.url}: request body over ${maxBody} bytes`)
        upstreamReq.destroy(new Error("request body too large"))
        req.destroy()
      }
    })
    req.pipe(upstreamReq)
  })
  server.maxConnections = options.maxConnections ?? 64
  server.requestTimeout = exchangeTimeout
  server.keepAliveTimeout = 5000

  let stopped: Promise<void> | undefined
  let lifetime: NodeJS.Timeout | undefined
  const stop = () => {
    if (stopped === undefined) {
      if (lifetime !== undefined) clearTimeout(lifetime)
      stopped = new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
        agent.destroy()
      })
    }
    return stopped
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") {
        void stop()
        reject(new Error("the counting proxy has no port"))
        return
      }
      lifetime = setTimeout(() => void stop(), options.maxLifetimeMs ?? 30 * 60_000)
      lifetime.unref()
      resolve({
        url: `http://127.0.0.1:${address.port}/`,
        counts: () => ({ requests, bytesSent: sent, bytesReceived: received }),
        byMethod: () => Object.fromEntries([...methods].map(([k, v]) => [k, { ...v }])),
        errors: () => errors,
        stop
      })
    })
  })
}

/** `url` on `server` rewritten to go through `proxy` (same path). */
export const via = (proxy: CountingProxy, url: string): string => {
  const u = new URL(url)
  return new URL(`${u.pathname}${u.search}`, proxy.url).href
}

export const diffMethods = (after: MethodCounts, before: MethodCounts): MethodCounts => {
  const out: Record<string, { requests: number; ms: number }> = {}
  for (const [k, v] of Object.entries(after)) {
    const b = before[k] ?? { requests: 0, ms: 0 }
    if (v.requests > b.requests) out[k] = { requests: v.requests - b.requests, ms: v.ms - b.ms }
  }
  return out
}

export const diff = (after: Counts, before: Counts): Counts => ({
  requests: after.requests - before.requests,
  bytesSent: after.bytesSent - before.bytesSent,
  bytesReceived: after.bytesReceived - before.bytesReceived
})
