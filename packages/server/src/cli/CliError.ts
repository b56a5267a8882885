import { Schema } from "effect"

/** A problem with how the CLI was called or its environment; printed as one line. */
export class CliError extends Schema.TaggedError<CliError>()("CliError", {
  message: Schema.String
}) {}
