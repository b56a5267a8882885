/**
 * The sync state in SQL: calendars and their cursors, relationships, the link table, quarantined
 * items, conflicts and the run log. Dialect-neutral statements (SQLite by default, SQL Server in
 * production, PostgreSQL for multi-runner tests); upserts are delete-then-insert in a transaction
 * because the three dialects spell upserts three ways.
 */

import { createHash, randomUUID } from "node:crypto"
import { SqlClient, type SqlError, type Statement } from "@effect/sql"
import { Array as Arr, Context, Effect, Layer, Option, type ParseResult, Schema } from "effect"
import { SyncPolicy } from "./Policy.js"
import type { Relationship } from "./Relationship.js"
import type { Link } from "./SyncPlan.js"
import { copyKey } from "./SyncPlanner.js"

/**
 * Ids bound in one `IN (…)` list at most: SQL Server takes 2,100 parameters a statement and
 * SQLite 32,766, so a long list (an account with thousands of calendars) goes in chunks.
 */
const maxInList = 500

export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  detail: Schema.String
}) {}

export interface CalendarRecord {
  readonly id: string
  readonly accountId: string
  /** The provider's ref of the calendar (a CalDAV collection URL, a Google calendar id…). */
  readonly ref: string
  /** Its account's kind ("icloud", "caldav", "google"…): which provider opens it. */
  readonly kind: string
  readonly cursor: Option.Option<string>
  readonly polls: number
  readonly lastPollAt: Option.Option<number>
  readonly lastSuccessAt: Option.Option<number>
  readonly lastReconcileAt: Option.Option<number>
  readonly lastError: Option.Option<string>
  /** When the last failed poll ended; kept after a recovery, so "last failed at" stays answerable. */
  readonly lastErrorAt: Option.Option<number>
  /** Polls in a row that failed, this one included; 0 after a poll that worked. */
  readonly failures: number
  readonly halted: Option.Option<string>
}

/** A relationship as stored: with when it was first saved (kept when it is saved again). */
export interface StoredRelationship extends Relationship {
  readonly createdAt: number
}

export interface QuarantinedItem {
  readonly ref: string
  readonly version: string
  readonly reason: string
}

const keyOf = (value: string): string => createHash("sha256").update(value).digest("hex").slice(0, 40)

/** SQL Server returns BIGINT as a string; SQLite and PostgreSQL (int4) as numbers. */
const Num = Schema.Union(Schema.Number, Schema.NumberFromString)
const OptNum = Schema.NullOr(Num)
const OptStr = Schema.NullOr(Schema.String)

// Column names predate the provider port (url, href, etag): they are storage, renamed here, not in
// SQL, because a column rename is spelt differently in each of the three dialects.
const CalendarRow = Schema.Struct({
  id: Schema.String,
  account_id: Schema.String,
  url: Schema.String,
  account_kind: Schema.String,
  cursor_value: OptStr,
  polls: Num,
  last_poll_at: OptNum,
  last_success_at: OptNum,
  last_reconcile_at: OptNum,
  last_error: OptStr,
  last_error_at: OptNum,
  failures: Num,
  halted: OptStr
})

const RelationshipRow = Schema.Struct({
  id: Schema.String,
  source_calendar_id: Schema.String,
  target_calendar_id: Schema.String,
  pair_id: OptStr,
  policy: Schema.parseJson(SyncPolicy),
  window_past_days: OptNum,
  window_future_days: OptNum,
  paused: Num
})

const StoredRelationshipRow = Schema.Struct({ ...RelationshipRow.fields, created_at: Num })

const LinkRow = Schema.Struct({
  relationship_id: Schema.String,
  source_uid: Schema.String,
  copy_key: OptStr,
  source_href: Schema.String,
  source_etag: Schema.String,
  target_href: Schema.String,
  target_etag: Schema.String,
  content_hash: Schema.String,
  sequence_number: Num
})

const QuarantineRow = Schema.Struct({ href: Schema.String, etag: Schema.String, reason: Schema.String })

