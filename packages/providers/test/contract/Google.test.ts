/**
 * The contract on the Google provider, against the Google fake (packages/providers/test/fakes:
 * a stateful fake of Calendar API v3 following its documented contract; no real Google here).
 * Each test gets a calendar of its own on a fresh fake; originals are put there as a person's
 * client would (no Almanac marker). The malformed one is a series with an EXRULE: Google documents
 * EXRULE lines as allowed in `recurrence` (and so stores them), while Almanac does not sync them
 * (deprecated by RFC 5545; docs/providers.md A.7). An event Google itself would refuse (a start that
 * is no time, a zone it does not know) cannot be on a Google calendar, so it would test nothing.
 */
import { Effect, Either, Layer, Schema } from "effect"
import { GoogleCodec, GoogleProvider } from "../../src/index.js"
import { wired } from "../google/support.js"
import { contract } from "./ProviderContract.js"

const ZONE = "Europe/Berlin"
let n = 0

const plain = (event: GoogleCodec.Event): Record<string, unknown> => ({
  ...Schema.encodeSync(GoogleCodec.Event)(event)
})

contract("google (fake)", {
  fresh: Effect.gen(function* () {
    const { fake, client } = yield* wired({ pageSize: 2 })
    const calendar = `contract-${++n}@example.org`
    fake.addCalendar({ id: calendar, summary: "contract", timeZone: ZONE, accessRole: "owner" })
    let people = 0
    return {
      provider: GoogleProvider.make(client, { id: calendar, timeZone: ZONE, writable: true }),
      putOriginal: (resource) =>
        Effect.sync(() => {
          const masterId = GoogleCodec.eventIdFor(`a person's event ${++people} ${n}`)
          const encoded = Either.getOrThrowWith(
            GoogleCodec.encode(resource, { masterId, calendarZone: ZONE }),
            (e) => new Error(e.reason)
          )
          fake.insertAsPerson(calendar, plain(encoded.master))
          for (const e of encoded.exceptions) fake.insertAsPerson(calendar, plain(e))
          return masterId
        }),
      putMalformed: Effect.sync(() => {
        const id = GoogleCodec.eventIdFor(`broken ${n}`)
        fake.insertAsPerson(calendar, {
          id,
          summary: "daily, but not on Sundays",
          start: { dateTime: "2026-11-02T09:00:00", timeZone: ZONE },
          end: { dateTime: "2026-11-02T09:30:00", timeZone: ZONE },
          recurrence: ["RRULE:FREQ=DAILY;COUNT=20", "EXRULE:FREQ=WEEKLY;BYDAY=SU"]
        })
        return id
      })
    }
  }),
  layer: Layer.scope
})
