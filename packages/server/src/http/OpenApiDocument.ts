/**
 * What the generated OpenAPI document needs before people read it. Effect's JSON Schema output
 * gives every refinement a `title` made from its code (`maxLength(1024)`, `between(0, 3650)`,
 * `int`, `unknown`); docs viewers show those as if they were type names. Schemas are named by
 * their component key (an `identifier` annotation) and explained by `description`, so titles
 * inside schemas are removed; the document's own title (info.title) stays.
 */

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

// Keys whose value is data, not schema (an example's "title" is the example's), and keys whose
// object maps names to schemas (there, a property named "example" is a schema to clean).
const nameMaps = new Set(["properties", "patternProperties", "$defs", "definitions", "schemas"])
const dataKeys = new Set(["example", "examples", "default", "const", "enum"])

const withoutTitles = (value: Json, namesHere = false): Json => {
  if (Array.isArray(value)) return value.map((v) => withoutTitles(v))
  if (value === null || typeof value !== "object") return value
  return Object.fromEntries(
    Object.entries(value)
      // A title is a string; a property named "title" maps to a schema (an object).
      .filter(([key, v]) => !(key === "title" && typeof v === "string"))
      .map(([key, v]) => [
        key,
        !namesHere && dataKeys.has(key) ? v : withoutTitles(v, !namesHere && nameMaps.has(key))
      ])
  )
}

/** For `OpenApi.annotations({ transform })` on the API. */
export const transform = (spec: Record<string, unknown>): Record<string, unknown> => {
  const { info, ...rest } = spec
  const cleaned: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(rest)) cleaned[key] = withoutTitles(value as Json)
  return { info, ...cleaned }
}
