/**
 * Calendars on the real test servers, connected to a user of a running TestServer: made with
 * MKCALENDAR on the CalDAV server and recorded through the server's own account store (as the
 * accounts API does after discovery), plus a direct client for checking what the API wrote.
 */
import { randomUUID } from "node:crypto"
import { createServer } from "node:net"
import { CalDavClient } from "@almanac/caldav"
import { ICalCodec } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"
import { Accounts } from "../../src/store/Accounts.js"
import * as TestServer from "./TestServer.js"

export interface CalDavServer {
  readonly name: string
  readonly url: string
  readonly home: string
  readonly user: string
}

export interface Connected {
  readonly accountId: string
  readonly calendars: ReadonlyArray<{ readonly id: string; readonly url: string; readonly name: string }>
  /** Speaks to the CalDAV server directly, with a password it accepts. */
  readonly direct: CalDavClient.CalDavClientShape
}

export const connect = (
  server: TestServer.TestServer,
  userId: string,
  caldav: CalDavServer,
  names: ReadonlyArray<string>,
  options: { readonly accountPassword?: string; readonly directPassword?: string } = {}
): Effect.Effect<Connected, unknown, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const direct = yield* CalDavClient.make({
      auth: { user: caldav.user, password: Redacted.make(options.directPassword ?? "test-password") },
      timeout: "10 seconds"
    })
    const made = yield* Effect.forEach(names, (name) =>
      Effect.gen(function* () {
        const url = `${caldav.home}${name.toLowerCase()}-${randomUUID()}/`
        yield* direct.mkcalendar(url, { displayName: name })
        return { url, displayName: Option.some(name), color: Option.none() }
      })
    )
    const accountId = randomUUID()
    const saved = yield* TestServer.within(
      server,
      Effect.gen(function* () {
        const accounts = yield* Accounts
        yield* accounts.insert(
          {
            id: accountId,
            userId,
            kind: "caldav",
            url: caldav.url,
            username: caldav.user,
            displayName: Option.some(`${caldav.name} of ${userId}`)
          },
          Redacted.make(options.accountPassword ?? "test-password")
        )
        return yield* accounts.saveCalendars(accountId, made)
      })
    )
    const calendars = made.map((m) => {
      const info = saved.find((s) => s.url === m.url)
      if (info === undefined) throw new Error(`calendar ${m.url} was not saved`)
      return { id: info.id, url: m.url, name: Option.getOrElse(m.displayName, () => "") }
    })
    return { accountId, calendars, direct }
  })

export const calendar = (text: ReadonlyArray<string>): string =>
  ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Almanac tests//EN", ...text, "END:VCALENDAR", ""].join("\r\n")

/** A VEVENT's lines around the given properties, with UID and DTSTAMP. */
export const vevent = (uid: string, lines: ReadonlyArray<string>): ReadonlyArray<string> => [
  "BEGIN:VEVENT",
  `UID:${uid}`,
  "DTSTAMP:20260101T000000Z",
  ...lines,
  "END:VEVENT"
]

/** Puts iCalendar text as a new item of the calendar; returns its href. */
export const put = (
  direct: CalDavClient.CalDavClientShape,
  calendarUrl: string,
  name: string,
  text: string
) =>
  Effect.map(
    direct.put(`${calendarUrl}${name}.ics`, text, CalDavClient.Create),
    () => `${calendarUrl}${name}.ics`
  )

/** Every item of the calendar, fetched and decoded: what is really on the server. */
export const contents = (direct: CalDavClient.CalDavClientShape, calendarUrl: string) =>
  Effect.gen(function* () {
    const listing = yield* direct.listEtags(calendarUrl)
    if (listing.length === 0) return []
    const got = yield* direct.multiget(
      calendarUrl,
      listing.map((i) => i.href)
    )
    return yield* Effect.forEach(got.found, (item) =>
      Effect.map(ICalCodec.parse(item.data, { href: item.href }), (resource) => ({ ...item, resource }))
    )
  })

/** A loopback port nothing listens on: a calendar server that cannot be reached. */
export const closedPort: Effect.Effect<number> = Effect.promise(
  () =>
    new Promise<number>((resolve, reject) => {
      const srv = createServer()
      srv.on("error", reject)
      srv.listen(0, "127.0.0.1", () => {
        const address = srv.address()
        srv.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
      })
    })
)
