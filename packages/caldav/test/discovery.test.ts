/**
 * Discovery on layouts other servers have, met on the real Radicale behind LayoutProxy: a DAV
 * tree under a product path with HTML pages at the origin, a root that fails a PROPFIND asking for
 * too much, and a web site with no CalDAV at all.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { CalDavClient } from "../src/index.js"
import * as LayoutProxy from "./support/LayoutProxy.js"
import { caldavServers, unique } from "./support/servers.js"

const radicale = caldavServers().find((s) => s.name === "radicale")
if (radicale === undefined) throw new Error("the global setup did not start Radicale")

const proxy = (layout: LayoutProxy.Layout) =>
  Effect.acquireRelease(
    Effect.promise(() => LayoutProxy.start(layout, radicale.url)),
    (p) => Effect.promise(p.close)
  )

const client = CalDavClient.make({
  auth: { user: radicale.user, password: Redacted.make("not-checked-by-the-test-servers") },
  timeout: "10 seconds"
})

describe("discovery on other servers' layouts", () => {
  layer(NodeHttpClient.layer, { excludeTestServices: true })((it) => {
    it.scoped("finds a DAV tree under a product path when the origin answers HTML pages", () =>
      Effect.gen(function* () {
        const p = yield* proxy("product-path")
        const c = yield* client
        const name = unique("layout")
        const home = `${p.url}remote.php/dav/${radicale.user}/`
        yield* c.mkcalendar(`${home}${name}/`, { displayName: name })
        const mark = p.seen.length
        const found = yield* c.discover(p.url)
        expect(found.home).toBe(home)
        expect(found.calendars.map((k) => k.url)).toContain(`${home}${name}/`)
        // the login pages were asked and passed over, then the conventional path
        expect(p.seen.slice(mark, mark + 3).map((s) => s.path)).toEqual([
          "/.well-known/caldav",
          "/",
          "/remote.php/dav/"
        ])
      })
    )

    it.scoped("asks again with fewer properties when a whole PROPFIND fails", () =>
      Effect.gen(function* () {
        const p = yield* proxy("picky-root")
        const c = yield* client
        const found = yield* c.discover(p.url)
        expect(found.home).toBe(`${p.url}${radicale.user}/`)
        // the root was asked for what the entry step needs, failed (a 500, asked 3 times, as any
        // 500 is), and was asked again for less; it is never asked for sync-token, and the
        // calendars still carry theirs
        const root = p.seen.filter((s) => s.method === "PROPFIND" && s.path === "/")
        expect(root.map((s) => s.asksHomeSet)).toEqual([true, true, true, false])
        expect(root.some((s) => s.asksSyncToken)).toBe(false)
        expect(found.calendars.every((k) => Option.isSome(k.syncToken))).toBe(true)
      })
    )

    it.scoped("says what it tried when no CalDAV service answers", () =>
      Effect.gen(function* () {
        const p = yield* proxy("no-dav")
        const c = yield* client
        const err = yield* Effect.flip(c.discover(p.url))
        expect(err._tag).toBe("ProtocolError")
        expect(err.message).toContain("no CalDAV service found")
        for (const path of [".well-known/caldav", "remote.php/dav/", "dav.php/", "SOGo/dav/"]) {
          expect(err.message).toContain(`${p.url}${path} (an HTML page, not a CalDAV answer)`)
        }
      })
    )
  })
})
