/**
 * Request bodies refuse members they do not know: a misspelt `markPrivat` would otherwise be
 * dropped without a word and the default used, which for a privacy flag is the wrong way round.
 * The 400 names the member ("is unexpected").
 */
import type { Schema } from "effect"

export const strict = <A, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, I, R> =>
  schema.annotations({ parseOptions: { onExcessProperty: "error" } })
