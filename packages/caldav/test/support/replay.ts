/**
 * A small node:http server that answers like iCloud, from the fixtures in packages/caldav/test/fixtures/icloud
 * (their origins are listed in SOURCES.md there).
 *
 * Host names: the client is given URLs on `caldav.icloud.test` (the front door),
 * `p180-caldav.icloud.test` / `p62-caldav.icloud.test` (partitions, same registrable domain) and
 * `elsewhere.test` (another domain), and `alice.duckdns.org` / `mallory.duckdns.org` (two owners
 * under one public suffix of the list's private section). All of them resolve to 127.0.0.1 through the custom `lookup`
 * of the HTTP agent below, so the client performs real DNS-free connections while the URL, the
 * Host header and the credential decision all see the real-looking names. The server routes on the
 * Host header, which is what a name-based virtual host does.
 */
import { readdirSync, readFileSync } from "node:fs"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo, LookupFunction } from "node:net"
import { NodeHttpClient } from "@effect/platform-node"
import * as Layer from "effect/Layer"

export const fixturesDir = new URL("../fixtures/icloud/", import.meta.url)

export const fixture = (name: string): string => readFileSync(new URL(name, fixturesDir), "utf8")

export const fixtureNames = (): ReadonlyArray<string> => readdirSync(fixturesDir).sort()

export const USER = "alice@example.com"
export const PASSWORD = "abcd-efgh-ijkl-mnop"
const expectedAuth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`

export interface Seen {
  readonly host: string
  readonly method: string
  readonly path: string
  readonly authorization: string | undefined
  readonly depth: string | undefined
  readonly ifMatch: string | undefined
  readonly ifNoneMatch: string | undefined
  readonly body: string
}

export interface Replay {
  readonly port: number
  readonly seen: Array<Seen>
  /** URL on one of the fake host names, with the server's port. */
  readonly url: (host: string, path: string) => string
}

const HOME = "/123456789/calendars/"
const ETAG_CALENDAR = "/redacted-account-id/calendars/redacted-calendar-id/"
const SYNC_CALENDAR = "/17149682/calendars/testcalendar-f96b3bf0-09e1-4f3d-b891-3a25c99a2894/"
const QUERY_CALENDAR = "/17149682/calendars/testcalendar-84439d0b-ce46-4416-b978-7b4009122c64/"
const EMPTY_CALENDAR = "/17149682/calendars/testcalendar-485d002e-31b9-4147-a334-1d71503a4e2c/"

const multistatus = (res: ServerResponse, body: string) => {
  res.writeHead(207, { "content-type": "text/xml; charset=utf-8" })
  res.end(body)
}

/** The .http fixture holds a raw response: status line, headers, blank line, body. */
export const rawHttpFixture = (
  name: string
): { status: number; headers: Record<string, string>; body: string } => {
  const text = fixture(name)
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n")
  const [head = "", ...rest] = text.split("\n\n")
  const [statusLine = "", ...headerLines] = head.split("\n")
  const headers: Record<string, string> = {}
  for (const l of headerLines) {
    const i = l.indexOf(":")
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: rest.join("\n\n") }
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const icsBody = (uid: string) =>
  `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//replay//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z\r\nSUMMARY:${uid}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`

