/**
 * Everything the HTTP server answers: the API (with its OpenAPI document and docs) and the
 * settings pages. A new API group adds its handler layer to `handlers` here.
 */
import { HttpLayerRouter } from "@effect/platform"
import { Layer } from "effect"
import * as Pages from "../pages/Routes.js"
import { AlmanacApi } from "./Api.js"
import * as Auth from "./Auth.js"
import * as Docs from "./Docs.js"
import * as Fallback from "./Fallback.js"
import { accountsLayer } from "./handlers/AccountsHandlers.js"
import { adminLayer } from "./handlers/AdminHandlers.js"
import { bookingsLayer } from "./handlers/BookingsHandlers.js"
import { freeBusyLayer } from "./handlers/FreeBusyHandlers.js"
import { relationshipsLayer } from "./handlers/RelationshipsHandlers.js"
import { statusLayer } from "./handlers/StatusHandlers.js"
import { meLayer, systemLayer } from "./handlers/SystemHandlers.js"
import * as JsonBodies from "./JsonBodies.js"
import * as MetricsRoute from "./MetricsRoute.js"
import * as PushRoutes from "./PushRoutes.js"

const handlers = Layer.mergeAll(
  systemLayer,
  meLayer,
  adminLayer,
  accountsLayer,
  freeBusyLayer,
  bookingsLayer,
  relationshipsLayer,
  statusLayer
)

export const api = HttpLayerRouter.addHttpApi(AlmanacApi, { openapiPath: "/openapi.json" }).pipe(
  Layer.provide(handlers),
  Layer.provide(Layer.mergeAll(Auth.layer, Auth.adminLayer))
)

export const all = Layer.mergeAll(
  api,
  Docs.layer,
  MetricsRoute.layer,
  PushRoutes.layer,
  Pages.layer,
  Fallback.layer,
  JsonBodies.layer
)
