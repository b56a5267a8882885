/**
 * The process `almanac serve` runs: the database (migrated), the vault, the stores, the calendar
 * actors and the HTTP server, as one layer built from the configuration. Closing it (SIGTERM,
 * SIGINT) stops new polls, lets running ones finish, then closes the database.
 */
import { HttpLayerRouter } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Layer } from "effect"
import * as Actors from "./Actors.js"
import * as AccountClients from "./app/AccountClients.js"
import * as AccountService from "./app/AccountService.js"
import * as FirstRun from "./app/FirstRun.js"
import * as GoogleOAuthClient from "./app/GoogleOAuthClient.js"
import * as MicrosoftOAuthClient from "./app/MicrosoftOAuthClient.js"
import * as OAuthConnect from "./app/OAuthConnect.js"
import * as Relationships from "./app/RelationshipService.js"
import * as Scheduling from "./app/Scheduling.js"
import * as Status from "./app/StatusService.js"
import type { ServerConfig } from "./Config.js"
import * as Database from "./Database.js"
import * as GuardedHttpClient from "./GuardedHttpClient.js"
import { AdminToken } from "./http/Auth.js"
import * as Routes from "./http/Routes.js"
import * as Starting from "./http/Starting.js"
import * as Push from "./push/Push.js"
import * as ServerRegistry from "./ServerRegistry.js"
import * as Accounts from "./store/Accounts.js"
import * as OAuthStates from "./store/OAuthStates.js"
import * as PageSessions from "./store/PageSessions.js"
import * as PushChannels from "./store/PushChannels.js"
import * as RelationshipOwners from "./store/RelationshipOwners.js"
import * as Users from "./store/Users.js"
import * as UrlGuard from "./UrlGuard.js"
import * as Vault from "./Vault.js"

/** The services every request and every actor may use. */
export const services = (config: ServerConfig) => {
  const db = Database.layer(config.database)
  const stores = Layer.mergeAll(
    Users.layer,
    Accounts.layer,
    OAuthStates.layer,
    PageSessions.layer,
    PushChannels.layer,
    RelationshipOwners.layer
  ).pipe(Layer.provideMerge(Vault.layer(config)))
  const clients = AccountClients.layer({
    timeout: config.requestTimeout,
    checkUrl: UrlGuard.make(config).checkUrl
  })
  return Actors.layer(config).pipe(
    Layer.provideMerge(ServerRegistry.layer),
    Layer.provideMerge(clients),
    Layer.provideMerge(stores),
    Layer.provideMerge(db),
    Layer.provideMerge(GuardedHttpClient.layer(config)),
    Layer.provideMerge(Layer.succeed(AdminToken, config.adminToken)),
    // OAuth services' endpoints are the operator's configuration, not a user's URL: they are not guarded.
    Layer.provideMerge(GoogleOAuthClient.layer(config)),
    Layer.provideMerge(MicrosoftOAuthClient.layer(config)),
    (base) => Push.layer(config).pipe(Layer.provideMerge(base)),
    (base) => AccountService.layer(config).pipe(Layer.provideMerge(base)),
    (base) => FirstRun.layer.pipe(Layer.provideMerge(base)),
    (base) => OAuthConnect.layer(config).pipe(Layer.provideMerge(base)),
    (base) => Scheduling.layer.pipe(Layer.provideMerge(base)),
    (base) => Status.layer.pipe(Layer.provideMerge(Relationships.layer), Layer.provideMerge(base))
  )
}

export const layer = (config: ServerConfig) =>
  HttpLayerRouter.serve(Routes.all).pipe(
    // Merged, not only provided: tests reach the running server's stores through it.
    Layer.provideMerge(services(config)),
    // Merged, not only provided: tests read the bound address (port 0) from it.
    Layer.provideMerge(NodeHttpServer.layer(Starting.whileStarting, { port: config.port, host: config.host }))
  )
