/**
 * The interactive API docs at /docs: Swagger UI (swagger-ui-dist, pinned) served from this
 * server's own files, so the page loads nothing from another host: its script, its styles and the
 * OpenAPI document (/openapi.json) all come from here, and a Content-Security-Policy forbids every
 * other origin. (@effect/platform's Scalar page inlines a 3 MB script and fetches fonts from the
 * vendor's CDN; its Swagger page inlines everything, which a strict CSP cannot allow.)
 *
 * The assets are read from node_modules on first request and kept in memory with their gzip and
 * Brotli forms, made once each when a client first asks for them.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { brotliCompressSync, gzipSync, constants as zlib } from "node:zlib"
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import Negotiator from "negotiator"

/**
 * Scripts and styles only from this server (no inline code), the OpenAPI document and "Try it out"
 * requests only to it, images from it or inline SVG (Swagger UI's icons are data: URLs).
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Almanac API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" href="/docs/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
`

// validatorUrl: null: the default layout shows no validator badge, but should it ever, Swagger UI
// would ask validator.swagger.io about our document.
const init = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false
  })
})
`

interface Asset {
  readonly contentType: string
  readonly body: () => Uint8Array
}

const distDir = () => dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"))

// The source-map comments would send a browser's developer tools after files we do not serve.
const fromDist = (file: string, contentType: string): Asset => ({
  contentType,
  body: () =>
    new TextEncoder().encode(
      readFileSync(join(distDir(), file), "utf8").replace(
        /\n?\/[*/]# sourceMappingURL=\S+?(\s*\*\/)?\s*$/,
        "\n"
      )
    )
})

const text = (body: string, contentType: string): Asset => ({
  contentType,
  body: () => new TextEncoder().encode(body)
})

/** Every file the docs page loads, by its path under /docs. */
export const assets: Record<string, Asset> = {
  "": text(page, "text/html; charset=utf-8"),
  "swagger-ui.css": fromDist("swagger-ui.css", "text/css; charset=utf-8"),
  "swagger-ui-bundle.js": fromDist("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
  "init.js": text(init, "text/javascript; charset=utf-8"),
  "favicon-32x32.png": {
    contentType: "image/png",
    body: () => new Uint8Array(readFileSync(join(distDir(), "favicon-32x32.png")))
  }
}

type Encoding = "br" | "gzip" | "identity"

/** The client's preferred encoding among those we make (Accept-Encoding, q-values honoured). */
export const chooseEncoding = (acceptEncoding: string | undefined): Encoding => {
  const chosen = new Negotiator({ headers: { "accept-encoding": acceptEncoding } }).encoding([
    "br",
    "gzip",
    "identity"
  ])
  return chosen === "br" || chosen === "gzip" ? chosen : "identity"
}

const encoders: Record<Exclude<Encoding, "identity">, (data: Uint8Array) => Uint8Array> = {
  // Quality 9 rather than 11: a fraction of the time for the 1.5 MB script, a few percent larger.
  br: (data) => new Uint8Array(brotliCompressSync(data, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9 } })),
  gzip: (data) => new Uint8Array(gzipSync(data, { level: 9 }))
}

const cache = new Map<string, Uint8Array>()
const cached = (key: string, make: () => Uint8Array): Uint8Array => {
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const made = make()
  cache.set(key, made)
  return made
}

const serve = (name: string, asset: Asset) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const encoding = chooseEncoding(request.headers["accept-encoding"])
    const body = yield* Effect.sync(() => {
      const plain = cached(`${name}:identity`, asset.body)
      return encoding === "identity" ? plain : cached(`${name}:${encoding}`, () => encoders[encoding](plain))
    })
    return HttpServerResponse.uint8Array(body, {
      contentType: asset.contentType,
      headers: {
        ...(encoding === "identity" ? {} : { "content-encoding": encoding }),
        vary: "accept-encoding",
        "content-security-policy": contentSecurityPolicy,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        // The page is tiny and names unversioned files: revalidate everything.
        "cache-control": "no-cache"
      }
    })
  })

export const layer = HttpLayerRouter.addAll(
  Object.entries(assets).map(([name, asset]) =>
    HttpLayerRouter.route("GET", name === "" ? "/docs" : `/docs/${name}`, serve(name, asset))
  )
)
