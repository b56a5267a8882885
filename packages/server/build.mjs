/**
 * Builds the `almanac` program into packages/server/dist: esbuild bundles src/bin.ts with the
 * workspace packages, the Effect packages and their pure-JS libraries inlined (one copy of Effect,
 * a few large files instead of hundreds of small modules, which is what made `node` slow to start),
 * and the packages listed in `external` left to node_modules. `--splitting` keeps each dynamic
 * `import()` a chunk of its own, so a command loads only what it uses.
 *
 * Plain JavaScript on purpose: `npm ci` (the `prepare` script), `npm start` and the `almanac` bin run
 * it with bare `node` before anything is built. `node packages/server/build.mjs` builds; with
 * `--if-stale` it builds only when a source is newer than the last build.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync
} from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("../..", import.meta.url))
export const distDir = fileURLToPath(new URL("./dist", import.meta.url))
export const entry = join(distDir, "bin.js")
// The help and version texts, for bin/help.mjs: rendered from the built help-texts.js.
export const helpFile = join(distDir, "help.json")
// `sync once` and `sync watch` as one CommonJS file, for bin/sync.mjs (see `syncProgram` below).
export const syncProgram = join(distDir, "sync.cjs")
// Written last: its time says when the last complete build finished.
const stamp = join(distDir, "build-stamp.json")

/** Everything a build reads: the packages' sources and manifests, and the lock file (dependency versions). */
const inputs = () => [
  join(root, "package-lock.json"),
  fileURLToPath(import.meta.url),
  ...["caldav", "core", "providers", "server"].flatMap((pkg) => [
    join(root, "packages", pkg, "package.json"),
    join(root, "packages", pkg, "src")
  ])
]

const newestMtime = (path) => {
  let st
  try {
    st = statSync(path)
  } catch {
    return 0
  }
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)))
  return newest
}

/** True when there is no complete build, a file the build writes beside the bundle is gone, or a source changed after it. */
export const isStale = () => {
  let built
  try {
    built = statSync(stamp).mtimeMs
  } catch {
    return true
  }
  const written = [helpFile, syncProgram, ...lazy.filter((e) => e.bundle).map((e) => lazyBundle(e.module))]
  return written.some((path) => !existsSync(path)) || inputs().some((path) => newestMtime(path) > built)
}

// Bundled: our packages, the Effect family and the small pure-JS libraries they use (one copy of
// Effect; and tree-shaking drops what a module never uses, e.g. most of fast-check). External:
// native addons and packages with optional native parts, which must be resolved in node_modules at
// run time, and the large leaf libraries that only lazily loaded chunks import. OpenTelemetry (only
// serve's /metrics loads it) is CommonJS that MetricsExport imports with `import()`: bundled, such a
// chunk exports only `default` (the named `PrometheusExporter` came out undefined), while Node's
// own loader gives the named exports; and all of it stays external so there is one copy of its
// classes for @effect/opentelemetry and the exporter.
const external = [
  "@opentelemetry",
  "better-sqlite3",
  "bufferutil",
  "msgpackr",
  "msgpackr-extract",
  "pg",
  "pg-native",
  "tedious",
  "undici",
  "utf-8-validate",
  "ws"
]
const isExternal = (path) => external.some((name) => path === name || path.startsWith(`${name}/`))

