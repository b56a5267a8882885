/**
 * The log lines of the server and the CLI: on stderr (stdout is for what a command prints), one
 * `message` key however many parts a log call has, and annotations as their own keys, once each.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterEach, vi } from "vitest"
import * as Logging from "../src/Logging.js"

/** logfmt keys of a line, in order (values may be quoted with spaces inside). */
const keys = (line: string) =>
  [...line.matchAll(/(?:^| )([A-Za-z0-9_.]+)=(?:"(?:[^"\\]|\\.)*"|\S*)/g)].map((m) => m[1])

const captured = () => {
  const out = vi.spyOn(console, "log").mockImplementation(() => {})
  const err = vi.spyOn(console, "error").mockImplementation(() => {})
  return { out, err, lines: () => err.mock.calls.map((c) => String(c[0])) }
}

afterEach(() => {
  vi.restoreAllMocks()
})

const logged = Effect.logWarning("poll failed", "cal-1", { tag: "Unauthorized" }).pipe(
  Effect.annotateLogs({ calendar: "cal-1", outcome: "failed" }),
  Effect.annotateLogs({ calendar: "cal-1" })
)

describe("Logging", () => {
  it.effect("logfmt on stderr: one message key for a message in parts, each annotation once", () =>
    Effect.gen(function* () {
      const { out, lines } = captured()
      yield* logged.pipe(Effect.provide(Logging.layer({})))
      expect(out).not.toHaveBeenCalled()
      const [line = "", ...more] = lines()
      expect(more).toEqual([])
      const k = keys(line)
      expect(new Set(k).size).toBe(k.length)
      expect([...k].sort()).toEqual(["calendar", "fiber", "level", "message", "outcome", "timestamp"])
      expect(line).toContain('message="poll failed cal-1 {\\"tag\\":\\"Unauthorized\\"}"')
      expect(line).toContain("level=WARN")
    })
  )

  it.effect("JSON on stderr with ALMANAC_LOG_FORMAT=json: one document a line, the message one string", () =>
    Effect.gen(function* () {
      const { out, lines } = captured()
      yield* logged.pipe(Effect.provide(Logging.layer({ ALMANAC_LOG_FORMAT: "json" })))
      expect(out).not.toHaveBeenCalled()
      const parsed = lines().map((l) => JSON.parse(l) as { message: unknown; annotations: unknown })
      expect(parsed).toHaveLength(1)
      expect(parsed[0]?.message).toBe('poll failed cal-1 {"tag":"Unauthorized"}')
      expect(parsed[0]?.annotations).toEqual({ calendar: "cal-1", outcome: "failed" })
    })
  )

  it.effect("info and up by default", () =>
    Effect.gen(function* () {
      const { out, lines } = captured()
      yield* Effect.all([Effect.logDebug("detail"), Effect.logInfo("news")]).pipe(
        Effect.provide(Logging.layer({}))
      )
      expect(lines().map((l) => keys(l).length > 0 && /message=(\S+)/.exec(l)?.[1])).toEqual(["news"])
      expect(out).not.toHaveBeenCalled()
    })
  )

  it.effect("debug lines too with ALMANAC_LOG_LEVEL=debug", () =>
    Effect.gen(function* () {
      const { out, lines } = captured()
      yield* Effect.all([Effect.logDebug("detail"), Effect.logInfo("news")]).pipe(
        Effect.provide(Logging.layer({ ALMANAC_LOG_LEVEL: "debug" }))
      )
      expect(lines().map((l) => /message=(\S+)/.exec(l)?.[1])).toEqual(["detail", "news"])
      expect(out).not.toHaveBeenCalled()
    })
  )
})