export const startReplay = (): Promise<Replay & { readonly close: () => Promise<void> }> =>
  new Promise((resolve) => {
    const seen: Array<Seen> = []
    let port = 0
    const url = (host: string, path: string) => `http://${host}:${port}${path}`

    const handle = async (req: IncomingMessage, res: ServerResponse) => {
      const body = await readBody(req)
      const host = (req.headers.host ?? "").replace(/:\d+$/, "")
      const path = req.url ?? "/"
      const method = req.method ?? "GET"
      seen.push({
        host,
        method,
        path,
        authorization: req.headers.authorization,
        depth: req.headers.depth as string | undefined,
        ifMatch: req.headers["if-match"],
        ifNoneMatch: req.headers["if-none-match"],
        body
      })

      // Public corners first: they answer without credentials.
      // mallory.duckdns.org shares only a public suffix (duckdns.org is in the list's private
      // section) with alice.duckdns.org: another owner, who must never see Alice's password
      if (host === "elsewhere.test" || host === "mallory.duckdns.org") {
        if (req.headers.authorization !== undefined) {
          res.writeHead(400)
          res.end("credentials leaked to another domain")
          return
        }
        res.writeHead(401, { "www-authenticate": 'Basic realm="elsewhere"' })
        res.end()
        return
      }
      if (req.headers.authorization !== expectedAuth) {
        res.writeHead(401, {
          "www-authenticate": 'Basic realm="p62-caldav.icloud.com"',
          "content-type": "text/plain"
        })
        res.end("Unauthorized")
        return
      }

      if (host === "caldav.icloud.test" || host === "caldav2.icloud.test" || host === "caldav3.icloud.test") {
        // caldav2 offers no /.well-known/caldav, and caldav3's points to another domain: either way
        // the client must fall back to the URL it was given
        if (path === "/.well-known/caldav" && host === "caldav3.icloud.test") {
          res.writeHead(301, { location: url("elsewhere.test", "/.well-known/caldav") })
          res.end()
          return
        }
        if (path === "/.well-known/caldav" && host === "caldav.icloud.test") {
          res.writeHead(301, { location: "/" })
          res.end()
          return
        }
        if (method === "PROPFIND" && path === "/") {
          return multistatus(res, fixture("kashcal__caldav__icloud__01_current_user_principal.xml"))
        }
        if (method === "PROPFIND" && path === "/123456789/principal/") {
          return multistatus(
            res,
            fixture("kashcal__caldav__icloud__02_calendar_home_set.xml").replace(
              "https://p180-caldav.icloud.com:443/",
              url("p180-caldav.icloud.test", "/")
            )
          )
        }
        if (path.startsWith("/moved/")) {
          // like iCloud's front door sending a client to its partition
          res.writeHead(308, { location: url("p62-caldav.icloud.test", path.replace("/moved/", "/")) })
          res.end()
          return
        }
        if (path.startsWith("/away/")) {
          res.writeHead(307, { location: url("elsewhere.test", path) })
          res.end()
          return
        }
        if (path === "/loop/") {
          res.writeHead(302, { location: "/loop/" })
          res.end()
          return
        }
      }

      if (host === "alice.duckdns.org" && path.startsWith("/neighbour/")) {
        res.writeHead(307, { location: url("mallory.duckdns.org", path) })
        res.end()
        return
      }

      if (host === "p180-caldav.icloud.test" || host === "p62-caldav.icloud.test") {
        if (method === "PROPFIND" && path === HOME && req.headers.depth === "1") {
          return multistatus(res, fixture("kashcal__caldav__icloud__03_calendar_list.xml"))
        }
        if (method === "PROPFIND" && path === ETAG_CALENDAR && req.headers.depth === "1") {
          return multistatus(res, fixture("kashcal__caldav__icloud__04_propfind_etag_listing.xml"))
        }
        if (method === "PROPFIND" && path === SYNC_CALENDAR && req.headers.depth === "0") {
          return multistatus(
            res,
            `<multistatus xmlns="DAV:"><response xmlns="DAV:"><href>${SYNC_CALENDAR}</href><propstat><prop>` +
              `<getctag xmlns="http://calendarserver.org/ns/">HwoQEgwAADqWpb9lNQ</getctag><sync-token>HwoQEgwAAAh4</sync-token>` +
              `</prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><getctag xmlns="http://calendarserver.org/ns/"/>` +
              `</prop><status>HTTP/1.1 404 Not Found</status></propstat></response></multistatus>`
          )
        }
        if (method === "REPORT" && path === SYNC_CALENDAR) {
          if (body.includes("<d:sync-token></d:sync-token>")) {
            return multistatus(res, fixture("python-caldav__test_caldav_unit_L1107__sync-collection.xml"))
          }
          // Xandikos answers an unknown token with a bare 500; iCloud's behaviour is undocumented.
          res.writeHead(500, { "content-type": "text/plain" })
          res.end("Internal Server Error")
          return
        }
        if (method === "REPORT" && path === QUERY_CALENDAR) {
          return multistatus(
            res,
            fixture("python-caldav__test_caldav_unit_L962__calendar-query-with-data.xml")
          )
        }
        if (method === "REPORT" && path === EMPTY_CALENDAR) {
          return multistatus(res, fixture("python-caldav__test_caldav_unit_L758__calendar-query-empty.xml"))
        }
        if (path.startsWith("/paged/") && method === "REPORT") {
          // RFC 6578 §3.6 truncation: page one ends with a 507 on the collection itself.
          if (body.includes("<d:sync-token>page-2</d:sync-token>")) {
            return multistatus(
              res,
              `<D:multistatus xmlns:D="DAV:"><D:response><D:href>/paged/b.ics</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>` +
                `<D:response><D:href>/paged/c.ics</D:href><D:propstat><D:prop><D:getetag>"c1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>` +
                `<D:sync-token>final</D:sync-token></D:multistatus>`
            )
          }
          return multistatus(
            res,
            `<D:multistatus xmlns:D="DAV:"><D:sync-token>page-2</D:sync-token>` +
              `<D:response><D:href>/paged/a.ics</D:href><D:propstat><D:prop><D:getetag>"a1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>` +
              `<D:response><D:href>/paged/b.ics</D:href><D:propstat><D:prop><D:getetag>"b1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>` +
              `<D:response><D:href>/paged/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status>` +
              `<D:error><D:number-of-matches-within-limits/></D:error></D:response></D:multistatus>`
          )
        }
        if (path.startsWith("/split/")) {
          // A server whose multiget fails as a whole: only GET works here.
          if (method === "REPORT") {
            res.writeHead(500, { "content-type": "text/plain" })
            res.end("multiget exploded")
            return
          }
          if (method === "GET" && path !== "/split/missing.ics") {
            res.writeHead(200, { "content-type": "text/calendar", etag: `"${path}"` })
            res.end(icsBody(path))
            return
          }
          res.writeHead(404)
          res.end()
          return
        }
        if (path === "/noetag/event.ics" && method === "PUT") {
          res.writeHead(201)
          res.end()
          return
        }
        if (path === "/noetag/event.ics" && method === "PROPFIND") {
          return multistatus(
            res,
            `<A:multistatus xmlns:A="DAV:"><A:response><A:href>/noetag/event.ics</A:href><A:propstat><A:prop><A:getetag>"after-put"</A:getetag></A:prop><A:status>HTTP/1.1 200 OK</A:status></A:propstat></A:response></A:multistatus>`
          )
        }
        if (path === "/bad-request/") {
          const raw = rawHttpFixture("issue__org-caldav-151__400-bad-request-AppleHttpServer.http")
          res.writeHead(raw.status, {
            "content-type": raw.headers["content-type"] ?? "text/html",
            server: raw.headers.server ?? ""
          })
          res.end(raw.body)
          return
        }
        if (path === "/busy/429/") {
          res.writeHead(429, { "retry-after": "120" })
          res.end()
          return
        }
        if (path === "/busy/503-date/") {
          res.writeHead(503, { "retry-after": new Date(Date.now() + 90_000).toUTCString() })
          res.end()
          return
        }
        if (path === "/busy/503/") {
          res.writeHead(503)
          res.end()
          return
        }
        if (path === "/doctype/") {
          return multistatus(
            res,
            `<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol">]><multistatus xmlns="DAV:">&lol;</multistatus>`
          )
        }
        if (path === "/big/") {
          return multistatus(res, `<multistatus xmlns="DAV:">${"<response/>".repeat(20_000)}</multistatus>`)
        }
        if (path === "/silent/") {
          // never answers: the client's timeout must fire
          return
        }
      }
      res.writeHead(404, { "content-type": "text/plain" })
      res.end(`no route for ${method} ${host}${path}`)
    }

    const server: Server = createServer((req, res) => {
      handle(req, res).catch(() => {
        res.writeHead(500)
        res.end()
      })
    })
    server.listen(0, "127.0.0.1", () => {
      port = (server.address() as AddressInfo).port
      resolve({
        port,
        seen,
        url,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections()
            server.close(() => r())
          })
      })
    })
  })

/** Every *.test name, and the two duckdns.org neighbours, is this machine: see the module comment. */
const lookup: LookupFunction = (hostname, options, callback) => {
  const local =
    hostname.endsWith(".test") || hostname === "alice.duckdns.org" || hostname === "mallory.duckdns.org"
  const address = local ? "127.0.0.1" : hostname
  if (typeof options === "object" && options !== null && options.all === true) {
    ;(callback as unknown as (e: null, a: ReadonlyArray<{ address: string; family: number }>) => void)(null, [
      { address, family: 4 }
    ])
  } else {
    callback(null, address, 4)
  }
}

export const httpClientLayer = NodeHttpClient.layerWithoutAgent.pipe(
  Layer.provide(NodeHttpClient.makeAgentLayer({ lookup, keepAlive: false }))
)
