/**
 * The frame around every settings page: one small stylesheet, the navigation, the sign-out button
 * and the place where a notice or an error appears. Pages hand in their body; the headers that
 * keep a page from being framed, cached or running anything (no script at all) are set here.
 */
import { HttpServerResponse } from "@effect/platform"
import type { User } from "../store/Users.js"
import { type Fragment, type Html, html, trusted } from "./Html.js"

const style = trusted(`
:root { color-scheme: light; --ink: #1d2330; --muted: #5a6272; --line: #d8dde6; --accent: #1f5fbf;
  --bg: #f5f7fa; --ok: #1e7a3c; --bad: #b42318; --warn: #8a5a00; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, "Liberation Sans", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
header { background: #18233a; color: #fff; }
header .bar { max-width: 64rem; margin: 0 auto; padding: .6rem 1rem; display: flex; gap: 1.25rem; align-items: center; flex-wrap: wrap; }
header .brand { font-weight: 700; font-size: 1.15rem; color: #fff; text-decoration: none; margin-right: auto; }
header nav a { color: #cfe0ff; text-decoration: none; padding: .2rem .1rem; }
header nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #8fb8ff; }
header form { margin: 0; }
header button { background: transparent; color: #cfe0ff; border: 1px solid #51607d; }
main a { color: var(--accent); }
main { max-width: 64rem; margin: 0 auto; padding: 1rem 1rem 3rem; }
h1 { font-size: 1.6rem; margin: .8rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 0 0 .6rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.25rem; margin: 0 0 1rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(20rem, 100%), 1fr)); gap: 1rem; }
.grid section { margin: 0; }
label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
label .muted { font-weight: 400; }
label.inline { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
input[type=text], input[type=url], input[type=password], input[type=number], input[type=email], select {
  width: 100%; padding: .45rem .55rem; border: 1px solid #aab3c2; border-radius: 5px; font: inherit; background: #fff; }
input[type=number] { width: 7rem; }
button { font: inherit; padding: .45rem .9rem; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
.row { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; margin: 0 0 .4rem; }
.row label { margin: 0; }
td.nowrap { white-space: nowrap; width: 1%; }
.actions { margin-top: .9rem; display: flex; gap: .5rem; flex-wrap: wrap; }
.hint { color: var(--muted); font-size: .92rem; margin: .3rem 0; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
.notice, .error { padding: .7rem 1rem; border-radius: 6px; margin: 0 0 1rem; }
.notice { background: #e7f5ec; border: 1px solid #a6d8b8; color: var(--ok); }
.error { background: #fdecea; border: 1px solid #f3b2ac; color: var(--bad); }
.tag { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid currentColor; white-space: nowrap; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); } .muted { color: var(--muted); }
code { background: #eef1f6; padding: 0 .25rem; border-radius: 3px; }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .8rem 0 0; padding: .3rem .8rem .7rem; min-width: 0; }
legend { font-weight: 600; padding: 0 .3rem; }
td, code, .hint, .error, .notice { overflow-wrap: anywhere; }
th[scope=row] { white-space: nowrap; }
code.token { display: block; padding: .5rem .6rem; font-size: 1rem; user-select: all; }
/* A phone: less padding, and each row of a list table becomes a small card with labelled fields. */
@media (max-width: 40rem) {
  main { padding: .6rem .6rem 2rem; }
  section { padding: .8rem .9rem; }
  header .bar { gap: .3rem 1rem; padding: .5rem .75rem; }
  table.list thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  table.list, table.list tbody, table.list tr, table.list td { display: block; }
  table.list tr { border-bottom: 1px solid var(--line); padding: .5rem 0; }
  table.list td { border: 0; padding: .1rem 0; }
  table.list td:first-child { font-weight: 600; }
  table.list td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); font-size: .85rem; font-weight: 600; }
  td.nowrap { white-space: normal; width: auto; }
}
`)

export type Area = "home" | "accounts" | "syncs" | "status" | "people"

const areas: ReadonlyArray<readonly [Area, string, string]> = [
  ["home", "/", "Overview"],
  ["accounts", "/accounts", "Accounts"],
  ["syncs", "/syncs", "Syncs"],
  ["status", "/status", "Status"]
]

// Only the owner manages people, so only the owner's navigation names the page.
const people = ["people", "/people", "People"] as const

export interface PageOptions {
  readonly title: string
  readonly user: User | undefined
  readonly area?: Area
  readonly notice?: string | undefined
  readonly error?: string | undefined
  /** Seconds after which the browser reloads the page (the status page watches the engine). */
  readonly refresh?: number
  /** A page of ours the browser goes on to at once (a navigation this page starts). */
  readonly continueTo?: string
  readonly body: Fragment
}

export const page = (options: PageOptions): Html => html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refresh === undefined ? "" : html`<meta http-equiv="refresh" content="${options.refresh}">`}
${options.continueTo === undefined ? "" : html`<meta http-equiv="refresh" content="0; url=${options.continueTo}">`}
<title>${options.title} · Almanac</title>
<style>${style}</style>
</head>
<body>
<header><div class="bar">
<a class="brand" href="/">Almanac</a>
${
  options.user === undefined
    ? ""
    : html`<nav aria-label="Main">${(options.user.owner ? [...areas, people] : areas).map(
        ([area, href, label]) =>
          html` <a href="${href}"${options.area === area ? trusted(' aria-current="page"') : ""}>${label}</a>`
      )}</nav>
<form method="post" action="/logout"><button type="submit" title="Signed in as ${options.user.name}">Sign out</button></form>`
}
</div></header>
<main>
<h1>${options.title}</h1>
${options.notice === undefined ? "" : html`<p class="notice" role="status">${options.notice}</p>`}
${options.error === undefined ? "" : html`<p class="error" role="alert">${options.error}</p>`}
${options.body}
</main>
</body>
</html>
`

// No script runs on these pages, forms only post to this server (and where a form's answer is a
// redirect to a provider's sign-in page, to that origin as well: browsers apply form-action to
// the redirect), and no other site may frame them.
const headersWith = (formActions: ReadonlyArray<string>) => ({
  "content-security-policy": `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action ${["'self'", ...formActions].join(" ")}; frame-ancestors 'none'; base-uri 'none'`,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cache-control": "no-store"
})
const securityHeaders = headersWith([])

export const respond = (
  body: Html,
  status = 200,
  options: { readonly formActions?: ReadonlyArray<string> } = {}
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.text(body.markup, {
    status,
    contentType: "text/html; charset=utf-8",
    headers: options.formActions === undefined ? securityHeaders : headersWith(options.formActions)
  })

/** After a successful form post: back to a page (303, so a reload does not post again). */
export const seeOther = (location: string): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.redirect(location, { status: 303, headers: securityHeaders })
