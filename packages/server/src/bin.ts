import { ValidationError } from "@effect/cli"
import { NodeContext, NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import * as Cli from "./cli/Cli.js"
import { describeError } from "./cli/Output.js"

// Errors print one line and exit non-zero; @effect/cli prints its own usage errors.
const program = Cli.run(process.argv).pipe(
  Effect.tapError((e) =>
    ValidationError.isValidationError(e) ? Effect.void : Console.error(`almanac: ${describeError(e)}`)
  ),
  Effect.provide(Layer.mergeAll(NodeContext.layer, NodeHttpClient.layerUndici))
)

NodeRuntime.runMain(program, { disableErrorReporting: true, disablePrettyLogger: true })