export interface SyncStoreShape {
  readonly ensureAccount: (account: {
    readonly id: string
    readonly kind: string
    readonly url: string
    readonly username: Option.Option<string>
  }) => Effect.Effect<void, StoreError>
  /** Registers a calendar of an account already saved (its kind comes from the account). */
  readonly ensureCalendar: (calendar: {
    readonly id: string
    readonly accountId: string
    readonly ref: string
  }) => Effect.Effect<CalendarRecord, StoreError>
  readonly calendar: (id: string) => Effect.Effect<Option.Option<CalendarRecord>, StoreError>
  /** Moves the cursor. Call only after every write the cursor covers is recorded. */
  readonly saveCursor: (calendarId: string, cursor: Option.Option<string>) => Effect.Effect<void, StoreError>
  /**
   * A poll that worked, counted in place (no row per poll). `nextPollAt`, when the caller knows
   * it, is written in the same statement: an idle poll is then one write.
   */
  readonly recordPoll: (
    calendarId: string,
    poll: {
      readonly at: number
      readonly error: Option.Option<string>
      readonly reconciled: boolean
      readonly nextPollAt?: Option.Option<number>
    }
  ) => Effect.Effect<void, StoreError>
  /**
   * A poll that failed (the server refused, could not be reached, answered 5xx…), with the words
   * a person reads on the status; counts the failures in a row until a poll works again.
   */
  readonly recordFailure: (
    calendarId: string,
    failure: { readonly at: number; readonly error: string }
  ) => Effect.Effect<void, StoreError>
  /** When the calendar's actor means to poll next (None while parked). */
  readonly setNextPoll: (calendarId: string, at: Option.Option<number>) => Effect.Effect<void, StoreError>
  readonly setHalted: (calendarId: string, reason: Option.Option<string>) => Effect.Effect<void, StoreError>
  /** Saves a relationship, keeping when it was first saved. */
  readonly saveRelationship: (relationship: Relationship) => Effect.Effect<void, StoreError>
  /**
   * Saves relationships together (both halves of a two-way mirror) in one transaction, inside the
   * caller's when there is one, keeping the creation time of rows that already exist.
   */
  readonly saveRelationships: (relationships: ReadonlyArray<Relationship>) => Effect.Effect<void, StoreError>
  /** The stored relationships among `ids` (whatever the engine's read condition), in no order. */
  readonly relationshipsWithIds: (
    ids: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<StoredRelationship>, StoreError>
  readonly relationshipsOf: (calendarId: string) => Effect.Effect<
    {
      readonly asSource: ReadonlyArray<Relationship>
      readonly asTarget: ReadonlyArray<Relationship>
    },
    StoreError
  >
  /**
   * Forgets a relationship: its row, links and conflicts, in one transaction. The copies it wrote
   * stay on the target; removing them first is the caller's choice.
   */
  readonly deleteRelationship: (relationshipId: string) => Effect.Effect<void, StoreError>
  /**
   * Forgets calendars: their quarantined items, their run log and their rows (cursor and poll
   * state), in one transaction (inside the caller's when there is one). Relationships, and so links
   * and conflicts, are not touched: the caller removes those that use the calendars first.
   */
  readonly forgetCalendars: (calendarIds: ReadonlyArray<string>) => Effect.Effect<void, StoreError>
  readonly links: (relationshipId: string) => Effect.Effect<ReadonlyArray<Link>, StoreError>
  /** How many copies a relationship keeps (its links), without reading them. */
  readonly countLinks: (relationshipId: string) => Effect.Effect<number, StoreError>
  /**
   * Makes the next poll of a calendar read every item again: the cursor is dropped and the source
   * versions of its outgoing links are forgotten. A poll fetches only versions it does not know
   * and a feed lists only what changed, so without this a changed policy or window, a resumed
   * relationship or a second relationship from the same calendar would reach only events that
   * change afterwards. Links are kept, so copies are matched again, not duplicated.
   */
  readonly rescan: (calendarId: string) => Effect.Effect<void, StoreError>
  /** When the calendar polls next, as its actor last said (none until it says). */
  readonly nextPollAt: (calendarId: string) => Effect.Effect<Option.Option<number>, StoreError>
  /** Every calendar's recorded next poll, in one read (a start with many calendars). */
  readonly nextPolls: Effect.Effect<ReadonlyMap<string, number>, StoreError>
  readonly saveLink: (link: Link) => Effect.Effect<void, StoreError>
  readonly deleteLink: (relationshipId: string, sourceUid: string) => Effect.Effect<void, StoreError>
  readonly quarantined: (calendarId: string) => Effect.Effect<ReadonlyArray<QuarantinedItem>, StoreError>
  readonly quarantine: (calendarId: string, item: QuarantinedItem) => Effect.Effect<void, StoreError>
  readonly release: (calendarId: string, ref: string) => Effect.Effect<void, StoreError>
  readonly recordConflict: (conflict: {
    readonly relationshipId: string
    readonly sourceUid: string
    readonly targetRef: string
    readonly detail: string
  }) => Effect.Effect<void, StoreError>
  /** The most recent `limit` conflicts of a relationship, oldest first. */
  readonly conflicts: (
    relationshipId: string,
    limit: number
  ) => Effect.Effect<ReadonlyArray<{ readonly sourceUid: string; readonly detail: string }>, StoreError>
  /** The most recent runs of a calendar, newest first. */
  readonly runs: (
    calendarId: string,
    limit: number
  ) => Effect.Effect<
    ReadonlyArray<{ readonly outcome: string; readonly summary: unknown; readonly finishedAt: number }>,
    StoreError
  >
  /**
   * Records a run and prunes the calendar's log to the newest `runsKept` runs within
   * `historyDays` days. A poll that found nothing is not a run: callers record only runs that
   * did something (the calendar's poll state counts every poll).
   */
  readonly recordRun: (run: {
    readonly calendarId: string
    readonly startedAt: number
    readonly finishedAt: number
    readonly outcome: string
    readonly summary: unknown
  }) => Effect.Effect<void, StoreError>
}

export class SyncStore extends Context.Tag("@almanac/core/SyncStore")<SyncStore, SyncStoreShape>() {}

const some = <A>(value: A | null): Option.Option<A> => Option.fromNullable(value)

/** How much history is kept: per calendar (runs) and per relationship (conflicts), and for how long. */
export const runsKept = 200
export const conflictsKept = 200
export const historyDays = 30
const DAY = 86_400_000

export interface Options {
  /**
   * A condition on the relationships table's columns that every read of a calendar's
   * relationships adds. The engine knows no owners; the server's condition keeps out rows it did
   * not create (`almanac sync` on a database a server also opens). None: every row is read.
   */
  readonly relationshipCondition?: string
}

export const makeWith = (options: Options): Effect.Effect<SyncStoreShape, never, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const owned =
      options.relationshipCondition === undefined
        ? sql``
        : sql.unsafe(` AND (${options.relationshipCondition})`)

