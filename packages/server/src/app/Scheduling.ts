/**
 * What scheduling tools use, as one layer for Server.ts: free/busy, bookings, their store and the
 * per-account CalDAV clients both of them speak through.
 */
import { Layer } from "effect"
import type { ServerConfig } from "../Config.js"
import * as Bookings from "../store/Bookings.js"
import * as UrlGuard from "../UrlGuard.js"
import * as AccountClients from "./AccountClients.js"
import * as BookingService from "./BookingService.js"
import * as FreeBusyService from "./FreeBusyService.js"

export const layer = (config: ServerConfig) =>
  Layer.mergeAll(FreeBusyService.layer, BookingService.layer).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        AccountClients.layer({ timeout: config.requestTimeout, checkUrl: UrlGuard.make(config).checkUrl }),
        Bookings.layer
      )
    )
  )
