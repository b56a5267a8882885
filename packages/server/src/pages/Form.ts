/**
 * A posted HTML form (application/x-www-form-urlencoded), read once. Fields a browser leaves out
 * (an unticked checkbox) read as empty; passwords come out Redacted and untrimmed.
 */
import { HttpServerRequest, UrlParams } from "@effect/platform"
import { Effect, Option, Redacted } from "effect"

export interface Form {
  /** The first value of a field, trimmed; "" when absent. */
  readonly text: (name: string) => string
  /** Every value of a field (a multi-select), trimmed, empty ones left out. */
  readonly all: (name: string) => ReadonlyArray<string>
  readonly checked: (name: string) => boolean
  readonly secret: (name: string) => Redacted.Redacted<string>
}

export const fromParams = (params: UrlParams.UrlParams): Form => ({
  text: (name) => Option.getOrElse(UrlParams.getFirst(params, name), () => "").trim(),
  all: (name) =>
    UrlParams.getAll(params, name)
      .map((v) => v.trim())
      .filter((v) => v !== ""),
  checked: (name) => Option.isSome(UrlParams.getFirst(params, name)),
  secret: (name) => Redacted.make(Option.getOrElse(UrlParams.getFirst(params, name), () => ""))
})

export const read = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  Effect.map(request.urlParamsBody, fromParams)
)
