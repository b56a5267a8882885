/**
 * A CalDAV server that can be made to fail on demand: a reverse proxy on loopback in front of a
 * real test server, which forwards, answers 500 to everything, answers 401 to everything (a
 * revoked password), or stops listening altogether (the server is down) and comes back on the
 * same port.
 */
import { createServer, request as httpRequest, type Server } from "node:http"
import type { AddressInfo } from "node:net"

export type Mode = "forward" | "error-500" | "unauthorized"

export interface FaultyServer {
  /** The proxy's origin, ending in "/". */
  readonly url: string
  readonly setMode: (mode: Mode) => void
  /** Closes the listening socket: connections are refused until `up`. */
  readonly down: () => Promise<void>
  readonly up: () => Promise<void>
  readonly close: () => Promise<void>
}

export const start = async (upstream: string): Promise<FaultyServer> => {
  const target = new URL(upstream)
  let mode: Mode = "forward"
  const make = (): Server =>
    createServer((req, res) => {
      if (mode === "error-500") {
        req.resume()
        res.writeHead(500, { "content-type": "text/plain" })
        res.end("Internal Server Error")
        return
      }
      if (mode === "unauthorized") {
        req.resume()
        res.writeHead(401, { "www-authenticate": 'Basic realm="test"' })
        res.end()
        return
      }
      const out = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host }
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      out.on("error", () => {
        res.writeHead(502)
        res.end()
      })
      req.pipe(out)
    })
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject)
      server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port))
    })
  let server = make()
  const port = await listen(server, 0)
  const shut = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return {
    url: `http://127.0.0.1:${port}/`,
    setMode: (m) => {
      mode = m
    },
    down: shut,
    up: async () => {
      server = make()
      await listen(server, port)
    },
    close: shut
  }
}
