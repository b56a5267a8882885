/**
 * A request that arrives after the port is bound but before the server's handler is attached is
 * answered 503 with Retry-After (it used to hang); once a handler is attached, that one answers.
 */
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import * as Starting from "../src/http/Starting.js"

describe("the server while starting", () => {
  it("answers 503 with Retry-After until the handler is attached, then stays silent", async () => {
    const server = Starting.whileStarting()
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/health`
    try {
      const early = await fetch(url, { signal: AbortSignal.timeout(10_000) })
      expect(early.status).toBe(503)
      expect(early.headers.get("retry-after")).toBe("1")
      expect(await early.json()).toMatchObject({ _tag: "Starting" })
      server.on("request", (_req, res) => {
        res.writeHead(200, { "content-type": "text/plain" })
        res.end("ready")
      })
      const later = await fetch(url, { signal: AbortSignal.timeout(10_000) })
      expect(later.status).toBe(200)
      expect(await later.text()).toBe("ready")
    } finally {
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    }
  })
})
