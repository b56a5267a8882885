/**
 * The API's JSON request bodies, checked before any handler decodes them, so that every bad body
 * gets a 4xx that says what to fix (the framework answers a JSON syntax error with an empty 400,
 * and a 100,000-deep body overflowed the stack while its decode error was being formatted):
 * at most `maxBytes`, parseable, nested at most `maxDepth` deep. The body read here is the one
 * the handler reads (the request caches its text).
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

/** Larger than any request the API takes (a booking's description is at most 10,000 characters). */
export const maxBytes = 1024 * 1024
export const maxDepth = 32

const refuse = (status: number, message: string, problems: ReadonlyArray<string> = []) =>
  HttpServerResponse.unsafeJson(
    {
      message,
      ...(problems.length > 0 ? { problems } : {}),
      _tag: status === 413 ? "PayloadTooLarge" : "BadRequest"
    },
    { status }
  )

/** How deep arrays and objects nest, strings skipped; stops counting past `limit`. */
export const depthOf = (text: string, limit: number): number => {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      depth++
      if (depth > deepest) deepest = depth
      if (deepest > limit) return deepest
    } else if (c === 93 || c === 125) depth--
  }
  return deepest
}

/** Why a body is not one the API can take, or undefined. */
export const problemOf = (text: string): string | undefined => {
  if (depthOf(text, maxDepth) > maxDepth)
    return `the body nests arrays or objects more than ${maxDepth} deep; no request of this API does`
  try {
    JSON.parse(text)
    return undefined
  } catch (e) {
    return `the body is not JSON (${e instanceof Error ? e.message : String(e)}); send a JSON object with content-type application/json`
  }
}

const writes = new Set(["POST", "PUT", "PATCH", "DELETE"])

export const layer = HttpLayerRouter.middleware(
  (app) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!writes.has(request.method) || !request.url.startsWith("/api/")) return yield* app
      const declared = Number(request.headers["content-length"] ?? "0")
      if (declared > maxBytes)
        return refuse(413, `the body is ${declared} bytes; the API takes at most ${maxBytes}`)
      const type = request.headers["content-type"] ?? ""
      if (!/json/i.test(type)) return yield* app
      const text = yield* request.text.pipe(Effect.orElseSucceed(() => undefined))
      if (text === undefined) return refuse(400, "the body could not be read")
      if (text.length > maxBytes)
        return refuse(413, `the body is larger than the ${maxBytes} bytes the API takes`)
      // An empty body is the handler's to judge (some endpoints take none).
      if (text.trim() === "") return yield* app
      const problem = problemOf(text)
      return problem === undefined ? yield* app : refuse(400, problem, [problem])
    }),
  { global: true }
)
