/**
 * /docs on the running server: every file the page references is served from here, compressed
 * when the client asks, under a CSP that names no other origin; the text we serve carries no URL
 * of another host beyond the known links and names listed below; and in Debian's headless Chromium
 * the page renders the API while requesting nothing from any other host and breaking no CSP rule.
 */
import { get as httpGet, type IncomingHttpHeaders } from "node:http"
import { brotliDecompressSync, gunzipSync } from "node:zlib"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { chromium } from "playwright-core"
import * as Browser from "./support/Browser.js"
import * as TestServer from "./support/TestServer.js"

/**
 * Hosts named in Swagger UI's script and styles that the page never loads from: XML/SVG
 * namespace names, specification and RFC links in its JSON Schema and URI code, error-message
 * links of React, Redux and highlight.js, the SPDX licence link it renders for a licence
 * identifier, sample values (example.com), the base URLs it resolves relative URLs against
 * (swagger.io, vladimirgorej.com), the social links its Markdown linkifier writes for #tags and
 * @mentions, and validator.swagger.io, the default validator that /docs turns off
 * (validatorUrl: null) and the CSP would block anyway.
 */
const knownLinks = new Set([
  "www.w3.org",
  "datatracker.ietf.org",
  "www.rfc-editor.org",
  "spec.openapis.org",
  "json-schema.org",
  "github.com",
  "reactjs.org",
  "redux.js.org",
  "fb.me",
  "spdx.org",
  "example.com",
  "swagger.io",
  "vladimirgorej.com",
  "twitter.com",
  "instagram.com",
  "www.facebook.com",
  "www.tiktok.com",
  "soundcloud.com",
  "validator.swagger.io"
])

interface Fetched {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
}

/** A GET through node:http, which (unlike fetch) leaves the body as it was sent. */
const get = (url: string, acceptEncoding: string): Effect.Effect<Fetched> =>
  Effect.async((resume) => {
    const req = httpGet(url, { headers: { "accept-encoding": acceptEncoding } }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        const raw = Buffer.concat(chunks)
        const encoding = res.headers["content-encoding"]
        const body =
          encoding === "br" ? brotliDecompressSync(raw) : encoding === "gzip" ? gunzipSync(raw) : raw
        resume(
          Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, text: body.toString("utf8") })
        )
      })
    })
    req.on("error", (e) => resume(Effect.die(e)))
  })

/** Hosts of absolute URLs (with a scheme, or protocol-relative in an attribute or CSS url()). */
const hostsIn = (text: string): Set<string> => {
  const hosts = new Set<string>()
  for (const m of text.matchAll(/https?:\/\/([a-zA-Z0-9.-]+\.[a-zA-Z]{2,})/g)) if (m[1]) hosts.add(m[1])
  for (const m of text.matchAll(/(?:src|href)\s*=\s*["']\/\/([^/"']+)|url\(\s*["']?\/\/([^/"')]+)/g)) {
    const host = m[1] ?? m[2]
    if (host) hosts.add(host)
  }
  return hosts
}

const referenced = (html: string): Array<string> =>
  [...html.matchAll(/(?:src|href)="([^"]+)"/g)].flatMap((m) => (m[1] === undefined ? [] : [m[1]]))

describe("/docs", () => {
  it.live("serves the page and every file it references from here, compressed, with a strict CSP", () =>
    Effect.gen(function* () {
      const server = yield* TestServer.start()
      const page = yield* get(`${server.url}/docs`, "gzip, deflate, br")
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(["br", "gzip"]).toContain(page.headers["content-encoding"])
      expect(page.headers.vary).toBe("accept-encoding")
      const csp = String(page.headers["content-security-policy"])
      expect(csp).toContain("default-src 'none'")
      expect(csp).toContain("script-src 'self';")
      expect(csp).toContain("connect-src 'self';")
      // Only 'self', 'none' and data: (for inline SVG icons): no other origin, nothing inline.
      expect(csp.replace(/'self'|'none'|data:/g, "")).not.toMatch(/https?:|\*|'unsafe-|\/\//)

      const files = referenced(page.text)
      expect(files).toEqual(expect.arrayContaining(["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"]))
      // Same-origin paths only: nothing in the page points elsewhere.
      for (const f of files) expect(f).toMatch(/^\/[^/]/)
      const seen = new Set(hostsIn(page.text))
      for (const f of files) {
        const asset = yield* get(`${server.url}${f}`, "gzip")
        expect(asset.status, f).toBe(200)
        expect(asset.headers["content-security-policy"], f).toBe(csp)
        if (f.endsWith(".png")) continue
        expect(asset.headers["content-encoding"], f).toBe("gzip")
        for (const h of hostsIn(asset.text)) seen.add(h)
        // Nothing for the browser's developer tools to fetch that we do not serve.
        expect(asset.text, f).not.toContain("sourceMappingURL")
      }
      expect([...seen].filter((h) => !knownLinks.has(h)).sort()).toEqual([])

      // Encodings as the client asks: none, Brotli only, and gzip refused with q=0.
      const plain = yield* get(`${server.url}/docs/swagger-ui-bundle.js`, "identity")
      expect(plain.headers["content-encoding"]).toBeUndefined()
      expect(plain.text).toContain("SwaggerUIBundle")
      const br = yield* get(`${server.url}/docs/swagger-ui-bundle.js`, "br")
      expect(br.headers["content-encoding"]).toBe("br")
      expect(br.text).toBe(plain.text)
      const notGzip = yield* get(`${server.url}/docs/swagger-ui.css`, "gzip;q=0, br;q=0.5")
      expect(notGzip.headers["content-encoding"]).toBe("br")
    }).pipe(Effect.scoped)
  )

  it.live(
    "renders the API in Chromium without asking any other host for anything",
    () =>
      Effect.gen(function* () {
        const server = yield* TestServer.start()
        // A name, not 127.0.0.1: Swagger UI skips its online validator for loopback addresses only,
        // and a page on a real name must not call it either.
        const port = new URL(server.url).port
        const origin = `http://almanac.test:${port}`
        const browser = yield* Effect.acquireRelease(
          Effect.promise(() =>
            chromium.launch({
              executablePath: Browser.executablePath,
              args: [...Browser.args, "--host-resolver-rules=MAP almanac.test 127.0.0.1"]
            })
          ),
          (b) => Effect.promise(() => b.close())
        )
        const page = yield* Effect.promise(() => Browser.newPage(browser))
        const requested: Array<string> = []
        const problems: Array<string> = []
        page.on("request", (r) => requested.push(r.url()))
        page.on("console", (m) => {
          if (m.type() === "error") problems.push(m.text())
        })
        page.on("pageerror", (e) => problems.push(e.message))
        yield* Effect.promise(() => page.goto(`${origin}/docs`))
        // The operations of the served document, rendered by the script from this server.
        // Generous: a busy two-core machine takes seconds to parse the 1.5 MB script.
        yield* Effect.promise(() =>
          page.getByText("/api/health", { exact: true }).first().waitFor({ timeout: 30_000 })
        )
        yield* Effect.promise(() => page.getByText("/api/accounts/caldav", { exact: true }).first().waitFor())
        yield* Effect.promise(() => page.waitForLoadState("networkidle"))
        yield* Effect.promise(() => Browser.screenshot(page, "docs"))
        const elsewhere = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith("data:"))
        expect(elsewhere).toEqual([])
        expect(requested).toContain(`${origin}/openapi.json`)
        // A CSP violation (something tried to load from elsewhere) is a console error too.
        expect(problems).toEqual([])
      }).pipe(Effect.scoped),
    60_000
  )
})