    const guard =
      (operation: string) =>
      <A, E extends SqlError.SqlError | ParseResult.ParseError, R>(effect: Effect.Effect<A, E, R>) =>
        effect.pipe(Effect.mapError((e) => new StoreError({ operation, detail: e.message })))

    /** The newest `limit` rows of `select` by `column`, in SQL: the log is never read whole. */
    const newest = (select: Statement.Fragment, column: string, limit: number) =>
      sql.onDialectOrElse({
        mssql: () => sql`${select} ORDER BY ${sql(column)} DESC OFFSET 0 ROWS FETCH NEXT ${limit} ROWS ONLY`,
        orElse: () => sql`${select} ORDER BY ${sql(column)} DESC LIMIT ${limit}`
      })

    /** Deletes the rows of `table` for `key` beyond the newest `kept` by `column` (ties kept or not, the count is exact). */
    const keepNewest = (table: string, column: string, keyColumn: string, key: string, kept: number) =>
      sql.onDialectOrElse({
        mssql: () =>
          sql`DELETE FROM ${sql(table)} WHERE ${sql(keyColumn)} = ${key} AND id NOT IN (SELECT TOP (${kept}) id FROM ${sql(table)} WHERE ${sql(keyColumn)} = ${key} ORDER BY ${sql(column)} DESC)`,
        orElse: () =>
          sql`DELETE FROM ${sql(table)} WHERE ${sql(keyColumn)} = ${key} AND id NOT IN (SELECT id FROM ${sql(table)} WHERE ${sql(keyColumn)} = ${key} ORDER BY ${sql(column)} DESC LIMIT ${kept})`
      })

