/**
 * Where the server's and the CLI's log lines go and what they look like: stderr, always, so that
 * stdout carries only what a command prints for people or scripts (`--json` is one document);
 * logfmt, or JSON with ALMANAC_LOG_FORMAT=json; info and up, or debug with ALMANAC_LOG_LEVEL=debug.
 *
 * A log call with several parts (`Effect.logWarning("poll failed", id, tag)`) becomes one
 * message: Effect's logfmt writes each part as its own `message=` key, and a key twice in a
 * line is not logfmt any more.
 */
import { Inspectable, Layer, Logger, LogLevel } from "effect"

const oneMessage = (message: unknown): unknown =>
  Array.isArray(message) ? message.map((part) => Inspectable.toStringUnknown(part, 0)).join(" ") : message

export const logger = (format: "logfmt" | "json"): Logger.Logger<unknown, void> =>
  Logger.withConsoleError(
    Logger.mapInput(format === "json" ? Logger.jsonLogger : Logger.logfmtLogger, oneMessage)
  )

/** The logger and level the environment asks for, in place of Effect's default logger (stdout). */
export const layer = (env: Record<string, string | undefined>): Layer.Layer<never> =>
  Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, logger(env.ALMANAC_LOG_FORMAT === "json" ? "json" : "logfmt")),
    Logger.minimumLogLevel(env.ALMANAC_LOG_LEVEL === "debug" ? LogLevel.Debug : LogLevel.Info)
  )
