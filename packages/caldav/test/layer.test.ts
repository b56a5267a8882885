import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { CalDavClient, Discovery } from "../src/index.js"
import { caldavServers } from "./support/servers.js"

const [server] = caldavServers()
if (server === undefined) throw new Error("no CalDAV server provided")

describe("CalDavClient.layer, the way the CLI uses it", () => {
  layer(
    CalDavClient.layer({ auth: { user: server.user, password: Redacted.make("pw") } }).pipe(
      Layer.provide(NodeHttpClient.layer)
    )
  )((it) => {
    it.effect("serves the client from the context and results encode to plain JSON", () =>
      Effect.gen(function* () {
        const dav = yield* CalDavClient.CalDavClient
        const found = yield* dav.discover(server.url)
        expect(found.calendars.length).toBeGreaterThan(0)
        const json = yield* Schema.encode(Discovery.DiscoveryResult)(found)
        const first = json.calendars[0]
        // Option becomes value-or-null, which is what --json prints
        expect(first?.ctag).toEqual(Option.getOrNull(found.calendars[0]?.ctag ?? Option.none()))
        expect(typeof first?.ctag).toBe("string")
        expect(JSON.parse(JSON.stringify(json))).toEqual(json)
        const stats = yield* dav.stats
        expect(stats.requests).toBeGreaterThanOrEqual(3)
      })
    )
  })
})
