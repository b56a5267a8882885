/**
 * A reverse proxy on loopback that forwards to a real test server and, on a seeded random
 * schedule, breaks the exchange the ways networks and servers do:
 * - "reset-before-headers": the request reaches the server (a write lands), the answer is lost:
 *   the connection is reset before any header.
 * - "reset-mid-body": headers with the full Content-Length, half the body, then a reset.
 * - "truncated-body": the same, but the connection is closed cleanly (FIN) after half the body.
 * - "slow": the server's answer is held back `slowMillis` (longer than the client's timeout).
 * - "429" / "503": refused with `Retry-After` (seconds, from `retryAfterSeconds`); not forwarded.
 * - "500": refused; not forwarded.
 * - "duplicate-response": a 207 answer with its last `<response>` element twice (another answer is cut).
 * The schedule is a function of the seed and the order of requests only, so a run is repeatable
 * as far as the client's order of requests is.
 *
 * `relay` is the forwarding step, shared with LayoutProxy.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export const allFaults = [
  "reset-before-headers",
  "reset-mid-body",
  "truncated-body",
  "slow",
  "429",
  "503",
  "500",
  "duplicate-response"
] as const
export type Fault = (typeof allFaults)[number]

export interface Options {
  readonly seed: number
  /** Probability that a request meets a fault, 0 to 1. */
  readonly rate: number
  readonly faults?: ReadonlyArray<Fault> | undefined
  /** How long "slow" holds an answer back. Default 1500 ms. */
  readonly slowMillis?: number | undefined
  /** Retry-After values for 429/503, picked at random. Default [0, 1]. */
  readonly retryAfterSeconds?: ReadonlyArray<number> | undefined
}

export interface Injected {
  readonly method: string
  readonly path: string
  readonly fault: Fault
}

export interface FaultProxy {
  /** The proxy's origin, ending in "/". */
  readonly url: string
  /** Requests seen, faulty or not. */
  readonly requests: () => number
  readonly injected: ReadonlyArray<Injected>
  readonly setRate: (rate: number) => void
  /** The next requests meet these faults, in order, before the random schedule resumes. */
  readonly failNext: (...faults: ReadonlyArray<Fault>) => void
  readonly close: () => Promise<void>
}

export interface Relayed {
  readonly status: number
  readonly headers: Record<string, string | ReadonlyArray<string>>
  readonly body: Buffer
}

const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"])

/** Sends the request upstream and reads the whole answer. */
export const relay = (
  upstream: URL,
  req: IncomingMessage,
  body: Buffer,
  path: string,
  extraHeaders: Readonly<Record<string, string>> = {}
): Promise<Relayed> =>
  new Promise((resolve) => {
    const headers = {
      ...req.headers,
      ...extraHeaders,
      host: upstream.host,
      "content-length": String(body.length)
    }
    delete headers["transfer-encoding"]
    const out = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path, headers },
      (answer) => {
        const chunks: Array<Buffer> = []
        answer.on("data", (c: Buffer) => chunks.push(c))
        answer.on("end", () => {
          const kept: Record<string, string | ReadonlyArray<string>> = {}
          for (const [k, v] of Object.entries(answer.headers))
            if (v !== undefined && !hopByHop.has(k)) kept[k] = v
          resolve({ status: answer.statusCode ?? 502, headers: kept, body: Buffer.concat(chunks) })
        })
        answer.on("error", () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }))
      }
    )
    out.on("error", () => resolve({ status: 502, headers: {}, body: Buffer.alloc(0) }))
    out.end(body)
  })

/** Writes a relayed answer whole. */
export const answer = (res: ServerResponse, relayed: Relayed) => {
  res.writeHead(relayed.status, { ...relayed.headers, "content-length": String(relayed.body.length) })
  res.end(relayed.body)
}

/** mulberry32: small, seedable, good enough to spread faults. */
export const prng = (seed: number): (() => number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const responseElement = /<([A-Za-z_][\w.-]*:)?response\b[^>]*>[\s\S]*?<\/\1response>/g

/**
 * The body with its last `<response>` element repeated (the last, since the first of a Depth-1
 * listing is the collection itself, which clients skip anyway); undefined when it has none.
 */
export const duplicateLastResponse = (body: string): string | undefined => {
  const m = [...body.matchAll(responseElement)].at(-1)
  if (m === undefined) return undefined
  const end = m.index + m[0].length
  return `${body.slice(0, end)}${m[0]}${body.slice(end)}`
}

export const start = (upstream: string, options: Options): Promise<FaultProxy> =>
  new Promise((resolve) => {
    const up = new URL(upstream)
    const random = prng(options.seed)
    const faults = options.faults ?? allFaults
    const slowMillis = options.slowMillis ?? 1500
    const retryAfter = options.retryAfterSeconds ?? [0, 1]
    let rate = options.rate
    let requests = 0
    const injected: Array<Injected> = []
    const queued: Array<Fault> = []
    const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(random() * xs.length)] ?? (xs[0] as A)

    const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
      requests++
      const path = req.url ?? "/"
      // Both draws are made for every request, so that the schedule does not depend on the rate's outcome.
      const next = queued.shift()
      const hit = next !== undefined || random() < rate
      const fault = next ?? pick(faults)
      const record = () => injected.push({ method: req.method ?? "", path, fault })
      if (!hit) return answer(res, await relay(up, req, body, path))
      switch (fault) {
        case "429":
        case "503": {
          record()
          res.writeHead(Number(fault), { "retry-after": String(pick(retryAfter)), "content-length": "0" })
          return res.end()
        }
        case "500":
          record()
          res.writeHead(500, { "content-type": "text/plain", "content-length": "21" })
          return res.end("Internal Server Error")
        case "reset-before-headers":
          await relay(up, req, body, path)
          record()
          return req.socket.resetAndDestroy()
        case "reset-mid-body":
        case "truncated-body":
          return cut(req, res, fault, await relay(up, req, body, path))
        case "slow": {
          const relayed = await relay(up, req, body, path)
          record()
          await new Promise((r) => setTimeout(r, slowMillis))
          if (res.destroyed || res.writableEnded) return
          return answer(res, relayed)
        }
        case "duplicate-response": {
          const relayed = await relay(up, req, body, path)
          const doubled =
            relayed.status === 207 ? duplicateLastResponse(relayed.body.toString("utf8")) : undefined
          // Not a multistatus: cut the answer instead, so that the fault rate holds for every request.
          if (doubled === undefined) return cut(req, res, "reset-mid-body", relayed)
          record()
          return answer(res, { ...relayed, body: Buffer.from(doubled, "utf8") })
        }
      }
    }

    /** Headers with the full Content-Length, half the body (none of an empty one), then the connection ends. */
    const cut = (req: IncomingMessage, res: ServerResponse, fault: Fault, relayed: Relayed) => {
      injected.push({ method: req.method ?? "", path: req.url ?? "/", fault })
      // An empty answer is announced as 16 bytes, so that it too arrives short.
      const length = Math.max(relayed.body.length, 16)
      res.writeHead(relayed.status, { ...relayed.headers, "content-length": String(length) })
      res.flushHeaders()
      res.write(relayed.body.subarray(0, Math.floor(relayed.body.length / 2)), () => {
        if (fault === "reset-mid-body") req.socket.resetAndDestroy()
        else req.socket.end()
      })
    }

    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        handle(req, res, Buffer.concat(chunks)).catch(() => req.socket.destroy())
      })
      res.on("error", () => {})
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/`,
        requests: () => requests,
        injected,
        setRate: (r) => {
          rate = r
        },
        failNext: (...fs) => {
          queued.push(...fs)
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
