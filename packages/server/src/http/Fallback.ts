/**
 * What the server answers where nothing else does: a favicon request (every browser asks for one)
 * gets an empty answer it may keep for a week, and any other unknown path a plain 404. Without
 * these, the router fails with RouteNotFound and the request log prints that as an error with a
 * trace, once for every page a browser opens.
 */
import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

export const layer = HttpLayerRouter.addAll([
  HttpLayerRouter.route(
    "GET",
    "/favicon.ico",
    Effect.succeed(HttpServerResponse.empty({ status: 204, headers: { "cache-control": "max-age=604800" } }))
  ),
  HttpLayerRouter.route("*", "*", Effect.succeed(HttpServerResponse.text("Not found\n", { status: 404 })))
])
