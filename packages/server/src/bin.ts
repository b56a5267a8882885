import { ValidationError } from "@effect/cli"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import { Console, Effect, Layer, Option } from "effect"
import * as Cli from "./cli/Cli.js"
import * as Help from "./cli/Help.js"
import { describeError } from "./cli/Output.js"

// Only @effect/cli and the command definitions load here; each command loads what it uses when it
// runs (see cli/Cli.ts). Errors print one line and exit non-zero; @effect/cli prints its own usage errors.
const program = Effect.gen(function* () {
  const help = Help.requested(Cli.byPath, process.argv.slice(2))
  if (Option.isSome(help))
    return yield* Console.log(Help.render(Cli.name, Cli.version, help.value.path, help.value.command))
  return yield* Cli.run(process.argv)
}).pipe(
  Effect.tapError((e) =>
    ValidationError.isValidationError(e) ? Effect.void : Console.error(`almanac: ${describeError(e)}`)
  ),
  Help.plainWhenPiped,
  // What @effect/cli and the password prompt use; not NodeContext, whose process and worker
  // services no command needs.
  Effect.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer))
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
