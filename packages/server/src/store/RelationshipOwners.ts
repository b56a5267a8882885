/**
 * Who owns each relationship. The engine stores relationships and knows no users; the server
 * marks each row it saves with its user (the `user_id` column, the server's own) and reads a
 * person's relationships by it. The engine's reads are given `ownedOnly`, so a row the server did
 * not make (an `almanac sync` run on the server's database) is never synced by the server.
 */
import { type Relationship, SyncStore } from "@almanac/core"
import { SqlClient } from "@effect/sql"
import { Array as Arr, Context, Effect, Layer, Schema } from "effect"

/** The condition the server's engine reads relationships under. */
export const ownedOnly = "user_id IS NOT NULL"

/** A relationship row and the user it belongs to. */
export interface OwnedRelationship extends SyncStore.StoredRelationship {
  readonly userId: string
}

export interface RelationshipOwnersShape {
  /**
   * Saves a user's relationships (both halves of a two-way mirror together) as theirs, in one
   * transaction, keeping the creation time of rows that already exist.
   */
  readonly save: (
    userId: string,
    relationships: ReadonlyArray<Relationship.Relationship>
  ) => Effect.Effect<void, SyncStore.StoreError>
  /** Every relationship row a user owns (both halves of a two-way mirror), oldest first. */
  readonly ofUser: (userId: string) => Effect.Effect<ReadonlyArray<OwnedRelationship>, SyncStore.StoreError>
}

export class RelationshipOwners extends Context.Tag("@almanac/server/RelationshipOwners")<
  RelationshipOwners,
  RelationshipOwnersShape
>() {}

const Owned = Schema.Array(Schema.Struct({ id: Schema.String }))

/** SQL Server takes 2,100 parameters a statement: ids go in lists of at most this many. */
const maxInList = 500

export const make: Effect.Effect<RelationshipOwnersShape, never, SqlClient.SqlClient | SyncStore.SyncStore> =
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const store = yield* SyncStore.SyncStore
    const failed = (operation: string) => (e: { readonly message: string }) =>
      new SyncStore.StoreError({ operation, detail: e.message })

    return {
      save: (userId, relationships) =>
        Effect.gen(function* () {
          yield* store.saveRelationships(relationships)
          for (const ids of Arr.chunksOf(
            relationships.map((r) => r.id),
            maxInList
          )) {
            yield* sql`UPDATE relationships SET user_id = ${userId} WHERE ${sql.in("id", ids)}`.pipe(
              Effect.mapError(failed("save relationship"))
            )
          }
        }).pipe(
          sql.withTransaction,
          Effect.catchTag("SqlError", (e) => Effect.fail(failed("save relationship")(e)))
        ),
      ofUser: (userId) =>
        Effect.gen(function* () {
          const owned = yield* sql`SELECT id FROM relationships WHERE user_id = ${userId}`.pipe(
            Effect.flatMap(Schema.decodeUnknown(Owned)),
            Effect.mapError(failed("read relationships"))
          )
          const rows = yield* store.relationshipsWithIds(owned.map((o) => o.id))
          return rows
            .map((r): OwnedRelationship => ({ ...r, userId }))
            .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        })
    }
  })

export const layer: Layer.Layer<RelationshipOwners, never, SqlClient.SqlClient | SyncStore.SyncStore> =
  Layer.effect(RelationshipOwners, make)
