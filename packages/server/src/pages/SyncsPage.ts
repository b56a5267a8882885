/**
 * Syncs: which calendar is copied into which, how (one way or both, private copies, free/busy
 * override, a window of days), and pausing, resuming or removing one, optionally with the copies
 * it wrote (a clean unsync). The form picks calendars from the person's own accounts only.
 */
import type { Policy, Relationship } from "@almanac/core"
import { HttpLayerRouter } from "@effect/platform"
import { Effect, Option } from "effect"
import { maxWindowDays, RelationshipService, type SyncRelationship } from "../app/RelationshipService.js"
import type { User } from "../store/Users.js"
import * as Catalogue from "./Catalogue.js"
import * as Handler from "./Handler.js"
import { html } from "./Html.js"
import { page, respond, seeOther } from "./Layout.js"
import * as Notice from "./Notice.js"
import * as Problems from "./Problems.js"

/** What the create form holds, as typed (numbers stay text until they are checked). */
export interface SyncForm {
  readonly source: string
  readonly target: string
  readonly direction: "one-way" | "two-way"
  readonly markPrivate: boolean
  readonly transp: Policy.SyncPolicy["transp"]
  readonly pastDays: string
  readonly futureDays: string
}

const blank: SyncForm = {
  source: "",
  target: "",
  direction: "one-way",
  markPrivate: true,
  transp: "keep",
  pastDays: "",
  futureDays: ""
}

const transpWords: Record<Policy.SyncPolicy["transp"], string> = {
  keep: "busy or free, as in the source",
  opaque: "always busy",
  transparent: "always free"
}

const windowWords = (window: Option.Option<Relationship.SyncWindow>) =>
  Option.match(window, {
    onNone: () => "all events",
    onSome: (w) => `from ${w.pastDays} days ago to ${w.futureDays} days ahead`
  })

const selected = (on: boolean) => (on ? html` selected` : "")
const checked = (on: boolean) => (on ? html` checked` : "")

const calendarSelect = (
  id: string,
  name: string,
  label: string,
  catalogue: Catalogue.Catalogue,
  value: string
) =>
  html`<label for="${id}">${label}</label>
<select id="${id}" name="${name}" required>
<option value=""${selected(value === "")}>Choose a calendar…</option>
${catalogue.accounts.map(
  ({ account, calendars }) =>
    html`<optgroup label="${Catalogue.accountName(account)}">${calendars.map(
      (c) => html`<option value="${c.id}"${selected(c.id === value)}>${Catalogue.calendarName(c)}</option>`
    )}</optgroup>`
)}
</select>`

const createForm = (catalogue: Catalogue.Catalogue, values: SyncForm, error: string | undefined) =>
  html`<section aria-labelledby="create-h">
<h2 id="create-h">Create a sync</h2>
${error === undefined ? "" : html`<p class="error" role="alert">${error}</p>`}
${
  catalogue.accounts.length === 0
    ? html`<p>Connect an account first on the <a href="/accounts">Accounts</a> page.</p>`
    : html`<form method="post" action="/syncs">
<div class="grid">
<div>${calendarSelect("source", "source", "Copy events from", catalogue, values.source)}</div>
<div>${calendarSelect("target", "target", "Into", catalogue, values.target)}</div>
</div>
<fieldset><legend>Direction</legend>
<label class="inline"><input type="radio" name="direction" value="one-way"${checked(values.direction === "one-way")}> One way: only the first calendar's events are copied</label>
<label class="inline"><input type="radio" name="direction" value="two-way"${checked(values.direction === "two-way")}> Both ways: each calendar gets copies of the other's events</label>
</fieldset>
<fieldset><legend>Copies</legend>
<label class="inline"><input type="checkbox" name="private"${checked(values.markPrivate)}> Mark as private: copies say only “Busy”, with no description, place or people</label>
<label for="transp">Show the copies as</label>
<select id="transp" name="transp">
${(["keep", "opaque", "transparent"] as const).map(
  (t) => html`<option value="${t}"${selected(values.transp === t)}>${transpWords[t]}</option>`
)}
</select>
</fieldset>
<fieldset><legend>Window <span class="muted">(optional)</span></legend>
<p class="hint">Copy only events from this many days ago up to this many days ahead. Leave both empty to copy every event.</p>
<div class="row">
<label for="past-days">Days back</label><input id="past-days" name="pastDays" type="number" min="0" max="${maxWindowDays}" value="${values.pastDays}">
<label for="future-days">Days ahead</label><input id="future-days" name="futureDays" type="number" min="0" max="${maxWindowDays}" value="${values.futureDays}">
</div>
</fieldset>
<div class="actions"><button type="submit">Create the sync</button></div>
</form>`
}
</section>`

