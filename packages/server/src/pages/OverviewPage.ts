/**
 * The first page after signing in. Until the person has an account and a sync, it is the setup
 * checklist (connect an account, create a sync, watch its status). After that it says what needs
 * them, naming each thing: an account that needs a new password, a calendar whose polls fail, a
 * mass deletion stopped for their confirmation, items that could not be read. With nothing to do
 * it says so ("all in step"), with the last poll.
 */
import { Effect, Option } from "effect"
import { RelationshipService } from "../app/RelationshipService.js"
import { type CalendarStatus, StatusService } from "../app/StatusService.js"
import { type AccountRecord, Accounts } from "../store/Accounts.js"
import type { User } from "../store/Users.js"
import * as Catalogue from "./Catalogue.js"
import { type Fragment, type Html, html } from "./Html.js"
import { page, respond } from "./Layout.js"
import * as Notice from "./Notice.js"
import { moment } from "./Time.js"

const count = (n: number, one: string, many: string) => (n === 1 ? `1 ${one}` : `${n} ${many}`)

const names = (items: ReadonlyArray<string>): string => items.join(", ")

/** What needs the person, one line per kind, each naming what it is about. */
const attention = (
  accounts: ReadonlyArray<AccountRecord>,
  statuses: ReadonlyArray<CalendarStatus>,
  catalogue: Catalogue.Catalogue
): ReadonlyArray<Html> => {
  const reauth = accounts.filter((a) => a.status !== "ok")
  const failing = statuses.filter((s) => Option.isSome(s.lastError))
  const halted = statuses.filter((s) => Option.isSome(s.deletesAwaitingConfirmation))
  const unreadable = statuses.filter((s) => s.quarantined.length > 0)
  const label = (s: CalendarStatus) => catalogue.label(s.calendar.id)
  const lines: Array<Html> = []
  if (reauth.length > 0)
    lines.push(
      html`<li>${count(reauth.length, "account needs", "accounts need")} a new password: ${reauth.map(
        (a, i) =>
          html`${i === 0 ? "" : ", "}<a href="/accounts/${encodeURIComponent(a.id)}">${Catalogue.accountName(a)}</a>`
      )}.</li>`
    )
  if (halted.length > 0)
    lines.push(
      html`<li>${count(halted.length, "calendar waits", "calendars wait")} for you to confirm deletions: ${names(
        halted.map(label)
      )}. See <a href="/status">Status</a>.</li>`
    )
  if (failing.length > 0)
    lines.push(
      html`<li>${count(failing.length, "calendar fails", "calendars fail")} to sync: ${names(
        failing.map(label)
      )}. See <a href="/status">Status</a>.</li>`
    )
  if (unreadable.length > 0) {
    const items = unreadable.reduce((n, s) => n + s.quarantined.length, 0)
    lines.push(
      html`<li>${count(items, "item", "items")} on ${names(unreadable.map(label))} could not be read and ${
        items === 1 ? "is" : "are"
      } left out. See <a href="/status">Status</a>.</li>`
    )
  }
  return lines
}

const attentionBox = (lines: ReadonlyArray<Html>): Fragment =>
  lines.length === 0
    ? ""
    : html`<section class="error" role="alert" aria-labelledby="attention-h"><h2 id="attention-h">Needs your attention</h2><ul>${lines}</ul></section>`

const checklist = (accounts: number, syncs: number) => html`<section aria-labelledby="steps-h">
<h2 id="steps-h">Getting set up</h2>
<ol>
<li><a href="/accounts">Connect an account</a>: iCloud (with an app-specific password) or any CalDAV server.
<span class="muted">${accounts === 0 ? "None yet." : `${count(accounts, "account", "accounts")} connected.`}</span></li>
<li><a href="/syncs">Create a sync</a>: choose a source and a target calendar, one way or both, and whether copies say only “Busy”.
<span class="muted">${syncs === 0 ? "None yet." : `${count(syncs, "sync", "syncs")}.`}</span></li>
<li><a href="/status">Watch the status</a>: every calendar's last poll, errors in words, and anything waiting for you.</li>
</ol>
</section>`

const latest = (times: ReadonlyArray<Option.Option<number>>): Option.Option<number> => {
  const known = times.flatMap((t) => Option.toArray(t))
  return known.length === 0 ? Option.none() : Option.some(Math.max(...known))
}

const earliest = (times: ReadonlyArray<Option.Option<number>>): Option.Option<number> => {
  const known = times.flatMap((t) => Option.toArray(t))
  return known.length === 0 ? Option.none() : Option.some(Math.min(...known))
}

const inStep = (statuses: ReadonlyArray<CalendarStatus>, now: number) => {
  const lastPoll = latest(statuses.map((s) => s.lastPollAt))
  return html`<section class="notice" role="status" aria-labelledby="in-step-h">
<h2 id="in-step-h">All in step</h2>
<p>${
    Option.isNone(lastPoll)
      ? html`Nothing needs you. The first poll has not run yet.`
      : html`Nothing needs you. Last poll ${moment(lastPoll, now)}, next ${moment(
          earliest(statuses.map((s) => s.nextPollAt)),
          now,
          "not planned"
        )}.`
  }</p>
</section>`
}

const summary = (
  accounts: number,
  syncs: number,
  calendars: number
) => html`<section aria-labelledby="summary-h">
<h2 id="summary-h">In all</h2>
<ul>
<li><a href="/accounts">${count(accounts, "account", "accounts")}</a> connected</li>
<li><a href="/syncs">${count(syncs, "sync", "syncs")}</a>, over ${count(calendars, "calendar", "calendars")}</li>
<li><a href="/status">Status</a>: every calendar's polls, copies and errors</li>
</ul>
</section>`

export const show = (user: User) =>
  Effect.gen(function* () {
    const accounts = yield* (yield* Accounts).list(user.id)
    const syncs = yield* (yield* RelationshipService).list(user.id)
    const statuses = yield* (yield* StatusService).all(user.id)
    const catalogue = yield* Catalogue.of(user.id)
    const notice = yield* Notice.current
    const lines = attention(accounts, statuses, catalogue)
    const settingUp = accounts.length === 0 || syncs.length === 0
    const now = Date.now()
    return respond(
      page({
        title: `Hello, ${user.name}`,
        user,
        area: "home",
        notice,
        body: settingUp
          ? html`${attentionBox(lines)}${checklist(accounts.length, syncs.length)}`
          : html`${lines.length === 0 ? inStep(statuses, now) : attentionBox(lines)}${summary(
              accounts.length,
              syncs.length,
              statuses.length
            )}`
      })
    )
  })