    const decodeCalendar = Schema.decodeUnknown(CalendarRow)
    const toCalendar = (row: typeof CalendarRow.Type): CalendarRecord => ({
      id: row.id,
      accountId: row.account_id,
      ref: row.url,
      kind: row.account_kind,
      cursor: some(row.cursor_value),
      polls: row.polls,
      lastPollAt: some(row.last_poll_at),
      lastSuccessAt: some(row.last_success_at),
      lastReconcileAt: some(row.last_reconcile_at),
      lastError: some(row.last_error),
      lastErrorAt: some(row.last_error_at),
      failures: row.failures,
      halted: some(row.halted)
    })

    const calendar = (id: string) =>
      sql`SELECT c.*, a.kind AS account_kind FROM calendars c JOIN accounts a ON a.id = c.account_id WHERE c.id = ${id}`.pipe(
        Effect.flatMap((rows) =>
          rows[0] === undefined
            ? Effect.succeed(Option.none())
            : Effect.map(decodeCalendar(rows[0]), (r) => Option.some(toCalendar(r)))
        ),
        guard("read calendar")
      )

    const decodeRelationships = Schema.decodeUnknown(Schema.Array(RelationshipRow))
    const toRelationship = (row: typeof RelationshipRow.Type): Relationship => ({
      id: row.id,
      sourceCalendarId: row.source_calendar_id,
      targetCalendarId: row.target_calendar_id,
      pairId: some(row.pair_id),
      policy: row.policy,
      window:
        row.window_past_days === null || row.window_future_days === null
          ? Option.none()
          : Option.some({ pastDays: row.window_past_days, futureDays: row.window_future_days }),
      paused: row.paused !== 0
    })

    const decodeLinks = Schema.decodeUnknown(Schema.Array(LinkRow))
    const decodeQuarantine = Schema.decodeUnknown(Schema.Array(QuarantineRow))
    const encodePolicy = Schema.encode(Schema.parseJson(SyncPolicy))

    const decodeStored = Schema.decodeUnknown(Schema.Array(StoredRelationshipRow))
    // An existing row is updated in place: columns the engine does not know (the server's owner)
    // and its creation time stay as they are.
    const saveOne = (r: Relationship) =>
      Effect.gen(function* () {
        const policy = yield* encodePolicy(r.policy)
        const pastDays = Option.match(r.window, { onNone: () => null, onSome: (w) => w.pastDays })
        const futureDays = Option.match(r.window, { onNone: () => null, onSome: (w) => w.futureDays })
        const existing = yield* sql`SELECT id FROM relationships WHERE id = ${r.id}`
        if (existing.length > 0) {
          yield* sql`UPDATE relationships SET source_calendar_id = ${r.sourceCalendarId}, target_calendar_id = ${r.targetCalendarId},
            pair_id = ${Option.getOrNull(r.pairId)}, policy = ${policy}, window_past_days = ${pastDays},
            window_future_days = ${futureDays}, paused = ${r.paused ? 1 : 0} WHERE id = ${r.id}`
          return
        }
        yield* sql`INSERT INTO relationships (id, source_calendar_id, target_calendar_id, pair_id, policy, window_past_days, window_future_days, paused, created_at)
          VALUES (${r.id}, ${r.sourceCalendarId}, ${r.targetCalendarId}, ${Option.getOrNull(r.pairId)}, ${policy},
                  ${pastDays}, ${futureDays}, ${r.paused ? 1 : 0}, ${Date.now()})`
      })

