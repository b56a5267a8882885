/**
 * What the API and the pages ask of the sync engine, whatever hosts the actors: start or stop
 * watching a calendar when its relationships change, poll now, and a confirmed mass deletion.
 * Actors.ts implements it over the cluster-hosted actors; request handlers never run SyncCycle
 * themselves.
 */
import type { SyncCycle } from "@almanac/core"
import { Context, type Effect, type Option, Schema } from "effect"
import type { InProgress } from "./Polls.js"

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
  /** The poll of this calendar running now in this process, with how far it has got. */
  readonly inProgress: (calendarId: string) => Effect.Effect<Option.Option<InProgress>>
  /**
   * A person confirmed that a mass deletion the safety stop halted is intended: one poll runs
   * with deletions let through, and its report is returned.
   */
  readonly confirmDeletes: (calendarId: string) => Effect.Effect<SyncCycle.CycleReport, EngineError>
}

export class Engine extends Context.Tag("@almanac/server/Engine")<Engine, EngineShape>() {}
