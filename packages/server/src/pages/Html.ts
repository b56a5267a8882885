/**
 * HTML built from templates that escape by default. Everything a page shows (an account name, a
 * calendar's title from a CalDAV server, an error text) can carry markup someone else wrote; the
 * only way to put unescaped text into a page is `trusted`, kept for our own constants.
 */

/** Markup that is already safe to emit. */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup
  }
}

/** What a template accepts: text (escaped), safe markup, lists of either, and nothing (false, null). */
export type Fragment = Html | string | number | boolean | null | undefined | ReadonlyArray<Fragment>

const replacements: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;"
}

/** Text safe in element content and in quoted attribute values. */
export const escapeText = (text: string): string => text.replace(/[&<>"']/g, (c) => replacements[c] ?? c)

const render = (value: Fragment): string => {
  if (value instanceof Html) return value.markup
  if (value === null || value === undefined || value === false || value === true) return ""
  if (typeof value === "number") return String(value)
  if (typeof value === "string") return escapeText(value)
  return value.map(render).join("")
}

/** `html\`<p>${text}</p>\``: every interpolation is escaped unless it is already Html. */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<Fragment>): Html => {
  let out = strings[0] ?? ""
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? "")
  return new Html(out)
}

/** Our own markup or CSS, never anything a person or a server supplied. */
export const trusted = (markup: string): Html => new Html(markup)