const relationshipRow = (r: SyncRelationship, catalogue: Catalogue.Catalogue) => {
  const base = `/syncs/${encodeURIComponent(r.id)}`
  const twoWay = r.direction === "two-way"
  const name = `${catalogue.label(r.sourceCalendarId)} ${twoWay ? "⇄" : "→"} ${catalogue.label(r.targetCalendarId)}`
  return html`<tr>
<td>${catalogue.label(r.sourceCalendarId)}<div class="hint">${twoWay ? "⇄ both ways with" : "→ one way into"}</div>${catalogue.label(r.targetCalendarId)}</td>
<td data-label="Copies">${r.policy.markPrivate ? "Private (“Busy”)" : "Full details"}<div class="hint">Shown as ${transpWords[r.policy.transp]}; ${windowWords(r.window)}</div></td>
<td data-label="State">${r.paused ? html`<span class="tag warn">paused</span>` : html`<span class="tag ok">active</span>`}<div class="hint">${r.copies === 1 ? "1 copy" : `${r.copies} copies`}</div></td>
<td class="nowrap">
<form class="row" method="post" action="${base}/${r.paused ? "resume" : "pause"}"><button class="secondary" type="submit" aria-label="${r.paused ? "Resume" : "Pause"} ${name}">${r.paused ? "Resume" : "Pause"}</button></form>
<form class="row" method="post" action="${base}/remove">
<label class="inline"><input type="checkbox" name="clean"> also delete the copies</label>
<button class="danger" type="submit" aria-label="Remove ${name}">Remove</button>
</form>
</td></tr>`
}

const list = (relationships: ReadonlyArray<SyncRelationship>, catalogue: Catalogue.Catalogue) =>
  relationships.length === 0
    ? html`<p class="muted">No syncs yet. Create one below.</p>`
    : html`<table class="list">
<thead><tr><th scope="col">Calendars</th><th scope="col">Copies</th><th scope="col">State</th><th scope="col"><span class="muted">Actions</span></th></tr></thead>
<tbody>${relationships.map((r) => relationshipRow(r, catalogue))}</tbody></table>`

const show = (
  user: User,
  options: {
    readonly values?: SyncForm
    readonly error?: string
    readonly formError?: string
    readonly status?: number
  } = {}
) =>
  Effect.gen(function* () {
    const service = yield* RelationshipService
    const catalogue = yield* Catalogue.of(user.id)
    const relationships = yield* service.list(user.id)
    const notice = yield* Notice.current
    return respond(
      page({
        title: "Syncs",
        user,
        area: "syncs",
        notice,
        error: options.error,
        body: html`<section aria-labelledby="list-h"><h2 id="list-h">Your syncs</h2>${list(relationships, catalogue)}</section>
${createForm(catalogue, options.values ?? blank, options.formError)}`
      }),
      options.status ?? 200
    )
  })

export const get = Handler.signedIn((user) => show(user))

const days = (text: string): Option.Option<number> =>
  /^\d{1,5}$/.test(text) && Number(text) <= maxWindowDays ? Option.some(Number(text)) : Option.none()

