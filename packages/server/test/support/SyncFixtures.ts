/**
 * What the sync API tests set up around a running TestServer: fresh calendars on the real test
 * CalDAV servers and an account holding them (connected through the accounts API), events put
 * straight onto the servers as another client would, and a wait with a deadline for the engine.
 */
import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import { EventModel } from "@almanac/core"
import { ICalCodec } from "@almanac/providers"
import type { HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Option, Redacted } from "effect"
import { caldavServer, type TestServerInfo } from "../../../../scripts/test-servers/context.js"
import * as Calendars from "./Calendars.js"
import type { TestServer } from "./TestServer.js"

export interface Calendar {
  /** Almanac's id of the calendar. */
  readonly id: string
  readonly url: string
  readonly client: CalDavClient.CalDavClientShape
}

const password = Redacted.make("test-password")

/**
 * The HTTP client the fixtures' CalDAV clients use: provide it around a whole test, since a
 * client outlives the call that made it.
 */
export const httpClient = NodeHttpClient.layerUndici

const clientFor = (info: TestServerInfo) => CalDavClient.make({ auth: { user: info.user, password } })

/**
 * `count` fresh calendars on one test CalDAV server, each connected through the accounts API as
 * an account of the user holding `token`.
 */
export const account = (
  server: Pick<TestServer, "request">,
  token: string,
  name: TestServerInfo["name"],
  count: number
): Effect.Effect<ReadonlyArray<Calendar>, never, HttpClient.HttpClient> =>
  Effect.gen(function* () {
    const info = caldavServer(name)
    const client = yield* clientFor(info)
    const urls: Array<string> = []
    for (let i = 0; i < count; i++) {
      const url = `${info.home}api-${randomUUID()}/`
      yield* client.mkcalendar(url, { displayName: `calendar ${i}` })
      urls.push(url)
    }
    // Discovery that starts at a calendar's URL finds that calendar: one account per calendar.
    const path = (url: string) => new URL(url, info.url).pathname
    return yield* Effect.forEach(urls, (url) =>
      Effect.gen(function* () {
        const res = yield* Effect.promise(() =>
          server.request("POST", "/api/accounts/caldav", {
            token,
            body: { url, username: info.user, password: Redacted.value(password) }
          })
        )
        if (res.status !== 201)
          return yield* Effect.dieMessage(`connect: ${res.status} ${JSON.stringify(res.body)}`)
        const found = (res.body as { calendars: ReadonlyArray<{ id: string; url: string }> }).calendars
        const calendar = found.find((c) => path(c.url) === path(url))
        if (calendar === undefined) return yield* Effect.dieMessage(`discovery did not find ${url}`)
        return { id: calendar.id, url, client }
      })
    )
  }).pipe(Effect.orDie)

/** An hour-long event `days` from now, with a location (which private copies must not carry). */
export const event = (uid: string, summary: string, days = 2): EventModel.EventResource => {
  const at = new Date(Date.now() + days * 86_400_000)
  const start = EventModel.utc(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), 9)
  const end = EventModel.utc(at.getUTCFullYear(), at.getUTCMonth() + 1, at.getUTCDate(), 10)
  return EventModel.makeResource(
    EventModel.makeEvent({
      uid,
      start,
      end,
      summary: Option.some(summary),
      location: Option.some(`room of ${summary}`)
    })
  )
}

/** Puts an event onto a calendar as another client would; returns its href. */
export const put = (calendar: Calendar, resource: EventModel.EventResource) =>
  Effect.gen(function* () {
    const href = `${calendar.url}${randomUUID()}.ics`
    yield* calendar.client.put(href, ICalCodec.serialize(resource), { _tag: "Create" })
    return href
  }).pipe(Effect.orDie)

/** Puts raw iCalendar text (which may be broken on purpose) onto a calendar; returns its href. */
export const putRaw = (calendar: Calendar, text: string) =>
  Effect.gen(function* () {
    const href = `${calendar.url}${randomUUID()}.ics`
    yield* calendar.client.put(href, text, { _tag: "Create" })
    return href
  }).pipe(Effect.orDie)

export interface Stored {
  readonly href: string
  readonly etag: string
  readonly summary: Option.Option<string>
  readonly location: Option.Option<string>
  readonly resource: EventModel.EventResource
}

/** Every event a calendar holds, decoded, with the fields the sync tests look at. */
export const contents = (calendar: Calendar): Effect.Effect<ReadonlyArray<Stored>> =>
  Calendars.contents(calendar.client, calendar.url).pipe(
    Effect.map((items) =>
      items.map(({ href, etag, resource }) => ({
        href,
        etag,
        summary: Option.flatMap(resource.master, (m) => m.summary),
        location: Option.flatMap(resource.master, (m) => m.location),
        resource
      }))
    ),
    Effect.orDie
  )

/**
 * Asks `probe` again every 200 ms until `done` holds for its answer, for at most `seconds` (a
 * deadline for a hang, generous because a loaded 2-core machine is slow, not wrong).
 */
export const waitFor = <A>(
  what: string,
  probe: Effect.Effect<A>,
  done: (a: A) => boolean,
  seconds = 90
): Effect.Effect<A> =>
  Effect.gen(function* () {
    const deadline = Date.now() + seconds * 1000
    let last = yield* probe
    while (!done(last)) {
      if (Date.now() > deadline)
        return yield* Effect.dieMessage(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)}`)
      yield* Effect.sleep("200 millis")
      last = yield* probe
    }
    return last
  })
