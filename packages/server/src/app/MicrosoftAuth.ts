/**
 * Microsoft 365 and Outlook.com as an OAuth calendar service (`OAuthService`), plus what the
 * engine's Graph provider needs: a Graph client for one account. Provided only when a client id
 * and a public URL are configured.
 *
 * One Graph client per account, kept: Graph allows four requests in flight per mailbox, and the
 * client's own limit only holds if every calendar of the account shares it (AccountClients
 * keeps them).
 */
import type { SyncStore } from "@almanac/core"
import type { GraphCalendarClient } from "@almanac/providers"
import { Context, type Effect } from "effect"
import type { OAuthTokens } from "../store/Credential.js"
import type { ServiceAuthShape } from "./OAuthService.js"

export interface MicrosoftAuthShape extends ServiceAuthShape {
  /**
   * A Graph client for one account: its token source refreshes before expiry and once on a 401,
   * and reports every refreshed set (with its rotated refresh token) to `onRefresh` first; a
   * refused refresh is ProviderError.Unauthorized, which parks the account.
   */
  readonly graphClient: (input: {
    readonly accountId: string
    readonly tokens: OAuthTokens
    readonly onRefresh: (tokens: OAuthTokens) => Effect.Effect<void, SyncStore.StoreError>
  }) => Effect.Effect<GraphCalendarClient.GraphCalendarClientShape>
}

export class MicrosoftAuth extends Context.Tag("@almanac/server/MicrosoftAuth")<
  MicrosoftAuth,
  MicrosoftAuthShape
>() {}
