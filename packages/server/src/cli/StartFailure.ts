/**
 * Why `almanac serve` could not start, in one line that names the cause and what to change: the
 * address taken or not this machine's, the database that would not open, the data folder or key
 * file that could not be written. Whatever else fails (a defect included) is still one line.
 */
import { Cause, Option } from "effect"
import type { ServerConfig } from "../Config.js"
import { describeError } from "./Output.js"

const field = (value: unknown, name: string): unknown =>
  typeof value === "object" && value !== null && name in value
    ? (value as Record<string, unknown>)[name]
    : undefined

const text = (value: unknown, name: string): string | undefined => {
  const v = field(value, name)
  return typeof v === "string" ? v : undefined
}

/** The listen error the HTTP server failed with (node's `listen` error inside a ServeError). */
const listenFailure = (error: unknown, config: Pick<ServerConfig, "host" | "port">): string | undefined => {
  if (text(error, "_tag") !== "ServeError") return undefined
  const cause = field(error, "cause")
  const code = text(cause, "code")
  const address = `${config.host}:${config.port}`
  switch (code) {
    case "EADDRINUSE":
      return `${address} is already in use (another almanac, or set ALMANAC_PORT / --port)`
    case "EADDRNOTAVAIL":
      return `cannot listen on ${address}: ${config.host} is not an address of this machine (set ALMANAC_HOST / --host)`
    case "EACCES":
      return `not allowed to listen on ${address} (ports below 1024 need privileges; set ALMANAC_PORT / --port)`
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `cannot listen on ${address}: the host name ${config.host} does not resolve (set ALMANAC_HOST / --host)`
    default:
      return `cannot listen on ${address}: ${text(cause, "message") ?? code ?? "unknown error"}`
  }
}

const firstLine = (s: string): string => s.split("\n")[0] ?? s

export const describe = (
  cause: Cause.Cause<unknown>,
  config: Pick<ServerConfig, "host" | "port">
): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const error = failure.value
    const tag = text(error, "_tag")
    // These carry their cause in words already; their tag would only be noise.
    const words =
      tag === "DatabaseError" || tag === "VaultSetupError" || tag === "CliError" || tag === "RunnerError"
        ? (text(error, "message") ?? describeError(error))
        : describeError(error)
    return listenFailure(error, config) ?? `cannot start: ${firstLine(words)}`
  }
  const defect = Cause.dieOption(cause)
  if (Option.isSome(defect)) {
    const d = defect.value
    const message = d instanceof Error ? d.message : typeof d === "string" ? d : describeError(d)
    return `cannot start: ${firstLine(message)}`
  }
  return `cannot start: ${firstLine(Cause.pretty(cause))}`
}
