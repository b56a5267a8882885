/**
 * A small, fast CalDAV fake on loopback: one account whose home (`/home/`) holds `n` empty
 * calendars (`/home/cal-<i>/`) whose ctag and sync-token never change, so every poll is idle. It
 * answers discovery, PROPFIND Depth 0 and 1, sync-collection and multiget/calendar-query (nothing
 * there). It counts the calendars whose poll began (a Depth 0 PROPFIND on them) since `reset`, for
 * the scale bench (`scripts/bench-scale.ts`); with `delayMs` each calendar request is answered that
 * much later and logged with when it arrived and when it was answered, so a poll spans time and two
 * polls of one calendar at once show as overlapping requests (the multi-runner test).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export interface LoggedRequest {
  readonly calendar: number
  readonly method: string
  readonly depth: string
  /** Epoch millis: the request arrived (its body read), and its answer was sent. */
  readonly start: number
  readonly end: number
}

export interface IdleCalDav {
  /** The calendar home, ending in "/". */
  readonly url: string
  readonly log: () => ReadonlyArray<LoggedRequest>
  /** When each poll of a calendar began (a Depth 0 PROPFIND on it), in order. */
  readonly pollsOf: (calendar: number) => ReadonlyArray<number>
  /** Calendars whose poll began (a Depth 0 PROPFIND on them) since the last `reset`. */
  readonly polled: () => number
  /** Polls begun (Depth 0 PROPFINDs on a calendar) since the fake started, repeats included. */
  readonly polls: () => number
  readonly reset: () => void
  /** Every request answered, counted. */
  readonly requests: () => number
  /** Requests the fake did not know (method, path, depth). */
  readonly unknown: () => ReadonlyArray<string>
  readonly close: () => Promise<void>
}

const xmlHead = `<?xml version="1.0" encoding="utf-8"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">`
const ok = (props: string) =>
  `<d:propstat><d:prop>${props}</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>`
const calendarProps = (i: number) =>
  ok(
    `<d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>Calendar ${i}</d:displayname>` +
      `<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>` +
      `<d:supported-report-set><d:supported-report><d:report><d:sync-collection/></d:report></d:supported-report>` +
      `<d:supported-report><d:report><c:calendar-multiget/></d:report></d:supported-report></d:supported-report-set>` +
      `<cs:getctag>ctag-1</cs:getctag><d:sync-token>http://fake/sync/1</d:sync-token>` +
      `<d:current-user-privilege-set><d:privilege><d:all/></d:privilege></d:current-user-privilege-set>`
  )
const homeProps = ok(
  `<d:resourcetype><d:collection/></d:resourcetype><d:current-user-principal><d:href>/principal/</d:href></d:current-user-principal>` +
    `<c:calendar-home-set><d:href>/home/</d:href></c:calendar-home-set>`
)

/**
 * Starts the fake with `n` calendars. `delayMs` 0 (the bench) answers at once and logs nothing: a
 * log of every request of 100,000 calendars would be the fake's own memory problem.
 */
export const start = async (n: number, delayMs = 0): Promise<IdleCalDav> => {
  const log: Array<LoggedRequest> = []
  const unknown: Array<string> = []
  let polled = new Set<number>()
  let requests = 0
  let polls = 0
  const answer = (res: ServerResponse, body: string) => {
    res.writeHead(207, { "content-type": 'application/xml; charset="utf-8"', dav: "1, calendar-access" })
    res.end(`${xmlHead}${body}</d:multistatus>`)
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ""
    req.on("data", (d: Buffer) => {
      body += d.toString()
    })
    req.on("end", () => {
      requests++
      const path = (req.url ?? "/").split("?")[0] ?? "/"
      const depth = String(req.headers.depth ?? "0")
      const cal = /^\/home\/cal-(\d+)\/$/.exec(path)
      if (req.method === "OPTIONS") {
        res.writeHead(200, {
          dav: "1, 2, calendar-access",
          allow: "OPTIONS, PROPFIND, REPORT, GET, PUT, DELETE"
        })
        res.end()
        return
      }
      if (req.method === "PROPFIND" && cal === null) {
        let out = `<d:response><d:href>${path}</d:href>${homeProps}</d:response>`
        if (path === "/home/" && depth === "1")
          for (let i = 0; i < n; i++)
            out += `<d:response><d:href>/home/cal-${i}/</d:href>${calendarProps(i)}</d:response>`
        answer(res, out)
        return
      }
      if (cal !== null && (req.method === "PROPFIND" || req.method === "REPORT")) {
        const i = Number(cal[1])
        if (req.method === "PROPFIND" && depth === "0") {
          polled.add(i)
          polls++
        }
        const reply = () =>
          req.method === "PROPFIND"
            ? answer(res, `<d:response><d:href>${path}</d:href>${calendarProps(i)}</d:response>`)
            : // sync-collection: nothing changed (or nothing there); calendar-query/multiget: nothing there
              answer(
                res,
                body.includes("sync-collection") ? "<d:sync-token>http://fake/sync/1</d:sync-token>" : ""
              )
        if (delayMs <= 0) {
          reply()
          return
        }
        const begun = Date.now()
        setTimeout(() => {
          log.push({ calendar: i, method: req.method ?? "?", depth, start: begun, end: Date.now() })
          reply()
        }, delayMs)
        return
      }
      if (unknown.length < 20) unknown.push(`${req.method} ${path} depth ${depth}`)
      res.writeHead(404)
      res.end()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/home/`,
    log: () => log,
    pollsOf: (calendar) =>
      log
        .filter((r) => r.calendar === calendar && r.method === "PROPFIND" && r.depth === "0")
        .map((r) => r.start)
        .sort((a, b) => a - b),
    polled: () => polled.size,
    polls: () => polls,
    reset: () => {
      polled = new Set()
    },
    requests: () => requests,
    unknown: () => unknown,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections()
        server.close(() => r())
      })
  }
}

/**
 * Pairs of requests to one calendar whose times overlap: two polls of it at once. One actor's
 * requests to its calendar come one after another, so any overlap means two pollers.
 */
export const overlaps = (
  log: ReadonlyArray<LoggedRequest>
): ReadonlyArray<readonly [LoggedRequest, LoggedRequest]> => {
  const byCalendar = new Map<number, Array<LoggedRequest>>()
  for (const r of log) {
    const list = byCalendar.get(r.calendar) ?? []
    list.push(r)
    byCalendar.set(r.calendar, list)
  }
  const found: Array<readonly [LoggedRequest, LoggedRequest]> = []
  for (const list of byCalendar.values()) {
    const sorted = [...list].sort((a, b) => a.start - b.start)
    // The request that ends last among those begun so far: any later one starting before it ends overlaps it.
    let latest: LoggedRequest | undefined
    for (const next of sorted) {
      if (latest !== undefined && next.start < latest.end) found.push([latest, next])
      if (latest === undefined || next.end > latest.end) latest = next
    }
  }
  return found
}
