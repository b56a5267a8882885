/**
 * `almanac user create NAME` and `almanac user token USER-ID`: people and their API tokens,
 * straight in the server's database, so a first user needs no admin token and no HTTP client.
 * The token is printed once; only its hash is kept.
 */
import { Console, Effect, Layer, Option, Redacted } from "effect"
import * as Config from "../Config.js"
import * as Database from "../Database.js"
import * as UsersStore from "../store/Users.js"
import { Users } from "../store/Users.js"
import type * as Cli from "./Cli.js"
import { CliError } from "./CliError.js"
import * as Output from "./Output.js"
import { loadConfig } from "./ServeCommand.js"

const withUsers = <A, E>(dataDir: Option.Option<string>, program: Effect.Effect<A, E, Users>) =>
  Effect.gen(function* () {
    const config = yield* loadConfig({ ...Config.noFlags, dataDir })
    return yield* program.pipe(
      Effect.provide(
        Layer.provide(
          UsersStore.layer,
          Layer.provideMerge(Database.migrated, Database.client(config.database))
        )
      )
    )
  })

export const create = (args: Cli.UserCreateArgs) =>
  withUsers(
    args.dataDir,
    Effect.gen(function* () {
      const users = yield* Users
      const user = yield* users.create(args.name)
      const token = yield* users.issueToken(user.id, "created by almanac user create")
      if (args.json)
        return yield* Output.printJson({ id: user.id, name: user.name, token: Redacted.value(token.token) })
      yield* Console.log(`user ${user.name} (${user.id})`)
      yield* Console.log(
        `token (shown once; sign in to the settings pages with it): ${Redacted.value(token.token)}`
      )
    })
  )

export const token = (args: Cli.UserTokenArgs) =>
  withUsers(
    args.dataDir,
    Effect.gen(function* () {
      const users = yield* Users
      if (Option.isNone(yield* users.get(args.userId)))
        return yield* new CliError({ message: `no user ${args.userId} (almanac user list shows them)` })
      const issued = yield* users.issueToken(args.userId, args.label)
      yield* Console.log(Redacted.value(issued.token))
    })
  )

export const list = (args: { readonly dataDir: Option.Option<string> }) =>
  withUsers(
    args.dataDir,
    Effect.gen(function* () {
      const all = yield* (yield* Users).list
      yield* Console.log(
        Output.table(
          ["id", "name", "created"],
          all.map((u) => [u.id, u.name, new Date(u.createdAt).toISOString()])
        )
      )
    })
  )
