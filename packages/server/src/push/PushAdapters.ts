/**
 * How each provider opens, renews and closes a push channel, over the account's client
 * (AccountClients), so that the manager (Push.ts) is the same for both:
 *
 * - Google: an `events.watch` channel per calendar (docs/providers.md A.11). Google has no renewal:
 *   a new channel is opened before the old one expires, then the old one is stopped.
 * - Microsoft Graph: one subscription per account on `me/events`, the Outlook event resource Graph
 *   documents for delegated access (a single calendar is not one), renewed in place with PATCH (B.9).
 *   A notification names an event, not its calendar, so it wakes every watched calendar of the
 *   account.
 */
import { Duration, Effect, Option, type Redacted, Schema } from "effect"
import type { AccountClientsShape } from "../app/AccountClients.js"
import type { Channel, Provider } from "../store/PushChannels.js"

/** Why a channel could not be opened, renewed or closed: logged, and polling goes on. */
export class PushFailed extends Schema.TaggedError<PushFailed>()("PushFailed", {
  provider: Schema.String,
  detail: Schema.String
}) {
  override get message() {
    return `${this.provider} push: ${this.detail}`
  }
}

export interface Opened {
  readonly channelId: string
  readonly resourceId: string
  readonly expiresAt: number
}

export interface Target {
  readonly accountId: string
  /** The provider's calendar id (Google); unused for an account-wide subscription. */
  readonly calendarRef: string
}

export interface PushAdapter {
  readonly provider: Provider
  /** What one channel watches: one calendar, or the whole account. */
  readonly scope: "calendar" | "account"
  /** The path under the public URL the provider posts to. */
  readonly path: string
  readonly open: (
    target: Target,
    address: string,
    secret: Redacted.Redacted<string>
  ) => Effect.Effect<Opened, PushFailed>
  /** The new expiry when renewed in place; none when the provider cannot, or no longer has it. */
  readonly renew: (channel: Channel) => Effect.Effect<Option.Option<number>, PushFailed>
  readonly close: (channel: Channel) => Effect.Effect<void, PushFailed>
}

const failed =
  (provider: Provider) =>
  (e: { readonly _tag: string; readonly message: string }): PushFailed =>
    new PushFailed({ provider, detail: e.message === "" ? e._tag : e.message })

/** Asked of Google; it may answer a shorter life, and the answer is what is kept. */
const googleTtl = Duration.days(7)

/** Graph's documented limit for Outlook events (GraphCalendarClient), less a margin for clocks. */
const graphLifetime = Duration.minutes(4230 - 10)

export const google = (clients: AccountClientsShape): PushAdapter => ({
  provider: "google",
  scope: "calendar",
  path: "/push/google",
  open: (target, address, secret) =>
    Effect.gen(function* () {
      const client = yield* clients.googleClientFor(target.accountId)
      const channel = yield* client.watch(target.calendarRef, {
        id: crypto.randomUUID(),
        address,
        token: secret,
        ttlSeconds: Duration.toSeconds(googleTtl)
      })
      return { channelId: channel.id, resourceId: channel.resourceId, expiresAt: channel.expiration }
    }).pipe(Effect.mapError(failed("google"))),
  renew: () => Effect.succeed(Option.none()),
  close: (channel) =>
    Effect.gen(function* () {
      const client = yield* clients.googleClientFor(channel.accountId)
      yield* client.stopChannel({ id: channel.channelId, resourceId: channel.resourceId })
    }).pipe(Effect.mapError(failed("google")))
})

export const microsoft = (clients: AccountClientsShape): PushAdapter => ({
  provider: "microsoft",
  scope: "account",
  path: "/push/microsoft",
  open: (target, address, secret) =>
    Effect.gen(function* () {
      const client = yield* clients.graphClientFor(target.accountId)
      const expiration = new Date(Date.now() + Duration.toMillis(graphLifetime))
      // Lifecycle notifications come to the same address: one route tells them apart.
      const s = yield* client.subscribe({
        notificationUrl: address,
        lifecycleNotificationUrl: address,
        clientState: secret,
        expiration
      })
      return { channelId: s.id, resourceId: s.id, expiresAt: s.expiration }
    }).pipe(Effect.mapError(failed("microsoft"))),
  renew: (channel) =>
    Effect.gen(function* () {
      const client = yield* clients.graphClientFor(channel.accountId)
      const expiration = new Date(Date.now() + Duration.toMillis(graphLifetime))
      return yield* client.renewSubscription(channel.channelId, expiration).pipe(
        Effect.map((s) => Option.some(s.expiration)),
        Effect.catchTag("NotFound", () => Effect.succeed(Option.none()))
      )
    }).pipe(Effect.mapError(failed("microsoft"))),
  close: (channel) =>
    Effect.gen(function* () {
      const client = yield* clients.graphClientFor(channel.accountId)
      yield* client.deleteSubscription(channel.channelId)
    }).pipe(Effect.mapError(failed("microsoft")))
})
