/**
 * A usable access token for a Google account: the stored one while it has more than a minute
 * left, else a refreshed one, sealed and stored before it is used (so the token Google now holds
 * is always the one kept). A refresh Google refuses (`invalid_grant`: revoked, or expired) marks
 * the account needs-reauth; an access token that simply expired never does.
 */
import type { CredentialVault, SyncStore } from "@almanac/core"
import { Clock, Effect, Option, type Redacted, Schema } from "effect"
import type { AccountsShape } from "../store/Accounts.js"
import type { CredentialUnreadable } from "../store/Credential.js"
import { type GoogleAuthFailed, type GoogleAuthShape, toStored } from "./GoogleAuth.js"

/** The account has no OAuth tokens (erased, or not an OAuth account). */
export class NoTokens extends Schema.TaggedError<NoTokens>()("NoTokens", { accountId: Schema.String }) {}

const margin = 60_000

export const accessToken = (
  accounts: AccountsShape,
  auth: GoogleAuthShape,
  accountId: string
): Effect.Effect<
  Redacted.Redacted<string>,
  GoogleAuthFailed | NoTokens | SyncStore.StoreError | CredentialVault.VaultError | CredentialUnreadable
> =>
  Effect.gen(function* () {
    const credential = yield* accounts.credential(accountId)
    if (Option.isNone(credential) || credential.value._tag !== "oauth")
      return yield* new NoTokens({ accountId })
    const tokens = credential.value
    const now = yield* Clock.currentTimeMillis
    if (tokens.expiresAt - margin > now) return tokens.accessToken
    const issued = yield* auth
      .refresh(tokens.refreshToken)
      .pipe(
        Effect.tapError((e) =>
          e.reason === "refused"
            ? accounts.setStatus(
                accountId,
                "needs-reauth",
                Option.some("Google refused the stored access (revoked or expired); connect Google again")
              )
            : Effect.void
        )
      )
    const stored = toStored(issued, tokens.refreshToken)
    yield* accounts.saveTokens(accountId, stored)
    return stored.accessToken
  })
