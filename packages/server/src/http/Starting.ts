/**
 * The HTTP server listens (its port is bound, so a taken port fails the start at once) before the
 * request handler is attached, which happens only once every service is up. A request in between
 * used to wait unanswered. This server answers such requests itself: 503 with Retry-After, until
 * another request listener is attached, after which it stays silent and that listener answers.
 */
import { createServer, type Server } from "node:http"

export const whileStarting = (): Server => {
  const server = createServer()
  server.on("request", (_req, res) => {
    if (server.listenerCount("request") > 1) return
    res.writeHead(503, { "content-type": "application/json", "retry-after": "1", connection: "close" })
    res.end(JSON.stringify({ message: "Almanac is starting; try again in a moment", _tag: "Starting" }))
  })
  return server
}