// Stand-ins that load a library from node_modules the first time one of its functions is called,
// for libraries a module every run of a command loads imports at its top while that command seldom
// calls them (loading one costs its parse and its top-level work at every start):
// - @effect/cli imports parsers for configuration files (YAML, TOML, INI); Almanac reads no such file
//   (about 400 KB of CommonJS).
// - the CalDAV client asks the public suffix list (tldts, 170 KB) only when a request leaves its host.
// - @effect/platform-node's undici client reads two names of undici, and only when its layer is
//   built; its `export * from "undici"` loaded all of undici (about 65 ms, a hundred CommonJS files)
//   whenever NodeHttpClient was imported, as every command that talks HTTP does.
// - ical.js (210 KB) is needed once an event is read or written, never by a poll that finds nothing
//   changed. It ships as ES modules, which `require` cannot load in Node 20, and its CommonJS file
//   is an ES5 translation (slower); so the build converts its ES module into dist/lazy/ical.js.cjs
//   (`bundle`), and the stand-in is its default export (`defaultObject`), read name by name.
// A name the importer uses that a stand-in lacks fails the build ("No matching export").
const lazy = [
  { importer: /[\\/]@effect[\\/]cli[\\/]/, specifier: /^(ini|toml|yaml)$/, functions: ["parse"] },
  {
    importer: /[\\/]packages[\\/]caldav[\\/]src[\\/]internal[\\/]domain\.ts$/,
    specifier: /^tldts$/,
    functions: ["getDomain"]
  },
  {
    importer: /[\\/]@effect[\\/]platform-node[\\/]dist[\\/]esm[\\/]internal[\\/]httpClientUndici\.js$/,
    specifier: /^\.\.\/Undici\.js$/,
    module: "undici",
    functions: ["getGlobalDispatcher"],
    classes: ["Agent"]
  },
  {
    importer: /[\\/]packages[\\/]core[\\/]src[\\/]internal[\\/]Ical\.ts$/,
    specifier: /^ical\.js$/,
    module: "ical.js",
    bundle: true,
    defaultObject: true,
    functions: []
  }
]

/** Where a `bundle` stand-in's library goes: dist/lazy/<module>.cjs. */
const lazyBundle = (module) => join(distDir, "lazy", `${module}.cjs`)

const externalNpm = {
  name: "external-npm",
  setup(build) {
    lazy.forEach((entry, i) => {
      build.onResolve({ filter: entry.specifier }, (args) =>
        entry.importer.test(args.importer) ? { path: `${i}:${args.path}`, namespace: "lazy" } : undefined
      )
    })
    build.onLoad({ filter: /.*/, namespace: "lazy" }, (args) => {
      const [i, specifier] = args.path.split(/:(.*)/)
      const entry = lazy[Number(i)]
      const module = entry.module ?? specifier
      // A bundled library is found from the file the stand-in lands in: an entry in dist/ or a chunk
      // in dist/chunks/ (chunkNames below).
      const target = entry.bundle
        ? `fileURLToPath(new URL((new URL("./", import.meta.url).pathname.endsWith("/chunks/") ? "../" : "./") + ${JSON.stringify(relative(distDir, lazyBundle(module)).replaceAll("\\", "/"))}, import.meta.url))`
        : JSON.stringify(module)
      return {
        contents: [
          'import { createRequire } from "node:module"',
          ...(entry.bundle ? ['import { fileURLToPath } from "node:url"'] : []),
          "const load = createRequire(import.meta.url)",
          "let loaded",
          "const real = () => {",
          "  try {",
          `    return (loaded ??= load(${target}))`,
          "  } catch (e) {",
          `    throw new Error(\`cannot load ${module} (a broken build? npm run build): \${e instanceof Error ? e.message : e}\`)`,
          "  }",
          "}",
          ...(entry.defaultObject
            ? ["export default new Proxy({}, { get: (_, name) => real().default[name] })"]
            : []),
          ...entry.functions.map((f) => `export const ${f} = (...args) => real().${f}(...args)`),
          // `new` on a function that returns an object gives that object: an instance of the real class.
          ...(entry.classes ?? []).map(
            (c) => `export function ${c}(...args) { return new (real().${c})(...args) }`
          )
        ].join("\n"),
        loader: "js"
      }
    })
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      isExternal(args.path) ? { path: args.path, external: true } : undefined
    )
  }
}

// `import { Effect, Schema } from "effect"` goes through the package's index, which re-exports every
// module. With code splitting, esbuild places a module by which entry points import it, and through
// an index every command "imports" everything: the 3 MB /docs page of @effect/platform landed in the
// chunk that `sync once` loads. So in our own sources each name an index re-exports as a module is
// imported from that module directly (`import * as Effect from "effect/Effect"`), which is what the
// index does anyway; other names (`pipe`) stay on the index. Our own packages' indexes are the same
// (`export * as CalDavProvider from "./CalDavProvider.js"`) but export no subpaths: their names are
// read from the index itself, so `sync once` gets the CalDAV provider without the Google ones.
const barrel = /import\s+(type\s+)?\{([^}]*)\}\s+from\s+"(effect|@effect\/[a-z-]+|@almanac\/[a-z]+)"/g

