/**
 * A reverse proxy on loopback that puts the real Radicale of the test run behind the layouts of
 * other widely deployed servers (docs/caldav-servers.md, "More behaviours of widely deployed
 * servers"), so that discovery meets them on a real CalDAV server:
 * - "product-path": the DAV tree lives under /remote.php/dav/ (Radicale is told so with
 *   X-Script-Name, as behind any reverse proxy); the origin and /.well-known/caldav answer 200
 *   with an HTML login page.
 * - "picky-root": everything is forwarded, but a PROPFIND of the root that asks for a property
 *   only collections or principals have (`sync-token`, `calendar-home-set`) fails as a whole with 500.
 * - "no-dav": a web site, HTML everywhere.
 * Every request is recorded (method, path, which of those properties the body asked for).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { answer, relay } from "../../../../scripts/test-servers/FaultProxy.js"

export type Layout = "product-path" | "picky-root" | "no-dav"

export interface Seen {
  readonly method: string
  readonly path: string
  readonly asksSyncToken: boolean
  readonly asksHomeSet: boolean
}

export interface LayoutProxy {
  readonly url: string
  readonly seen: ReadonlyArray<Seen>
  readonly close: () => Promise<void>
}

const PREFIX = "/remote.php/dav"

const loginPage = (res: ServerResponse) => {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" })
  res.end("<!DOCTYPE html><html><head><title>Log in</title></head><body><form>…</form></body></html>")
}

export const start = (layout: Layout, upstream: string): Promise<LayoutProxy> =>
  new Promise((resolve) => {
    const seen: Array<Seen> = []
    const up = new URL(upstream)
    const forward = (
      req: IncomingMessage,
      res: ServerResponse,
      body: Buffer,
      path: string,
      script?: string
    ) => {
      void relay(up, req, body, path, script === undefined ? {} : { "x-script-name": script }).then((r) =>
        answer(res, r)
      )
    }
    const server = createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const body = Buffer.concat(chunks)
        const path = req.url ?? "/"
        const text = body.toString("utf8")
        const asksSyncToken = text.includes("sync-token")
        const asksHomeSet = text.includes("calendar-home-set")
        seen.push({ method: req.method ?? "", path, asksSyncToken, asksHomeSet })
        switch (layout) {
          case "no-dav":
            return loginPage(res)
          case "picky-root":
            if (req.method === "PROPFIND" && path === "/" && (asksSyncToken || asksHomeSet)) {
              res.writeHead(500, { "content-type": "text/plain" })
              res.end("Internal Server Error")
              return
            }
            return forward(req, res, body, path)
          case "product-path":
            if (path === PREFIX || path.startsWith(`${PREFIX}/`)) {
              return forward(req, res, body, path.slice(PREFIX.length) || "/", PREFIX)
            }
            if (path === "/" || path.startsWith("/.well-known/")) return loginPage(res)
            res.writeHead(404, { "content-type": "text/html" })
            res.end("<html><body>Not found</body></html>")
            return
        }
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resolve({
        url: `http://127.0.0.1:${port}/`,
        seen,
        close: () => new Promise<void>((done) => server.close(() => done()))
      })
    })
  })
