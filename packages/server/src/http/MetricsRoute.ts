/**
 * GET /metrics: Prometheus scrapes it. It needs no token: it holds counts by kind, outcome, method
 * and state, never a calendar, account or user, and the server listens on loopback unless told
 * otherwise. Where the server is reachable from other machines, the proxy in front decides who
 * may scrape (SECURITY.md).
 */
import { HttpLayerRouter, HttpMiddleware, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as MetricsExport from "../MetricsExport.js"
import { version } from "./handlers/SystemHandlers.js"

export const layer = HttpLayerRouter.use((router) =>
  Effect.gen(function* () {
    const exported = yield* MetricsExport.MetricsExport
    yield* router.add(
      "GET",
      "/metrics",
      // A scrape every 15 s would otherwise be a fifth of the log.
      HttpMiddleware.withLoggerDisabled(
        Effect.map(exported.scrape, (text) =>
          HttpServerResponse.text(text, {
            contentType: MetricsExport.contentType,
            headers: { "cache-control": "no-store" }
          })
        )
      )
    )
  })
).pipe(Layer.provide(MetricsExport.layer({ serviceVersion: version })))
