// Runs dist/sync.cjs (the program built once more for `sync once` and `sync watch`, see
// ../build.mjs) through V8's code cache: compiled code for the file, which spares a command that
// runs for a third of a second most of its compiling. Node 20 has no such cache for ES modules, nor
// any for a file loaded with require, so the file is compiled here as Node's own loader would
// wrap it. The cache is made from what a run compiled, at the end of the first run of each build,
// and kept beside the file under its size and time, so that no build reads another's: V8 checks
// only a source's length. A cache V8 refuses (another Node) is made again; one that cannot be
// written (a read-only install) is not, and the program runs as fast as without it.
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname } from "node:path"
import vm from "node:vm"

/** Where the code cache of `file`, as it is now, is kept. */
export const cacheFile = (file) => {
  const st = statSync(file)
  return `${file}.${st.size}-${Math.trunc(st.mtimeMs)}.cache`
}

export const run = (file) => {
  const cache = cacheFile(file)
  let cachedData
  try {
    cachedData = readFileSync(cache)
  } catch {
    cachedData = undefined
  }
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`,
    { filename: file, cachedData, importModuleDynamically: vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER }
  )
  if (cachedData === undefined || script.cachedDataRejected === true)
    process.once("exit", () => {
      try {
        const tmp = `${cache}.${process.pid}.tmp`
        writeFileSync(tmp, script.createCachedData())
        renameSync(tmp, cache)
      } catch {
        // not writable here: every run compiles, as without a cache
      }
    })
  const module = { exports: {} }
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file))
}
