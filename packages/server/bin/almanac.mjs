#!/usr/bin/env node
// The `almanac` program: plain node on the bundle in ../dist (see ../build.mjs), never a TypeScript
// loader at run time. `npm ci` builds it; when it is missing or older than a source, it is built here first.
// Help and version texts come from the build's dist/help.json without loading the bundle (./help.mjs).
import { build, isStale } from "../build.mjs"
import { answer } from "./help.mjs"

if (isStale()) {
  process.stderr.write("almanac: building packages/server/dist (a source changed since the last build)\n")
  await build()
}
const text = answer(process.argv.slice(2))
if (text !== undefined) process.stdout.write(text)
else await import(new URL("../dist/bin.js", import.meta.url).href)
