/** The contract on CalDAV, against the real Xandikos and Radicale that the global setup starts. */
import { randomUUID } from "node:crypto"
import { CalDavClient } from "@almanac/caldav"
import type { EventModel } from "@almanac/core"
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Redacted } from "effect"
import { caldavServer } from "../../../../scripts/test-servers/context.js"
import { CalDavProvider, ICalCodec } from "../../src/index.js"
import { contract, type Subject } from "./ProviderContract.js"

// Servers check what they store, so "malformed" here is what a server takes and our codec does not:
// a time in a zone that exists nowhere, with no VTIMEZONE to say what it means.
const unreadable = (uid: string) =>
  [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Contract//Test//EN",
    "BEGIN:VEVENT",
    `UID:${uid}`,
    "DTSTAMP:20261101T000000Z",
    "DTSTART;TZID=Mars/Olympus_Mons:20261124T090000",
    "DTEND;TZID=Mars/Olympus_Mons:20261124T100000",
    "SUMMARY:on Mars",
    "END:VEVENT",
    "END:VCALENDAR",
    ""
  ].join("\r\n")

for (const name of ["xandikos", "radicale"] as const) {
  contract(`CalDAV on ${name}`, {
    fresh: Effect.gen(function* () {
      const server = caldavServer(name)
      const client = yield* CalDavClient.make({
        auth: { user: server.user, password: Redacted.make("test-password") }
      })
      const url = `${server.home}contract-${randomUUID()}/`
      yield* client.mkcalendar(url, { displayName: "contract" })
      return {
        provider: CalDavProvider.make(client, url),
        putOriginal: (resource: EventModel.EventResource) => {
          const href = `${url}${randomUUID()}.ics`
          return client.put(href, ICalCodec.serialize(resource), CalDavClient.Create).pipe(Effect.as(href))
        },
        putMalformed: Effect.suspend(() => {
          const href = `${url}${randomUUID()}.ics`
          return client.put(href, unreadable(randomUUID()), CalDavClient.Create).pipe(Effect.as(href))
        })
      } satisfies Subject
    }),
    layer: NodeHttpClient.layerUndici
  })
}
