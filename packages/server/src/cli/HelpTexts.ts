/**
 * Every text `--help` and `--version` print, rendered by the build into dist/help.json (see
 * ../../build.mjs): bin/almanac.mjs answers those from the file without loading @effect/cli. The
 * texts come from the same command definitions and the same `Help.render` the full program uses,
 * so they cannot drift; a test compares the two programs' output.
 */
import * as Cli from "./Cli.js"
import * as Help from "./Help.js"

export interface HelpTexts {
  /** What `almanac --version` prints (before console.log's newline). */
  readonly version: string
  /** By command path ("" for the program itself, "sync once", …): what `--help` prints there. */
  readonly commands: Readonly<Record<string, string>>
}

export const render = (): HelpTexts => ({
  version: Help.versionText(Cli.version),
  commands: Object.fromEntries(
    [...Cli.byPath].map(([path, command]) => [
      path,
      Help.render(Cli.name, Cli.version, path === "" ? [] : path.split(" "), command)
    ])
  )
})
