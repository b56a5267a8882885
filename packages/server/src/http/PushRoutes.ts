/**
 * Where providers post push notifications. No token: the provider cannot send one. What makes a
 * notification believed is the channel's secret it echoes (Push.ts); everything else is answered
 * without waking anything.
 *
 * - POST /push/google: Google's headers (X-Goog-Channel-ID, X-Goog-Channel-Token,
 *   X-Goog-Resource-State), no body. 200 for any channel (an unknown one is one we stopped: Google
 *   retries failures, which would only bring it back), 401 for a wrong token.
 * - POST or GET /push/microsoft?validationToken=…: Graph's check before a subscription exists,
 *   answered with the token as text/plain within its 10 s.
 * - POST /push/microsoft: `{"value": [notification, …]}`, change and lifecycle notifications alike;
 *   202 at once (Graph wants an answer in 3 s), the polls run in the actors.
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Schema } from "effect"
import { Push } from "../push/Push.js"
import * as JsonBodies from "./JsonBodies.js"

/** Graph's validation tokens are short; anything longer is not one. */
const maxValidationToken = 1024

const GraphBody = Schema.Struct({
  value: Schema.Array(
    Schema.Struct({
      subscriptionId: Schema.String,
      clientState: Schema.optional(Schema.NullOr(Schema.String)),
      lifecycleEvent: Schema.optional(Schema.String)
    })
  )
})
const decodeGraphBody = Schema.decodeUnknownEither(GraphBody)

const plain = (text: string, status = 200) =>
  HttpServerResponse.text(text, {
    status,
    contentType: "text/plain; charset=utf-8",
    headers: { "x-content-type-options": "nosniff", "cache-control": "no-store" }
  })

const header = (request: HttpServerRequest.HttpServerRequest, name: string): string | undefined => {
  const v = request.headers[name]
  return typeof v === "string" ? v : undefined
}

const google = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const push = yield* Push
  const channelId = header(request, "x-goog-channel-id")
  if (channelId === undefined) return plain("X-Goog-Channel-ID is missing", 400)
  const received = yield* push.google({
    channelId,
    token: header(request, "x-goog-channel-token"),
    state: header(request, "x-goog-resource-state") ?? ""
  })
  return received === "refused" ? plain("the channel token does not match", 401) : plain("", 200)
})

const validation = (request: HttpServerRequest.HttpServerRequest) => {
  // URLSearchParams decodes it, as Graph asks (the token must come back URL-decoded).
  const token = new URL(request.url, "http://push").searchParams.get("validationToken")
  if (token === null) return undefined
  return token.length > maxValidationToken ? plain("validationToken is too long", 400) : plain(token)
}

const microsoft = Effect.gen(function* () {
  const request = yield* HttpServerRequest.HttpServerRequest
  const validated = validation(request)
  if (validated !== undefined) return validated
  if (request.method !== "POST") return plain("notifications are POSTed", 405)
  const push = yield* Push
  const declared = Number(request.headers["content-length"] ?? "0")
  if (declared > JsonBodies.maxBytes) return plain("the body is too large", 413)
  const text = yield* request.text.pipe(Effect.orElseSucceed(() => ""))
  if (text.length > JsonBodies.maxBytes) return plain("the body is too large", 413)
  if (JsonBodies.problemOf(text) !== undefined) return plain("the body is not JSON", 400)
  const body = decodeGraphBody(JSON.parse(text))
  if (body._tag === "Left") return plain("the body is not a Graph notification collection", 400)
  for (const n of body.right.value)
    yield* push.microsoft({
      subscriptionId: n.subscriptionId,
      clientState: n.clientState ?? undefined,
      lifecycleEvent: n.lifecycleEvent
    })
  return plain("", 202)
})

export const layer = HttpLayerRouter.use((router) =>
  Effect.gen(function* () {
    yield* router.add("POST", "/push/google", google)
    yield* router.add("POST", "/push/microsoft", microsoft)
    yield* router.add("GET", "/push/microsoft", microsoft)
  })
)
