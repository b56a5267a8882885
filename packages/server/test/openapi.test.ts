/**
 * The OpenAPI document as the server serves it (/openapi.json), held to the rules a docs viewer
 * and `redocly lint` (recommended) apply: every operation has a summary, every tag a description,
 * a server to call, and no schema carries a title generated from a refinement's code. The health
 * check says what it answers and when it does not answer 200.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as OpenApiDocument from "../src/http/OpenApiDocument.js"
import * as TestServer from "./support/TestServer.js"

interface Operation {
  readonly summary?: string
  readonly description?: string
  readonly tags?: ReadonlyArray<string>
}
interface Document {
  readonly info: { readonly title: string }
  readonly servers?: ReadonlyArray<{ readonly url: string }>
  readonly tags: ReadonlyArray<{ readonly name: string; readonly description?: string }>
  readonly paths: Record<string, Record<string, Operation>>
}

/** Every `title` below `at`, with its JSON path, skipping maps whose keys are names (properties). */
const titles = (value: unknown, at: string, names = false): Array<string> => {
  if (Array.isArray(value)) return value.flatMap((v, i) => titles(v, `${at}/${i}`))
  if (value === null || typeof value !== "object") return []
  return Object.entries(value).flatMap(([key, v]) => [
    ...(!names && key === "title" && typeof v === "string" ? [`${at}: ${v}`] : []),
    ...titles(v, `${at}/${key}`, !names && key === "properties")
  ])
}

describe("the OpenAPI document", () => {
  it.live("gives every operation a summary and every tag a description, and leaks no generated titles", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const res = yield* Effect.promise(() => server.request("GET", "/openapi.json"))
      expect(res.status).toBe(200)
      const doc = res.body as Document & Record<string, unknown>

      const operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.entries(ops).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, op }))
      )
      expect(operations.length).toBeGreaterThan(25)
      expect(operations.filter(({ op }) => !op.summary).map((o) => o.at)).toEqual([])
      const used = new Set(operations.flatMap(({ op }) => op.tags ?? []))
      const declared = new Map(doc.tags.map((t) => [t.name, t.description]))
      expect([...used].filter((t) => !declared.has(t))).toEqual([])
      expect(doc.tags.filter((t) => !t.description).map((t) => t.name)).toEqual([])
      expect(doc.servers?.map((s) => s.url)).toEqual(["/"])

      const { info, ...rest } = doc
      expect(info.title).toBe("Almanac")
      expect(titles(rest, "#")).toEqual([])

      const health = doc.paths["/api/health"]?.get
      expect(health?.summary).toBeTruthy()
      expect(health?.description).toContain("no token")
      expect(health?.description).toContain("It is not 200 only when")
    }).pipe(Effect.scoped)
  )

  it("removes schema titles but keeps a property named title and titles in examples", () => {
    // A property named "examples" is a schema like any other, not example data.
    const spec = {
      info: { title: "Kept" },
      components: {
        schemas: {
          Event: {
            type: "object",
            title: "maxLength(1024)",
            properties: {
              title: { type: "string", title: "minLength(1)" },
              examples: { type: "integer", title: "int" }
            },
            examples: [{ title: "Dentist" }]
          }
        }
      }
    }
    expect(OpenApiDocument.transform(spec)).toEqual({
      info: { title: "Kept" },
      components: {
        schemas: {
          Event: {
            type: "object",
            properties: { title: { type: "string" }, examples: { type: "integer" } },
            examples: [{ title: "Dentist" }]
          }
        }
      }
    })
  })
})