/** For `@almanac/<pkg>`: each name its src/index.ts re-exports as a module, and that module's file. */
const ownModules = new Map()
const ownModule = (pkg, name) => {
  if (!ownModules.has(pkg)) {
    const dir = join(root, "packages", pkg.slice("@almanac/".length), "src")
    const index = readFileSync(join(dir, "index.ts"), "utf8")
    const names = new Map()
    for (const m of index.matchAll(/^export \* as (\w+) from "\.\/(\w+)\.js"$/gm))
      names.set(m[1], join(dir, `${m[2]}.ts`))
    ownModules.set(pkg, names)
  }
  return ownModules.get(pkg).get(name)
}

const deepImports = {
  name: "deep-imports",
  setup(build) {
    const isModule = new Map()
    const resolvesTo = async (specifier, resolveDir) => {
      if (!isModule.has(specifier)) {
        const r = await build.resolve(specifier, { resolveDir, kind: "import-statement" })
        isModule.set(specifier, r.errors.length === 0)
      }
      return isModule.get(specifier)
    }
    build.onLoad({ filter: /[\\/]packages[\\/][a-z]+[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const source = readFileSync(args.path, "utf8")
      const resolveDir = dirname(args.path)
      let out = ""
      let last = 0
      for (const m of source.matchAll(barrel)) {
        out += source.slice(last, m.index)
        last = m.index + m[0].length
        if (m[1] !== undefined) {
          out += m[0]
          continue
        }
        const pkg = m[3]
        const kept = []
        const deep = []
        for (const raw of m[2].split(",")) {
          const spec = raw.trim()
          if (spec === "") continue
          const [name, alias] = spec.replace(/^type\s+/, "").split(/\s+as\s+/)
          const own = pkg.startsWith("@almanac/") ? ownModule(pkg, name) : undefined
          if (spec.startsWith("type ")) kept.push(spec)
          else if (own !== undefined) deep.push(`import * as ${alias ?? name} from ${JSON.stringify(own)}`)
          else if (!pkg.startsWith("@almanac/") && (await resolvesTo(`${pkg}/${name}`, resolveDir)))
            deep.push(`import * as ${alias ?? name} from "${pkg}/${name}"`)
          else kept.push(spec)
        }
        out += [...(kept.length > 0 ? [`import { ${kept.join(", ")} } from "${pkg}"`] : []), ...deep].join(
          "; "
        )
      }
      return { contents: out + source.slice(last), loader: "ts" }
    })
  }
}

/**
 * The sync program: the same program (src/bin.ts) built a second time, as one CommonJS file holding
 * what `sync once` and `sync watch` run and nothing of the other commands, whose handlers, and the
 * SQL Server and PostgreSQL drivers, are left out (below). bin/almanac.mjs runs it for those two
 * commands through V8's code cache (bin/sync.mjs): that is why it is CommonJS, which Node 20 can
 * compile with a cache, and one file. Measured on an idle `sync once`: ESM chunks 316 ms of CPU,
 * this file 283, with its code cache 202.
 */
const notInSyncProgram = {
  name: "not-in-sync-program",
  setup(build) {
    build.onResolve({ filter: /^\.\/(Serve|User|Vault|Backup|Caldav|FreeBusy)Command\.js$/ }, (args) =>
      /[\\/]src[\\/]cli[\\/]Cli\.ts$/.test(args.importer)
        ? { path: args.path, namespace: "not-in-sync" }
        : undefined
    )
    build.onResolve({ filter: /^@effect\/sql-(mssql|pg)$/ }, (args) =>
      /[\\/]src[\\/]Database\.ts$/.test(args.importer)
        ? { path: args.path, namespace: "not-in-sync" }
        : undefined
    )
    // bin/almanac.mjs never runs another command here; should it, the command fails saying why.
    build.onLoad({ filter: /.*/, namespace: "not-in-sync" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not in dist/sync.cjs, which runs sync once and sync watch only`)})`,
      loader: "js"
    }))
  }
}

