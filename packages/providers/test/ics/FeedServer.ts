/**
 * A real HTTP server (node:http, on loopback) publishing one iCalendar feed, as a calendar
 * publisher would: its events change when the test says, and it answers conditional GETs the way
 * RFC 9110 says (If-None-Match first; If-Modified-Since only without it; 304 with no body).
 * Other paths can be given handlers of their own (an HTML page, a redirect, a huge body).
 */
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { EventModel } from "@almanac/core"
import { ICalCodec } from "../../src/index.js"

export type Validators = "both" | "etag" | "last-modified" | "none"

export interface Options {
  readonly validators?: Validators
  /** Stamps DTSTAMP with the time of each request, as many generators do. */
  readonly stampEachRequest?: boolean
  readonly name?: string
}

export interface Request {
  readonly path: string
  readonly headers: IncomingMessage["headers"]
  readonly status: number
}

export interface FeedServer {
  readonly origin: string
  /** Where the feed is: `${origin}/feed.ics`. */
  readonly feedUrl: string
  /** Publishes an event (a series with its overrides); its UID. */
  readonly put: (resource: EventModel.EventResource) => string
  /** Publishes VEVENT text as given (broken on purpose, or without UID) under a key of the test's. */
  readonly putRaw: (key: string, vevents: string) => void
  readonly remove: (key: string) => void
  /** The feed's body as it is served now. */
  readonly body: () => string
  /** Every request answered, in order. */
  readonly requests: Array<Request>
  /** Answers `path` with a handler of the test's instead. */
  readonly route: (path: string, handler: (req: IncomingMessage, res: ServerResponse) => void) => void
  readonly close: () => Promise<void>
}

interface Entry {
  readonly events: ReadonlyArray<string>
  readonly timezones: ReadonlyMap<string, ReadonlyArray<string>>
}

/** VEVENT and VTIMEZONE blocks of a calendar object, as physical lines (folding kept). */
const blocksOf = (text: string): Entry => {
  const lines = text.split(/\r\n/)
  const events: Array<string> = []
  const timezones = new Map<string, ReadonlyArray<string>>()
  let current: Array<string> | undefined
  let kind = ""
  for (const line of lines) {
    if (current === undefined) {
      if (line === "BEGIN:VEVENT" || line === "BEGIN:VTIMEZONE") {
        current = [line]
        kind = line.slice(6)
      }
      continue
    }
    current.push(line)
    if (line === `END:${kind}`) {
      if (kind === "VEVENT") events.push(...current)
      else {
        const tzid = current.find((l) => l.startsWith("TZID:"))?.slice(5) ?? ""
        timezones.set(tzid, current)
      }
      current = undefined
    }
  }
  return { events, timezones }
}

const httpDate = (ms: number) => new Date(ms).toUTCString()

export const start = (options: Options = {}): Promise<FeedServer> => {
  const validators = options.validators ?? "both"
  const entries = new Map<string, Entry>()
  const routes = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>()
  const requests: Array<Request> = []
  // whole seconds, as HTTP dates have them; every change moves it on by at least one
  let modified = Math.floor(Date.now() / 1000) * 1000
  const touch = () => {
    modified = Math.max(Math.floor(Date.now() / 1000) * 1000, modified + 1000)
  }

  const render = (stamp: string): string => {
    const zones = new Map<string, ReadonlyArray<string>>()
    for (const e of entries.values()) for (const [tzid, block] of e.timezones) zones.set(tzid, block)
    const lines = [
      "BEGIN:VCALENDAR",
      "VERSION:2.0",
      "PRODID:-//Almanac tests//feed server//EN",
      `X-WR-CALNAME:${options.name ?? "Test feed"}`,
      ...[...zones.values()].flat(),
      ...[...entries.values()].flatMap((e) => e.events),
      "END:VCALENDAR"
    ]
    return `${lines.map((l) => (l.startsWith("DTSTAMP:") ? `DTSTAMP:${stamp}` : l)).join("\r\n")}\r\n`
  }
  const fixedStamp = "20260101T000000Z"
  const body = () =>
    render(
      options.stampEachRequest === true
        ? `${new Date().toISOString().replace(/[-:]|\.\d+/g, "")}`
        : fixedStamp
    )
  const etag = () => `"${createHash("sha256").update(render(fixedStamp)).digest("hex").slice(0, 16)}"`

  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/"
    res.on("finish", () => requests.push({ path, headers: req.headers, status: res.statusCode }))
    const custom = routes.get(path)
    if (custom !== undefined) return custom(req, res)
    if (path !== "/feed.ics") {
      res.writeHead(404, { "content-type": "text/plain" })
      return res.end("no such feed")
    }
    const headers: Record<string, string> = { "content-type": "text/calendar; charset=utf-8" }
    if (validators === "both" || validators === "etag") headers.etag = etag()
    if (validators === "both" || validators === "last-modified") headers["last-modified"] = httpDate(modified)
    const inm = req.headers["if-none-match"]
    const ims = req.headers["if-modified-since"]
    const notModified =
      inm !== undefined
        ? headers.etag !== undefined && inm.split(",").some((t) => t.trim() === headers.etag)
        : ims !== undefined &&
          headers["last-modified"] !== undefined &&
          !Number.isNaN(Date.parse(ims)) &&
          modified <= Date.parse(ims)
    if (notModified) {
      res.writeHead(304, headers)
      return res.end()
    }
    res.writeHead(200, headers)
    res.end(body())
  })

  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      const origin = `http://127.0.0.1:${port}`
      resolve({
        origin,
        feedUrl: `${origin}/feed.ics`,
        put: (resource) => {
          entries.set(resource.uid, blocksOf(ICalCodec.serialize(resource, { now: new Date(0) })))
          touch()
          return resource.uid
        },
        putRaw: (key, vevents) => {
          entries.set(key, { events: vevents.split(/\r\n|\n/), timezones: new Map() })
          touch()
        },
        remove: (key) => {
          entries.delete(key)
          touch()
        },
        body,
        requests,
        route: (path, handler) => {
          routes.set(path, handler)
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections()
            server.close(() => done())
          })
      })
    })
  })
}
