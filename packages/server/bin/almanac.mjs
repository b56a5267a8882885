#!/usr/bin/env node
// The `almanac` program: plain node on the bundle in ../dist (see ../build.mjs), never a TypeScript
// loader at run time. `npm ci` builds it; when it is missing or older than a source, it is built here first.
import { build, isStale } from "../build.mjs"

if (isStale()) {
  process.stderr.write("almanac: building packages/server/dist (a source changed since the last build)\n")
  await build()
}
await import(new URL("../dist/bin.js", import.meta.url).href)