/** The window the form asks for, or what is wrong with it. */
const windowOf = (values: SyncForm) => {
  if (values.pastDays === "" && values.futureDays === "")
    return { ok: true, window: Option.none<Relationship.SyncWindow>() } as const
  const past = days(values.pastDays)
  const future = days(values.futureDays)
  if (Option.isNone(past) || Option.isNone(future))
    return {
      ok: false,
      problem: `For a window, fill in both days back and days ahead as whole numbers from 0 to ${maxWindowDays}, or leave both empty.`
    } as const
  return { ok: true, window: Option.some({ pastDays: past.value, futureDays: future.value }) } as const
}

export const create = Handler.formPost((form, user) =>
  Effect.gen(function* () {
    const transp = form.text("transp")
    const values: SyncForm = {
      source: form.text("source"),
      target: form.text("target"),
      direction: form.text("direction") === "two-way" ? "two-way" : "one-way",
      markPrivate: form.checked("private"),
      transp: transp === "opaque" || transp === "transparent" ? transp : "keep",
      pastDays: form.text("pastDays"),
      futureDays: form.text("futureDays")
    }
    const refuse = (formError: string, status: number) => show(user, { values, formError, status })
    if (values.source === "" || values.target === "")
      return yield* refuse("Choose both calendars: the one to copy from and the one to copy into.", 400)
    if (values.source === values.target)
      return yield* refuse("A calendar cannot sync into itself: choose two different calendars.", 400)
    const window = windowOf(values)
    if (!window.ok) return yield* refuse(window.problem, 400)
    const service = yield* RelationshipService
    const existing = (yield* service.list(user.id)).find(
      (r) =>
        (r.sourceCalendarId === values.source && r.targetCalendarId === values.target) ||
        (r.sourceCalendarId === values.target && r.targetCalendarId === values.source)
    )
    if (existing !== undefined)
      return yield* refuse(
        "These two calendars already have a sync (in the list above). Remove it first to set them up differently.",
        409
      )
    return yield* service
      .create(user.id, {
        sourceCalendarId: values.source,
        targetCalendarId: values.target,
        direction: values.direction,
        policy: { markPrivate: values.markPrivate, transp: values.transp, attendees: false },
        window: window.window
      })
      .pipe(
        Effect.as(seeOther(Notice.location("/syncs", "sync-created"))),
        Effect.catchAll((e) =>
          e._tag === "StoreError" ? Effect.fail(e) : refuse(Problems.relationship(e), 422)
        )
      )
  })
)

const relationshipId = Effect.map(HttpLayerRouter.params, (p) => p.id ?? "")

const setPaused = (paused: boolean) =>
  Handler.formPost((_form, user) =>
    Effect.gen(function* () {
      const id = yield* relationshipId
      const service = yield* RelationshipService
      return yield* service.change(user.id, id, { paused }).pipe(
        Effect.as(seeOther(Notice.location("/syncs", paused ? "sync-paused" : "sync-resumed"))),
        Effect.catchAll((e) =>
          e._tag === "StoreError"
            ? Effect.fail(e)
            : show(user, {
                error: Problems.relationship(e),
                status: e._tag === "RelationshipNotFound" ? 404 : 422
              })
        )
      )
    })
  )

export const pause = setPaused(true)
export const resume = setPaused(false)

export const remove = Handler.formPost((form, user) =>
  Effect.gen(function* () {
    const id = yield* relationshipId
    const service = yield* RelationshipService
    return yield* service.remove(user.id, id, { clean: form.checked("clean") }).pipe(
      Effect.map((removal) =>
        seeOther(
          Notice.location("/syncs", "sync-removed", {
            removed: removal.removed,
            kept: removal.kept.length,
            left: removal.left
          })
        )
      ),
      Effect.catchAll((e) => {
        switch (e._tag) {
          case "StoreError":
            return Effect.fail(e)
          case "RelationshipNotFound":
            return show(user, { error: Problems.relationship(e), status: 404 })
          case "CleanupFailed":
            return show(user, { error: Problems.cleanup(e), status: 502 })
        }
      })
    )
  })
)
