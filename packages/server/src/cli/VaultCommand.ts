/** `almanac vault rotate`: seal every stored password again under a new master key. */
import { Console, Effect, Layer, type Option } from "effect"
import * as Config from "../Config.js"
import * as Database from "../Database.js"
import * as Vault from "../Vault.js"
import { loadConfig } from "./ServeCommand.js"

export const rotate = (args: { readonly dataDir: Option.Option<string> }) =>
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