    return {
      ensureAccount: (account) =>
        sql`SELECT id FROM accounts WHERE id = ${account.id}`.pipe(
          Effect.flatMap((rows) =>
            rows.length > 0
              ? Effect.void
              : Effect.asVoid(sql`INSERT INTO accounts (id, kind, url, username, secret, status, created_at)
                  VALUES (${account.id}, ${account.kind}, ${account.url}, ${Option.getOrNull(account.username)}, ${null}, ${"ok"}, ${Date.now()})`)
          ),
          Effect.asVoid,
          guard("save account")
        ),
      ensureCalendar: (c) =>
        Effect.gen(function* () {
          const existing = yield* calendar(c.id)
          if (Option.isSome(existing)) return existing.value
          yield* sql`INSERT INTO calendars (id, account_id, url, polls) VALUES (${c.id}, ${c.accountId}, ${c.ref}, ${0})`.pipe(
            guard("save calendar")
          )
          const created = yield* calendar(c.id)
          return yield* Option.match(created, {
            onNone: () => Effect.fail(new StoreError({ operation: "save calendar", detail: "row vanished" })),
            onSome: Effect.succeed
          })
        }),
      calendar,
      saveCursor: (calendarId, cursor) =>
        sql`UPDATE calendars SET cursor_value = ${Option.getOrNull(cursor)} WHERE id = ${calendarId}`.pipe(
          Effect.asVoid,
          guard("save cursor")
        ),
      recordPoll: (calendarId, poll) => {
        // NULL keeps what the row holds: a poll that did not reconcile, a caller with no next time.
        const next = Option.getOrNull(poll.nextPollAt ?? Option.none())
        const reconciled = poll.reconciled ? poll.at : null
        return (
          Option.isNone(poll.error)
            ? sql`UPDATE calendars SET polls = polls + 1, last_poll_at = ${poll.at}, last_success_at = ${poll.at}, last_reconcile_at = COALESCE(${reconciled}, last_reconcile_at), last_error = ${null}, failures = ${0}, next_poll_at = COALESCE(${next}, next_poll_at) WHERE id = ${calendarId}`
            : sql`UPDATE calendars SET polls = polls + 1, last_poll_at = ${poll.at}, last_error = ${poll.error.value}, last_error_at = ${poll.at}, failures = failures + 1 WHERE id = ${calendarId}`
        ).pipe(Effect.asVoid, guard("record poll"))
      },
      recordFailure: (calendarId, failure) =>
        sql`UPDATE calendars SET polls = polls + 1, last_poll_at = ${failure.at}, last_error = ${failure.error}, last_error_at = ${failure.at}, failures = failures + 1 WHERE id = ${calendarId}`.pipe(
          Effect.asVoid,
          guard("record a failed poll")
        ),
      setNextPoll: (calendarId, at) =>
        sql`UPDATE calendars SET next_poll_at = ${Option.getOrNull(at)} WHERE id = ${calendarId}`.pipe(
          Effect.asVoid,
          guard("record next poll")
        ),
      setHalted: (calendarId, reason) =>
        sql`UPDATE calendars SET halted = ${Option.getOrNull(reason)} WHERE id = ${calendarId}`.pipe(
          Effect.asVoid,
          guard("record halt")
        ),
      saveRelationship: (r) => saveOne(r).pipe(sql.withTransaction, guard("save relationship")),
      saveRelationships: (relationships) =>
        Effect.forEach(relationships, saveOne, { discard: true }).pipe(
          sql.withTransaction,
          guard("save relationship")
        ),
      relationshipsWithIds: (ids) =>
        Effect.forEach(
          Arr.chunksOf(ids, maxInList),
          (chunk) =>
            sql`SELECT * FROM relationships WHERE ${sql.in("id", chunk)}`.pipe(
              Effect.flatMap(decodeStored),
              Effect.map((rows) =>
                rows.map((row): StoredRelationship => ({ ...toRelationship(row), createdAt: row.created_at }))
              )
            ),
          { concurrency: 1 }
        ).pipe(Effect.map(Arr.flatten), guard("read relationships")),
      relationshipsOf: (calendarId) =>
        Effect.gen(function* () {
          const asSource =
            yield* sql`SELECT * FROM relationships WHERE source_calendar_id = ${calendarId}${owned} ORDER BY id`.pipe(
              Effect.flatMap(decodeRelationships)
            )
          const asTarget =
            yield* sql`SELECT * FROM relationships WHERE target_calendar_id = ${calendarId}${owned} ORDER BY id`.pipe(
              Effect.flatMap(decodeRelationships)
            )
          return { asSource: asSource.map(toRelationship), asTarget: asTarget.map(toRelationship) }
        }).pipe(guard("read relationships")),
      deleteRelationship: (relationshipId) =>
        Effect.gen(function* () {
          yield* sql`DELETE FROM links WHERE relationship_id = ${relationshipId}`
          yield* sql`DELETE FROM conflicts WHERE relationship_id = ${relationshipId}`
          yield* sql`DELETE FROM relationships WHERE id = ${relationshipId}`
        }).pipe(sql.withTransaction, guard("delete relationship")),
      forgetCalendars: (calendarIds) =>
        calendarIds.length === 0
          ? Effect.void
          : Effect.forEach(
              Arr.chunksOf(calendarIds, maxInList),
              (ids) =>
                Effect.gen(function* () {
                  yield* sql`DELETE FROM quarantine WHERE ${sql.in("calendar_id", ids)}`
                  yield* sql`DELETE FROM sync_runs WHERE ${sql.in("calendar_id", ids)}`
                  yield* sql`DELETE FROM calendars WHERE ${sql.in("id", ids)}`
                }),
              { discard: true }
            ).pipe(sql.withTransaction, guard("forget calendars")),
      countLinks: (relationshipId) =>
        sql`SELECT COUNT(*) AS n FROM links WHERE relationship_id = ${relationshipId}`.pipe(
          Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ n: Num })))),
          Effect.map((rows) => rows[0]?.n ?? 0),
          guard("count links")
        ),
      rescan: (calendarId) =>
        Effect.gen(function* () {
          // An empty etag matches no server's version, so every linked original is fetched again.
          yield* sql`UPDATE links SET source_etag = ${""}
          WHERE relationship_id IN (SELECT id FROM relationships WHERE source_calendar_id = ${calendarId})`
          yield* sql`UPDATE calendars SET cursor_value = ${null} WHERE id = ${calendarId}`
        }).pipe(sql.withTransaction, guard("schedule a rescan")),
      nextPollAt: (calendarId) =>
        sql`SELECT next_poll_at FROM calendars WHERE id = ${calendarId}`.pipe(
          Effect.flatMap(Schema.decodeUnknown(Schema.Array(Schema.Struct({ next_poll_at: OptNum })))),
          Effect.map((rows) => Option.fromNullable(rows[0]?.next_poll_at ?? null)),
          guard("read next poll")
        ),
      nextPolls: sql`SELECT id, next_poll_at FROM calendars WHERE next_poll_at IS NOT NULL`.pipe(
        Effect.flatMap(
          Schema.decodeUnknown(Schema.Array(Schema.Struct({ id: Schema.String, next_poll_at: Num })))
        ),
        Effect.map((rows) => new Map(rows.map((r) => [r.id, r.next_poll_at]))),
        guard("read next polls")
      ),
      links: (relationshipId) =>
        sql`SELECT * FROM links WHERE relationship_id = ${relationshipId}`.pipe(
          Effect.flatMap(decodeLinks),
          Effect.map((rows) =>
            rows.map(
              (r): Link => ({
                relationshipId: r.relationship_id,
                sourceUid: r.source_uid,
                // Links written before the key was stored were created under today's key.
                key: r.copy_key ?? copyKey(r.relationship_id, r.source_uid),
                sourceRef: r.source_href,
                sourceVersion: r.source_etag,
                targetRef: r.target_href,
                targetVersion: r.target_etag,
                contentHash: r.content_hash,
                sequence: r.sequence_number
              })
            )
          ),
          guard("read links")
        ),
      saveLink: (l) => {
        const key = keyOf(l.sourceUid)
        return Effect.gen(function* () {
          yield* sql`DELETE FROM links WHERE relationship_id = ${l.relationshipId} AND source_key = ${key}`
          yield* sql`INSERT INTO links (relationship_id, source_key, source_uid, copy_key, source_href, source_etag, target_href, target_etag, content_hash, sequence_number, updated_at)
          VALUES (${l.relationshipId}, ${key}, ${l.sourceUid}, ${l.key}, ${l.sourceRef}, ${l.sourceVersion}, ${l.targetRef}, ${l.targetVersion}, ${l.contentHash}, ${l.sequence}, ${Date.now()})`
        }).pipe(sql.withTransaction, guard("save link"))
      },
      deleteLink: (relationshipId, sourceUid) =>
        sql`DELETE FROM links WHERE relationship_id = ${relationshipId} AND source_key = ${keyOf(sourceUid)}`.pipe(
          Effect.asVoid,
          guard("delete link")
        ),
      quarantined: (calendarId) =>
        sql`SELECT href, etag, reason FROM quarantine WHERE calendar_id = ${calendarId}`.pipe(
          Effect.flatMap(decodeQuarantine),
          Effect.map((rows) =>
            rows.map((r): QuarantinedItem => ({ ref: r.href, version: r.etag, reason: r.reason }))
          ),
          guard("read quarantine")
        ),
      quarantine: (calendarId, item) => {
        const key = keyOf(item.ref)
        return Effect.gen(function* () {
          yield* sql`DELETE FROM quarantine WHERE calendar_id = ${calendarId} AND href_key = ${key}`
          yield* sql`INSERT INTO quarantine (calendar_id, href_key, href, etag, reason, seen_at)
          VALUES (${calendarId}, ${key}, ${item.ref}, ${item.version}, ${item.reason}, ${Date.now()})`
        }).pipe(sql.withTransaction, guard("quarantine item"))
      },
      release: (calendarId, ref) =>
        sql`DELETE FROM quarantine WHERE calendar_id = ${calendarId} AND href_key = ${keyOf(ref)}`.pipe(
          Effect.asVoid,
          guard("release item")
        ),
      recordConflict: (c) =>
        Effect.gen(function* () {
          const now = Date.now()
          yield* sql`INSERT INTO conflicts (id, relationship_id, source_uid, target_href, detail, at)
          VALUES (${randomUUID()}, ${c.relationshipId}, ${c.sourceUid}, ${c.targetRef}, ${c.detail}, ${now})`
          yield* sql`DELETE FROM conflicts WHERE relationship_id = ${c.relationshipId} AND at < ${now - historyDays * DAY}`
          yield* keepNewest("conflicts", "at", "relationship_id", c.relationshipId, conflictsKept)
        }).pipe(sql.withTransaction, guard("record conflict")),
      conflicts: (relationshipId, limit) =>
        newest(
          sql`SELECT source_uid, detail, at FROM conflicts WHERE relationship_id = ${relationshipId}`,
          "at",
          limit
        ).pipe(
          Effect.flatMap(
            Schema.decodeUnknown(
              Schema.Array(Schema.Struct({ source_uid: Schema.String, detail: Schema.String }))
            )
          ),
          Effect.map((rows) => rows.map((r) => ({ sourceUid: r.source_uid, detail: r.detail })).reverse()),
          guard("read conflicts")
        ),
      runs: (calendarId, limit) =>
        newest(
          sql`SELECT outcome, summary, finished_at FROM sync_runs WHERE calendar_id = ${calendarId}`,
          "finished_at",
          limit
        ).pipe(
          Effect.flatMap(
            Schema.decodeUnknown(
              Schema.Array(
                Schema.Struct({ outcome: Schema.String, summary: Schema.parseJson(), finished_at: Num })
              )
            )
          ),
          Effect.map((rows) =>
            rows.map((r) => ({ outcome: r.outcome, summary: r.summary, finishedAt: r.finished_at }))
          ),
          guard("read runs")
        ),
      recordRun: (run) =>
        Effect.gen(function* () {
          yield* sql`INSERT INTO sync_runs (id, calendar_id, started_at, finished_at, outcome, summary)
          VALUES (${randomUUID()}, ${run.calendarId}, ${run.startedAt}, ${run.finishedAt}, ${run.outcome}, ${JSON.stringify(run.summary)})`
          yield* sql`DELETE FROM sync_runs WHERE calendar_id = ${run.calendarId} AND started_at < ${run.startedAt - historyDays * DAY}`
          yield* keepNewest("sync_runs", "started_at", "calendar_id", run.calendarId, runsKept)
        }).pipe(sql.withTransaction, guard("record run"))
    }
  })

export const make: Effect.Effect<SyncStoreShape, never, SqlClient.SqlClient> = makeWith({})

export const layer: Layer.Layer<SyncStore, never, SqlClient.SqlClient> = Layer.effect(SyncStore, make)

export const layerWith = (options: Options): Layer.Layer<SyncStore, never, SqlClient.SqlClient> =>
  Layer.effect(SyncStore, makeWith(options))
