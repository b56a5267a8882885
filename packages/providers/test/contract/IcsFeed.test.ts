/**
 * The contract on the ICS feed provider, over a real HTTP feed server on loopback (node:http,
 * ETag and Last-Modified, 304s; see ../ics/FeedServer.ts). A feed is read-only, so the suite
 * asserts that every write is Rejected and lets the feed's publisher (the server) put events there
 * and take them away instead. The malformed item is a VEVENT whose DTSTART is no date.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { IcsFeedProvider } from "../../src/index.js"
import * as FeedServer from "../ics/FeedServer.js"
import { contract } from "./ProviderContract.js"

let n = 0

contract("ics feed", {
  fresh: Effect.gen(function* () {
    const feed = yield* Effect.acquireRelease(
      Effect.promise(() => FeedServer.start()),
      (f) => Effect.promise(() => f.close())
    )
    const provider = yield* IcsFeedProvider.make({ url: new URL(feed.feedUrl) })
    return {
      provider,
      putOriginal: (resource) => Effect.sync(() => feed.put(resource)),
      removeOriginal: (ref) => Effect.sync(() => feed.remove(ref)),
      putMalformed: Effect.sync(() => {
        const uid = `broken-${++n}@feed.test`
        feed.putRaw(
          uid,
          [
            "BEGIN:VEVENT",
            `UID:${uid}`,
            "DTSTAMP:20260101T000000Z",
            "DTSTART:tomorrow",
            "SUMMARY:broken",
            "END:VEVENT"
          ].join("\r\n")
        )
        return uid
      })
    }
  }),
  layer: Layer.merge(NodeHttpClient.layerUndici, Layer.scope)
})
