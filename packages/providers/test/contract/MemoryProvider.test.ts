/** The contract on the in-memory provider that core ships beside the port. */
import { MemoryProvider } from "@almanac/core"
import { Effect, Layer } from "effect"
import { contract } from "./ProviderContract.js"

let n = 0

contract("memory", {
  fresh: Effect.sync(() => {
    const calendar = MemoryProvider.make(`mem://contract-${++n}/`)
    let people = 0
    return {
      provider: calendar.provider(),
      putOriginal: (resource) => Effect.sync(() => calendar.put(`person-${++people}.ics`, resource)),
      putMalformed: Effect.sync(() => calendar.putMalformed("garbage.ics", "not an event"))
    }
  }),
  layer: Layer.empty
})
