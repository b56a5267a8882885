/** `almanac vault rotate`: seal every stored password again under a new master key. */
import { Command } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import * as Config from "../Config.js"
import * as Database from "../Database.js"
import * as Vault from "../Vault.js"
import { flags, loadConfig } from "./ServeCommand.js"

const rotate = Command.make("rotate", { dataDir: flags.dataDir }, (args) =>
  Effect.gen(function* () {
    const config = yield* loadConfig({ ...Config.noFlags, dataDir: args.dataDir })
    const report = yield* Vault.rotate(config).pipe(
      Effect.provide(Layer.provideMerge(Database.migrated, Database.client(config.database)))
    )
    yield* Console.log(
      `sealed ${report.resealed} secret(s) again under key ${report.keyId}; ${report.alreadyCurrent} already were`
    )
    if (report.unreadable.length > 0)
      yield* Console.error(
        `almanac: ${report.unreadable.length} secret(s) open with no known key (accounts ${report.unreadable.join(", ")}); they were left as they are`
      )
  })
).pipe(
  Command.withDescription(
    "seal every stored password again under a new master key (with ALMANAC_MASTER_KEY: the configured key; keep the old one in ALMANAC_PREVIOUS_MASTER_KEYS while this runs)"
  )
)

export const command = Command.make("vault").pipe(
  Command.withDescription("the credential vault"),
  Command.withSubcommands([rotate])
)
