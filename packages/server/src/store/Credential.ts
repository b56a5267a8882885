/**
 * What an account's sealed secret holds: a password (iCloud, CalDAV) or OAuth tokens (Google).
 * Sealed as JSON (`json-v1` in accounts.secret_format) and decoded with Schema after opening;
 * rows written before that format hold a bare password and are read as one. Every secret stays
 * Redacted in memory, and no decoding error carries the plaintext it failed on.
 */
import { Effect, Either, ParseResult, Redacted, Schema } from "effect"

export const Password = Schema.TaggedStruct("password", {
  password: Schema.Redacted(Schema.String)
})
export type Password = typeof Password.Type

/** OAuth tokens; `expiresAt` is when the access token stops working (epoch milliseconds). */
export const OAuthTokens = Schema.Struct({
  accessToken: Schema.Redacted(Schema.String),
  refreshToken: Schema.Redacted(Schema.String),
  expiresAt: Schema.Number,
  scope: Schema.String
})
export type OAuthTokens = typeof OAuthTokens.Type

export const OAuth = Schema.TaggedStruct("oauth", { ...OAuthTokens.fields })
export type OAuth = typeof OAuth.Type

export const Credential = Schema.Union(Password, OAuth)
export type Credential = typeof Credential.Type

/** accounts.secret_format of sealed JSON; NULL is the bare password of older rows. */
export const jsonFormat = "json-v1"

export class CredentialUnreadable extends Schema.TaggedError<CredentialUnreadable>()("CredentialUnreadable", {
  reason: Schema.String
}) {
  override get message() {
    return `the stored credential does not decode: ${this.reason}`
  }
}

const Json = Schema.parseJson(Credential)

/** The plaintext to seal (JSON), Redacted: it holds the secret. */
export const encode = (credential: Credential): Redacted.Redacted<string> =>
  Redacted.make(Schema.encodeSync(Json)(credential))

/**
 * The credential in an opened secret. A decoding failure names only the path that failed, never
 * the value (a ParseError's message quotes it).
 */
export const decode = (
  format: string | null,
  opened: Redacted.Redacted<string>
): Effect.Effect<Credential, CredentialUnreadable> => {
  if (format === null) return Effect.succeed(Password.make({ password: opened }))
  if (format !== jsonFormat)
    return Effect.fail(new CredentialUnreadable({ reason: `unknown format ${JSON.stringify(format)}` }))
  const decoded = Schema.decodeUnknownEither(Json)(Redacted.value(opened))
  return Either.isRight(decoded)
    ? Effect.succeed(decoded.right)
    : Effect.fail(
        new CredentialUnreadable({
          reason: `not a password or OAuth tokens (${ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
            .map((issue) => issue.path.join(".") || "the whole value")
            .join(", ")})`
        })
      )
}
