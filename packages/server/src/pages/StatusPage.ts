/**
 * How syncing goes, one card per calendar that takes part in a sync: when it polled, succeeded and
 * will poll next, what it holds and has copied, the last error in words, items it could not read,
 * and a mass deletion that waits for a person. The two things a person can do here: "Sync now",
 * and confirm the deletions. The page reloads itself every few seconds so the numbers move.
 */
import { HttpLayerRouter } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { type CalendarStatus, type RelationshipStatus, StatusService } from "../app/StatusService.js"
import type { User } from "../store/Users.js"
import * as Catalogue from "./Catalogue.js"
import * as Handler from "./Handler.js"
import { type Fragment, html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as Problems from "./Problems.js"
import { moment } from "./Time.js"

/** Seconds between the page's own reloads. */
export const refreshSeconds = 10

const sentence = (text: string) => {
  const first = text.charAt(0).toUpperCase() + text.slice(1)
  return /[.!?]$/.test(first) ? first : `${first}.`
}

const copies = (n: number) => (n === 1 ? "1 copy" : `${n} copies`)

// The run log's summary is free-form JSON; these are the counts worth a sentence.
const RunSummary = Schema.Struct({
  created: Schema.Number,
  updated: Schema.Number,
  deleted: Schema.Number
})
const decodeSummary = Schema.decodeUnknownOption(RunSummary)

const lastRun = (s: CalendarStatus, now: number): Fragment => {
  const run = s.runs[0]
  if (run === undefined) return html`<span class="muted">none yet</span>`
  const counts = Option.match(decodeSummary(run.summary), {
    onNone: () => "",
    onSome: (c) => `: ${c.created} created, ${c.updated} updated, ${c.deleted} deleted`
  })
  return html`${run.outcome} ${moment(Option.some(run.finishedAt), now)}${counts}`
}

const state = (s: CalendarStatus): Fragment => {
  if (Option.isSome(s.deletesAwaitingConfirmation)) return html`<span class="tag warn">waiting for you</span>`
  if (Option.isSome(s.lastError)) return html`<span class="tag bad">failing</span>`
  if (s.relationships.every((r) => r.paused)) return html`<span class="tag warn">paused</span>`
  if (Option.isNone(s.lastPollAt)) return html`<span class="tag muted">not polled yet</span>`
  return html`<span class="tag ok">healthy</span>`
}

const relationshipLine = (r: RelationshipStatus, catalogue: Catalogue.Catalogue) => {
  const other = catalogue.label(r.otherCalendarId)
  const how =
    r.role === "both"
      ? html`⇄ mirrored with ${other}`
      : r.role === "source"
        ? html`→ copied into ${other}`
        : html`← copies of ${other}`
  return html`<li>${how} <span class="muted">(${copies(r.copies)}${r.paused ? ", paused" : ""})</span>${
    r.conflicts.length === 0
      ? ""
      : html`<ul>${r.conflicts.map((c) => html`<li class="warn">Conflict on ${c.sourceUid}: ${c.detail}</li>`)}</ul>`
  }</li>`
}

const card = (s: CalendarStatus, catalogue: Catalogue.Catalogue, now: number) => {
  const id = s.calendar.id
  const base = `/status/${encodeURIComponent(id)}`
  const name = catalogue.label(id)
  return html`<section aria-labelledby="cal-${id}">
<h2 id="cal-${id}">${name} ${state(s)}</h2>
<table><tbody>
<tr><th scope="row">Last poll</th><td>${moment(s.lastPollAt, now)} <span class="muted">(${s.polls} in all)</span></td></tr>
<tr><th scope="row">Last success</th><td>${moment(s.lastSuccessAt, now)}</td></tr>
<tr><th scope="row">Next poll</th><td>${moment(s.nextPollAt, now, "not planned")}</td></tr>
<tr><th scope="row">Last run</th><td>${lastRun(s, now)}</td></tr>
<tr><th scope="row">Copies</th><td>${copies(s.copiesMade)} of its events in other calendars; it holds ${copies(s.copiesHeld)} from others</td></tr>
<tr><th scope="row">Last error</th><td>${Option.match(s.lastError, {
    onNone: () => html`<span class="muted">none</span>`,
    onSome: (e) =>
      html`<span class="bad">${e}</span> <span class="muted">(${moment(s.lastErrorAt, now)}; ${
        s.failuresInARow === 1 ? "1 failed poll" : `${s.failuresInARow} failed polls in a row`
      })</span>`
  })}</td></tr>
</tbody></table>
<h3>Syncs</h3>
<ul>${s.relationships.map((r) => relationshipLine(r, catalogue))}</ul>
${
  s.quarantined.length === 0
    ? ""
    : html`<h3>Items that could not be read</h3>
<p class="hint">They are left out until they change on the server; everything else syncs.</p>
<ul>${s.quarantined.map((q) => html`<li><code>${q.href}</code>: ${q.reason}</li>`)}</ul>`
}
${Option.match(s.deletesAwaitingConfirmation, {
  onNone: () => "",
  onSome: (reason) => html`<div class="error" role="alert">
<strong>Deletions stopped for safety.</strong> ${sentence(reason)}
<p>Nothing was deleted. If the events really were removed on purpose, confirm and the copies are deleted too;
if not, fix the source calendar and this stop clears on the next poll.</p>
<form method="post" action="${base}/confirm-deletes"><button class="danger" type="submit">Confirm the deletions</button></form>
</div>`
})}
<form class="actions" method="post" action="${base}/sync"><button type="submit" aria-label="Sync ${name} now">Sync now</button></form>
</section>`
}

const show = (user: User, options: { readonly error?: string; readonly status?: number } = {}) =>
  Effect.gen(function* () {
    const service = yield* StatusService
    const statuses = yield* service.all(user.id)
    const catalogue = yield* Catalogue.of(user.id)
    const notice = yield* Notice.current
    const now = Date.now()
    return respond(
      page({
        title: "Status",
        user,
        area: "status",
        notice,
        error: options.error,
        refresh: refreshSeconds,
        body:
          statuses.length === 0
            ? html`<section><p>No calendar takes part in a sync yet. <a href="/syncs">Create a sync</a> first.</p></section>`
            : html`<p class="hint">This page reloads every ${refreshSeconds} seconds.</p>${statuses.map((s) => card(s, catalogue, now))}`
      }),
      options.status ?? 200
    )
  })

export const get = Handler.signedIn((user) => show(user))

const calendarId = Effect.map(HttpLayerRouter.params, (p) => p.id ?? "")

export const syncNow = Handler.formPost((_form, user) =>
  Effect.gen(function* () {
    const service = yield* StatusService
    return yield* service.syncNow(user.id, yield* calendarId).pipe(
      Effect.as(seeOther(Notice.location("/status", "sync-requested"))),
      Effect.catchAll((e) =>
        e._tag === "StoreError"
          ? Effect.fail(e)
          : show(user, { error: Problems.status(e), status: e._tag === "CalendarNotFound" ? 404 : 409 })
      )
    )
  })
)

export const confirmDeletes = Handler.formPost((_form, user) =>
  Effect.gen(function* () {
    const service = yield* StatusService
    return yield* service.confirmDeletes(user.id, yield* calendarId).pipe(
      Effect.as(seeOther(Notice.location("/status", "deletes-confirmed"))),
      Effect.catchAll((e) => {
        switch (e._tag) {
          case "StoreError":
            return Effect.fail(e)
          case "CalendarNotFound":
            return show(user, { error: Problems.status(e), status: 404 })
          case "NothingToConfirm":
            return show(user, { error: Problems.status(e), status: 409 })
          case "ConfirmFailed":
            return show(user, { error: Problems.status(e), status: 502 })
        }
      })
    )
  })
)
