/**
 * A person's calendars grouped by account, as the pages name them: the sync form's selects, and
 * the names shown wherever a page refers to a calendar by id (a sync's ends, a status card).
 */
import { Effect, Option } from "effect"
import { type AccountRecord, Accounts, type CalendarInfo } from "../store/Accounts.js"

export interface Catalogue {
  readonly accounts: ReadonlyArray<{
    readonly account: AccountRecord
    readonly calendars: ReadonlyArray<CalendarInfo>
  }>
  /** "Work (iCloud ann@example.com)", or a placeholder for a calendar that is gone. */
  readonly label: (calendarId: string) => string
  readonly has: (calendarId: string) => boolean
}

export const accountName = (a: AccountRecord): string => Option.getOrElse(a.displayName, () => a.username)

const lastSegment = (url: string): string => {
  const segment =
    url
      .split("/")
      .filter((s) => s !== "")
      .at(-1) ?? url
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/** The calendar's display name, or the last segment of its URL when the server gave none. */
export const calendarName = (c: CalendarInfo): string =>
  Option.getOrElse(
    Option.filter(c.displayName, (n) => n.trim() !== ""),
    () => lastSegment(c.url)
  )

export const of = (userId: string) =>
  Effect.gen(function* () {
    const store = yield* Accounts
    const accounts = yield* store.list(userId)
    const grouped = yield* Effect.forEach(accounts, (account) =>
      Effect.map(store.calendars(account.id), (calendars) => ({ account, calendars }))
    )
    const labels = new Map<string, string>()
    for (const { account, calendars } of grouped)
      for (const c of calendars) labels.set(c.id, `${calendarName(c)} (${accountName(account)})`)
    return {
      accounts: grouped,
      label: (id) => labels.get(id) ?? "a calendar that is no longer there",
      has: (id) => labels.has(id)
    } satisfies Catalogue
  })
