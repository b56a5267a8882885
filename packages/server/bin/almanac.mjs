#!/usr/bin/env node
// The `almanac` program: plain node on the bundle in ../dist (see ../build.mjs), never a TypeScript
// loader at run time. `npm ci` builds it; when it is missing or older than a source, it is built here first.
// Help and version texts come from the build's dist/help.json without loading the bundle (./help.mjs);
// `sync once` and `sync watch` run the same program built as dist/sync.cjs, with a code cache (./sync.mjs).
import { build, isStale, syncProgram } from "../build.mjs"
import { answer } from "./help.mjs"
import { run } from "./sync.mjs"

if (isStale()) {
  process.stderr.write("almanac: building packages/server/dist (a source changed since the last build)\n")
  await build()
}
const args = process.argv.slice(2)
const text = answer(args)
if (text !== undefined) process.stdout.write(text)
else if (args[0] === "sync" && (args[1] === "once" || args[1] === "watch")) run(syncProgram)
else await import(new URL("../dist/bin.js", import.meta.url).href)
