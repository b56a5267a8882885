/**
 * What scheduling tools use, as one layer for Server.ts: free/busy, bookings and their store.
 * Both speak through AccountClients, which Server.ts provides once for them and the engine.
 */
import { Layer } from "effect"
import * as Bookings from "../store/Bookings.js"
import * as BookingService from "./BookingService.js"
import * as FreeBusyService from "./FreeBusyService.js"

export const layer = Layer.mergeAll(FreeBusyService.layer, BookingService.layer).pipe(
  Layer.provideMerge(Bookings.layer)
)
