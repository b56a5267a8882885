/**
 * The API under bad bodies: each gets a 4xx that says what to fix, and nothing is written.
 * Malformed JSON, a body nested 100,000 deep (once a 500 with an empty body: the stack overflowed
 * while its decode error was formatted), a misspelt member (once accepted, the default used), a
 * wrong type, a body over the size limit; and a good body still reaches its handler.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TestServer from "./support/TestServer.js"

describe("API request bodies", () => {
  it.scopedLive("bad bodies are 4xx that say what to fix, and write nothing", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const ann = yield* Effect.promise(() => server.createUser("Ann"))
      const send = (path: string, body: string, method = "POST") =>
        Effect.promise(async () => {
          const res = await fetch(`${server.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${ann.token}`, "content-type": "application/json" },
            body
          })
          const text = await res.text()
          return {
            status: res.status,
            text,
            json: (text === "" ? {} : JSON.parse(text)) as { message?: string }
          }
        })
      const relationships = "/api/relationships"

      const malformed = yield* send(relationships, "{not json")
      expect(malformed.status).toBe(400)
      expect(malformed.json.message).toMatch(/^the body is not JSON \(.+\); send a JSON object/)

      const deep = yield* send(relationships, `${"[".repeat(100_000)}${"]".repeat(100_000)}`)
      expect(deep.status).toBe(400)
      expect(deep.json.message).toContain("more than 32 deep")

      const misspelt = yield* send(
        relationships,
        JSON.stringify({ sourceCalendarId: "a", targetCalendarId: "b", markPrivat: true })
      )
      expect(misspelt.status).toBe(400)
      expect(misspelt.text).toContain("markPrivat")
      expect(misspelt.text).toContain("is unexpected")

      const wrongType = yield* send(
        relationships,
        JSON.stringify({ sourceCalendarId: 1, targetCalendarId: "b" })
      )
      expect(wrongType.status).toBe(400)
      expect(wrongType.text).toContain("sourceCalendarId")

      const huge = yield* send(
        relationships,
        JSON.stringify({ sourceCalendarId: "x".repeat(2 * 1024 * 1024) })
      )
      expect(huge.status).toBe(413)
      expect(huge.json.message).toContain("at most 1048576")

      // A misspelt member on an optional body too.
      const google = yield* send("/api/accounts/google", JSON.stringify({ nam: "Work" }))
      expect(google.status).toBe(400)

      // A good body still reaches its handler (the middleware read it first): here a 404 for
      // calendars that do not exist, in words.
      const good = yield* send(
        relationships,
        JSON.stringify({ sourceCalendarId: "a", targetCalendarId: "b" })
      )
      expect(good.status).toBe(404)
      expect(good.json.message).toContain("no calendar a")

      const listed = yield* Effect.promise(() => server.request("GET", relationships, { token: ann.token }))
      expect(listed.body).toEqual([])
    })
  )
})
