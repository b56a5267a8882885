/**
 * The write phase learns how many writes a target server takes (WriteLimit): a server that
 * answers one write at a time is not queued with many, one that answers many at once gets more
 * than the old fixed 4. In-memory calendars whose writes take real time (25 ms a write in the
 * queue: well above a loaded machine's timer noise, which once made 4 ms writes look unqueued);
 * the assertions are on how many writes were in flight at once, not on how long anything took.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Calendars, connect, engineLayer, event, poll } from "./support/Harness.js"

const syncInto = (writeHost: string, writeLatency: (inFlight: number) => number, events: number) => {
  const calendars = new Calendars()
  const a = calendars.add("mem://a/")
  const b = calendars.add("mem://b/", { writeHost, writeLatency })
  for (let i = 0; i < events; i++) a.put(`e${i}.ics`, event(`meeting ${i}`))
  return Effect.gen(function* () {
    yield* connect({ a, b })
    const report = yield* poll("A")
    return { report, b }
  }).pipe(Effect.provide(engineLayer(calendars)))
}

describe("writes adapt to the target server", () => {
  it.live("a server that takes one write at a time: after probing, one or two in flight", () =>
    Effect.gen(function* () {
      // What each write found on the server when it arrived, itself included.
      const seen: Array<number> = []
      const { report, b } = yield* syncInto(
        "serial.test",
        (n) => {
          seen.push(n)
          return 25 * n
        },
        120
      )
      expect(report.created).toBe(120)
      expect(b.resources().length).toBe(120)
      // Slow start probes past what the server takes once or twice; a fixed 4 would queue all.
      const queued = seen.filter((n) => n >= 3).length
      expect(queued / seen.length).toBeLessThan(0.3)
      expect(b.peakInFlight).toBeLessThanOrEqual(4)
    })
  )

  it.live("a server that takes 16 at once: more than 4 in flight", () =>
    Effect.gen(function* () {
      const { report, b } = yield* syncInto("parallel.test", (n) => 20 * Math.max(1, n / 16), 300)
      expect(report.created).toBe(300)
      expect(b.peakInFlight).toBeGreaterThan(4)
    })
  )
})
