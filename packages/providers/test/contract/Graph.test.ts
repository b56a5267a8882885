/**
 * The contract on the Graph provider, against the Graph fake (packages/providers/test/fakes:
 * a stateful FAKE of Graph's calendar API following its documented contract; no real Microsoft
 * Graph here). Each test gets a calendar of its own on a fresh fake, and a window that holds the
 * contract's events (November 2026); originals are put there as a person's Outlook would (no
 * origin): the master, then the person's edits of occurrences and deletions of others. There is no
 * malformed item: with `Prefer: outlook.timezone="UTC"` every time Graph gives is readable, and
 * what Graph itself refuses (a weekly pattern without days) cannot be on a calendar.
 */
import { Effect, Either, Layer } from "effect"
import { GraphCodec, GraphProvider } from "../../src/index.js"
import { wired } from "../graph/support.js"
import { contract } from "./ProviderContract.js"

const ZONE = "Europe/Berlin"
const WINDOW = { start: Date.parse("2026-06-01T00:00:00Z"), end: Date.parse("2027-06-01T00:00:00Z") }
let n = 0

contract("graph (fake)", {
  fresh: Effect.gen(function* () {
    const { fake, client } = yield* wired({ pageSize: 2 })
    const calendar = `AAMkCal-contract-${++n}`
    fake.addCalendar({ id: calendar, name: "contract", canEdit: true })
    return {
      provider: GraphProvider.make(
        client,
        { id: calendar, timeZone: ZONE, canEdit: true },
        { window: () => WINDOW }
      ),
      putOriginal: (resource) =>
        Effect.gen(function* () {
          const encoded = Either.getOrThrowWith(
            GraphCodec.encode(resource, { calendarZone: ZONE }),
            (e) => new Error(e.reason)
          )
          // The UID rides in Almanac's property as it would on an event that came from iCalendar
          // (the contract compares UIDs); a person's event carries no origin, and gets none.
          const master = fake.insertAsPerson(calendar, { ...encoded.master })
          const id = String(master.id)
          const occurrenceAt = (key: string) =>
            Effect.map(
              client.instances(calendar, id, {
                start: new Date(Date.parse(key) - 86_400_000),
                end: new Date(Date.parse(key) + 2 * 86_400_000)
              }),
              (all) =>
                all.find(
                  (i) =>
                    typeof i.json.originalStart === "string" &&
                    GraphCodec.originalStartKey(i.json.originalStart) === key
                )
            )
          for (const x of encoded.exceptions) {
            const o = yield* occurrenceAt(x.originalStart)
            if (o !== undefined) fake.edit(o.id, { ...x.body })
          }
          for (const key of encoded.cancelled) {
            const o = yield* occurrenceAt(key)
            if (o !== undefined) fake.remove(o.id)
          }
          return id
        })
    }
  }),
  layer: Layer.scope
})
