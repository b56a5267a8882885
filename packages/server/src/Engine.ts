/**
 * What the API and the pages ask of the sync engine, whatever hosts the actors: start or stop
 * watching a calendar when its relationships change, poll now, and a confirmed mass deletion.
 * Request handlers never run SyncCycle themselves except through here.
 */
import { type CalendarProvider, SyncCycle, type SyncStore } from "@almanac/core"
import { Context, Effect, Layer, Schema } from "effect"

export class EngineError extends Schema.TaggedError<EngineError>()("EngineError", {
  message: Schema.String
}) {}

export interface EngineShape {
  /**
   * The relationships of this calendar changed (created, changed, paused, resumed, removed):
   * start its actor if it now takes part in an active relationship, retire it if not, and poll soon.
   */
  readonly refresh: (calendarId: string) => Effect.Effect<void>
  /** Poll now ("sync now"); returns at once, the poll runs in the calendar's actor. */
  readonly syncNow: (calendarId: string) => Effect.Effect<void>
  /**
   * A person confirmed that a mass deletion the safety stop halted is intended: one poll runs
   * with deletions let through, and its report is returned.
   */
  readonly confirmDeletes: (calendarId: string) => Effect.Effect<SyncCycle.CycleReport, EngineError>
}

export class Engine extends Context.Tag("@almanac/server/Engine")<Engine, EngineShape>() {}

const confirmed = (calendarId: string) =>
  SyncCycle.run(calendarId, { ...SyncCycle.defaultOptions(new Date()), confirmDeletes: true }).pipe(
    Effect.mapError((e) => new EngineError({ message: `${e._tag}: ${"detail" in e ? e.detail : ""}` }))
  )

/**
 * Without actors: "sync now" polls in a background fiber of the server's scope, and nothing polls
 * on its own. The server replaces it with the actor host; tests of the API alone use it.
 */
export const layerWithoutActors: Layer.Layer<
  Engine,
  never,
  SyncStore.SyncStore | CalendarProvider.ProviderRegistry
> = Layer.scoped(
  Engine,
  Effect.gen(function* () {
    const context = yield* Effect.context<SyncStore.SyncStore | CalendarProvider.ProviderRegistry>()
    const scope = yield* Effect.scope
    return {
      refresh: () => Effect.void,
      syncNow: (calendarId) =>
        SyncCycle.run(calendarId, SyncCycle.defaultOptions(new Date())).pipe(
          Effect.catchAll((e) => Effect.logWarning("poll failed", e._tag)),
          Effect.annotateLogs("calendar", calendarId),
          Effect.provide(context),
          Effect.forkIn(scope),
          Effect.asVoid
        ),
      confirmDeletes: (calendarId) => confirmed(calendarId).pipe(Effect.provide(context))
    }
  })
)
