/**
 * Times on the settings pages. The server does not know the reader's time zone, so a time is said
 * relative to now ("4 min ago", "in 2 min") and the exact UTC instant sits in the element's title.
 */
import { Option } from "effect"
import { type Html, html } from "./Html.js"

const units: ReadonlyArray<readonly [number, string]> = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "min"],
  [1_000, "s"]
]

export const relative = (at: number, now: number): string => {
  const delta = at - now
  const size = Math.abs(delta)
  if (size < 1_000) return "just now"
  const [unit, name] = units.find(([u]) => size >= u) ?? [1_000, "s"]
  const amount = Math.floor(size / unit)
  return delta < 0 ? `${amount} ${name} ago` : `in ${amount} ${name}`
}

/** A `<time>` element, or `never` when there is no such time yet. */
export const moment = (at: Option.Option<number>, now: number, never = "never"): Html =>
  Option.match(at, {
    onNone: () => html`<span class="muted">${never}</span>`,
    onSome: (t) => {
      const iso = new Date(t).toISOString()
      return html`<time datetime="${iso}" title="${iso}">${relative(t, now)}</time>`
    }
  })
