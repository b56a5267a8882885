/**
 * The push channels this server holds open at providers (migration `5_push_channels`): a Google
 * `events.watch` channel per watched Google calendar, a Graph subscription per Microsoft account.
 * Each row keeps what renewing and stopping need and a hash of the secret the provider echoes with
 * every notification (the channel token, the subscription's clientState); the secret itself is
 * sent once and never stored, so reading the table is not enough to forge a notification.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { SyncStore } from "@almanac/core"
import { SqlClient, SqlSchema } from "@effect/sql"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"

export const Provider = Schema.Literal("google", "microsoft")
export type Provider = typeof Provider.Type

const Num = Schema.Union(Schema.Number, Schema.NumberFromString)

export const Channel = Schema.Struct({
  channelId: Schema.String,
  provider: Provider,
  accountId: Schema.String,
  /** The watched calendar (Google); none for a subscription on the account's mailbox (Graph). */
  calendarId: Schema.OptionFromNullOr(Schema.String),
  /** Google's resourceId (stopping needs it); Graph's subscription id again. */
  resourceId: Schema.String,
  tokenHash: Schema.String,
  createdAt: Num,
  expiresAt: Num
})
export type Channel = typeof Channel.Type

const Row = Schema.Struct({
  channel_id: Schema.String,
  provider: Provider,
  account_id: Schema.String,
  calendar_id: Schema.NullOr(Schema.String),
  resource_id: Schema.String,
  token_hash: Schema.String,
  created_at: Num,
  expires_at: Num
})

const fromRow = (r: typeof Row.Type): Channel => ({
  channelId: r.channel_id,
  provider: r.provider,
  accountId: r.account_id,
  calendarId: Option.fromNullable(r.calendar_id),
  resourceId: r.resource_id,
  tokenHash: r.token_hash,
  createdAt: r.created_at,
  expiresAt: r.expires_at
})

/** A new channel secret: 32 random bytes, base64url (Graph allows clientState up to 128 characters). */
export const newSecret = (): Redacted.Redacted<string> => Redacted.make(randomBytes(32).toString("base64url"))

export const hashOf = (secret: string): string => createHash("sha256").update(secret, "utf8").digest("hex")

/** Whether `secret` (from a notification) is the channel's, compared in constant time. */
export const matches = (channel: Channel, secret: string | undefined): boolean => {
  if (secret === undefined) return false
  const a = Buffer.from(hashOf(secret), "hex")
  const b = Buffer.from(channel.tokenHash, "hex")
  return a.length === b.length && timingSafeEqual(a, b)
}

export interface PushChannelsShape {
  readonly all: Effect.Effect<ReadonlyArray<Channel>, SyncStore.StoreError>
  readonly byId: (channelId: string) => Effect.Effect<Option.Option<Channel>, SyncStore.StoreError>
  readonly add: (channel: Channel) => Effect.Effect<void, SyncStore.StoreError>
  /** A renewal: the channel's life now runs from `renewedAt` to `expiresAt`. */
  readonly setExpiry: (
    channelId: string,
    renewedAt: number,
    expiresAt: number
  ) => Effect.Effect<void, SyncStore.StoreError>
  readonly remove: (channelId: string) => Effect.Effect<void, SyncStore.StoreError>
}

export class PushChannels extends Context.Tag("@almanac/server/PushChannels")<
  PushChannels,
  PushChannelsShape
>() {}

export const make: Effect.Effect<PushChannelsShape, never, SqlClient.SqlClient> = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const storeError = (operation: string) => (e: { readonly message: string }) =>
    new SyncStore.StoreError({ operation, detail: e.message })

  const all = SqlSchema.findAll({
    Request: Schema.Void,
    Result: Row,
    execute: () => sql`SELECT * FROM push_channels`
  })
  const byId = SqlSchema.findOne({
    Request: Schema.String,
    Result: Row,
    execute: (id) => sql`SELECT * FROM push_channels WHERE channel_id = ${id}`
  })

  return {
    all: all(undefined).pipe(
      Effect.map((rows) => rows.map(fromRow)),
      Effect.mapError(storeError("read the push channels"))
    ),
    byId: (channelId) =>
      byId(channelId).pipe(
        Effect.map(Option.map(fromRow)),
        Effect.mapError(storeError("read a push channel"))
      ),
    add: (c) =>
      sql`INSERT INTO push_channels (channel_id, provider, account_id, calendar_id, resource_id, token_hash, created_at, expires_at)
        VALUES (${c.channelId}, ${c.provider}, ${c.accountId}, ${Option.getOrNull(c.calendarId)}, ${c.resourceId},
                ${c.tokenHash}, ${c.createdAt}, ${c.expiresAt})`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("record a push channel"))
      ),
    setExpiry: (channelId, renewedAt, expiresAt) =>
      sql`UPDATE push_channels SET created_at = ${renewedAt}, expires_at = ${expiresAt} WHERE channel_id = ${channelId}`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("renew a push channel"))
      ),
    remove: (channelId) =>
      sql`DELETE FROM push_channels WHERE channel_id = ${channelId}`.pipe(
        Effect.asVoid,
        Effect.mapError(storeError("forget a push channel"))
      )
  }
})

export const layer: Layer.Layer<PushChannels, never, SqlClient.SqlClient> = Layer.effect(PushChannels, make)
