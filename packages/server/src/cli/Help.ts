/**
 * `--help` as a person reads it: the usage line names the whole command (`$ almanac sync once …`,
 * where @effect/cli would print `$ once …`), and text that goes to a pipe or a file carries no ANSI
 * codes (@effect/cli always styles its help and errors; it has no setting for that).
 */
import { stripVTControlCharacters } from "node:util"
import { CliConfig, CommandDescriptor, HelpDoc, Span, Usage } from "@effect/cli"
import { Console, Effect, Option } from "effect"

/** What `--help` or `-h` (before a `--`) asks for: the longest command path in `byPath` that `args` starts with. */
export const requested = (
  byPath: ReadonlyMap<string, CommandDescriptor.Command<unknown>>,
  args: ReadonlyArray<string>
): Option.Option<{
  readonly path: ReadonlyArray<string>
  readonly command: CommandDescriptor.Command<unknown>
}> => {
  const end = args.indexOf("--")
  const flags = end === -1 ? args : args.slice(0, end)
  if (!flags.includes("--help") && !flags.includes("-h")) return Option.none()
  let path: ReadonlyArray<string> = []
  for (const arg of args) {
    if (!byPath.has([...path, arg].join(" "))) break
    path = [...path, arg]
  }
  return Option.map(Option.fromNullable(byPath.get(path.join(" "))), (command) => ({ path, command }))
}

/** The help text of `command`, reached from the program `name` by `path`. */
export const render = (
  name: string,
  version: string,
  path: ReadonlyArray<string>,
  command: CommandDescriptor.Command<unknown>
): string => {
  const config = CliConfig.defaultConfig
  // The command's own usage starts with its name; its parents go in front.
  const parents = path.length === 0 ? [] : [name, ...path.slice(0, -1)]
  const usage = parents.reduceRight(
    (rest, parent) => Usage.concat(Usage.named([parent], Option.none()), rest),
    CommandDescriptor.getUsage(command)
  )
  return HelpDoc.toAnsiText(
    HelpDoc.blocks([
      HelpDoc.p(`${name} ${version}`),
      HelpDoc.h1("USAGE"),
      ...Usage.enumerate(usage, config).map((line) => HelpDoc.p(Span.concat(Span.text("$ "), line))),
      CommandDescriptor.getHelp(command, config)
    ])
  )
}

/** What @effect/cli prints for `--version`. */
export const versionText = (version: string): string => HelpDoc.toAnsiText(HelpDoc.p(version))

const styled = (stream: NodeJS.WriteStream): boolean =>
  stream.isTTY === true && (process.env.NO_COLOR ?? "") === "" && process.env.TERM !== "dumb"

/**
 * Runs `effect` with a console that removes ANSI codes from what goes to stdout or stderr when
 * that stream is not a terminal (or NO_COLOR is set). JSON output is unchanged: JSON escapes control characters.
 */
export const plainWhenPiped = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((console) => {
    const plain = (args: ReadonlyArray<unknown>) =>
      args.map((a) => (typeof a === "string" ? stripVTControlCharacters(a) : a))
    const out = styled(process.stdout)
    const err = styled(process.stderr)
    return Effect.withConsole(effect, {
      ...console,
      log: (...args) => console.log(...(out ? args : plain(args))),
      info: (...args) => console.info(...(out ? args : plain(args))),
      error: (...args) => console.error(...(err ? args : plain(args))),
      warn: (...args) => console.warn(...(err ? args : plain(args)))
    })
  })