/** Each file goes to a temporary name first, then is renamed: a process starting meanwhile never reads half a file. */
const writeAtomically = (path, contents) => {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, contents)
  renameSync(tmp, path)
}

export const build = async () => {
  const esbuild = await import("esbuild")
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { bin: "packages/server/src/bin.ts", "help-texts": "packages/server/src/cli/HelpTexts.ts" },
    outdir: distDir,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    plugins: [externalNpm, deepImports],
    // Bundled CommonJS (yaml, pg-cursor, …) calls require() for Node's own modules; ESM has none.
    banner: {
      js: 'import { createRequire as __almanacRequire } from "node:module"; const require = __almanacRequire(import.meta.url);'
    },
    metafile: true,
    write: false,
    logLevel: "warning"
  })
  // The libraries `bundle` stand-ins load, first: a chunk may load one as soon as it is written.
  for (const entry of lazy.filter((e) => e.bundle)) {
    const module = entry.module
    const lib = await esbuild.build({
      absWorkingDir: root,
      // An import statement, so that the package's "import" condition (its ES module) is taken.
      stdin: {
        contents: `export { default } from ${JSON.stringify(module)}`,
        resolveDir: root,
        loader: "js"
      },
      outfile: lazyBundle(module),
      bundle: true,
      format: "cjs",
      platform: "node",
      target: "node20",
      write: false,
      logLevel: "warning"
    })
    for (const file of lib.outputFiles) writeAtomically(file.path, file.contents)
  }
  const sync = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ["packages/server/src/bin.ts"],
    outfile: syncProgram,
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    sourcemap: "linked",
    plugins: [notInSyncProgram, externalNpm, deepImports],
    // The stand-ins above find node_modules and dist/lazy from import.meta.url, which CommonJS has not.
    define: { "import.meta.url": "__almanacImportMetaUrl" },
    banner: { js: 'const __almanacImportMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
    metafile: true,
    write: false,
    logLevel: "warning"
  })
  for (const file of sync.outputFiles) writeAtomically(file.path, file.contents)
  // Code caches are kept per file (bin/sync.mjs): those of the files before this one are useless.
  for (const name of readdirSync(distDir))
    if (name.startsWith("sync.cjs.") && name.endsWith(".cache")) rmSync(join(distDir, name), { force: true })
  // Chunks before the entry point that imports them. Files of an older build stay: a server started
  // from it may still load one of its chunks later; they are small and removed after a day.
  const outputs = [...result.outputFiles].sort((a, b) => Number(a.path === entry) - Number(b.path === entry))
  for (const file of outputs) writeAtomically(file.path, file.contents)
  const written = new Set([...outputs, ...sync.outputFiles].map((f) => f.path))
  const dayAgo = Date.now() - 24 * 3600_000
  for (const dir of [distDir, join(distDir, "chunks")]) {
    mkdirSync(dir, { recursive: true })
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      const st = statSync(path)
      if (st.isFile() && !written.has(path) && path !== stamp && path !== helpFile && st.mtimeMs < dayAgo)
        rmSync(path)
    }
  }
  // The query string: a second build in one process renders from its own files, not the first's.
  const helpTexts = await import(`${pathToFileURL(join(distDir, "help-texts.js")).href}?${Date.now()}`)
  writeAtomically(helpFile, JSON.stringify(helpTexts.render()))
  writeAtomically(join(distDir, "meta.json"), JSON.stringify(result.metafile))
  writeAtomically(join(distDir, "sync-meta.json"), JSON.stringify(sync.metafile))
  writeAtomically(stamp, JSON.stringify({ builtAt: new Date().toISOString() }))
  return [...outputs, ...sync.outputFiles].map((f) => relative(root, f.path))
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--if-stale") && !isStale()) process.exit(0)
  const files = await build()
  const size = files.reduce((n, f) => n + statSync(join(root, f)).size, 0)
  process.stderr.write(
    `almanac: built packages/server/dist (${files.length} files, ${Math.round(size / 1024)} KiB)\n`
  )
}
