// `--help`, `-h` and `--version` answered from dist/help.json, the texts the build rendered from the
// command definitions (src/cli/HelpTexts.ts), without loading the bundle: the full program spends
// most of a `--help` loading @effect/cli. Which text, and whether it keeps its ANSI codes, follows
// src/bin.ts and src/cli/Help.ts (`requested`, `plainWhenPiped`); test/startup.test.ts compares
// both programs' output for every command.
import { readFileSync } from "node:fs"
import { stripVTControlCharacters } from "node:util"

export const helpFile = new URL("../dist/help.json", import.meta.url)

/** The texts, or undefined when the build wrote none (then the full program answers). */
const load = () => {
  try {
    const texts = JSON.parse(readFileSync(helpFile, "utf8"))
    return typeof texts?.version === "string" && typeof texts?.commands === "object" ? texts : undefined
  } catch {
    return undefined
  }
}

/** The command path `args` starts with, as Help.requested finds it. */
const commandPath = (commands, args) => {
  let path = []
  for (const arg of args) {
    if (!Object.hasOwn(commands, [...path, arg].join(" "))) break
    path = [...path, arg]
  }
  return path.join(" ")
}

const styled = (stream, env) => stream.isTTY === true && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb"

/**
 * What the program prints on stdout for `args`, when that is a help or version text; undefined for
 * every other command line.
 */
export const answer = (args, stream = process.stdout, env = process.env) => {
  const end = args.indexOf("--")
  const flags = end === -1 ? args : args.slice(0, end)
  const help = flags.includes("--help") || flags.includes("-h")
  // --version only alone: elsewhere @effect/cli decides what it means.
  if (!help && !(args.length === 1 && args[0] === "--version")) return undefined
  const texts = load()
  if (texts === undefined) return undefined
  const text = help ? texts.commands[commandPath(texts.commands, args)] : texts.version
  if (typeof text !== "string") return undefined
  return `${styled(stream, env) ? text : stripVTControlCharacters(text)}\n`
}
