/**
 * What a page says after a form post succeeded. The post redirects with `?notice=<code>`, and only
 * these fixed sentences can appear, so a crafted link cannot put words on the page.
 */
import { HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"

const notices = {
  "account-connected": "Account connected. Its calendars are listed below.",
  "account-reauthenticated": "The new password works and is saved; syncing resumes.",
  "account-removed": "Account removed, with its stored password and its syncs.",
  "sync-created":
    "Sync created. It runs on its own from now on; “Sync now” on the status page starts it at once.",
  "sync-paused": "Sync paused.",
  "sync-resumed": "Sync resumed.",
  "sync-removed": "Sync removed.",
  "sync-requested": "A poll was requested; this page shows its result when it is done.",
  "deletes-confirmed": "Confirmed: the deletions were carried out."
} as const

export type Notice = keyof typeof notices

export const location = (path: string, notice: Notice): string => `${path}?notice=${notice}`

const isNotice = (code: unknown): code is Notice => typeof code === "string" && Object.hasOwn(notices, code)

/** The notice the current URL names, if it is one of ours. */
export const current: Effect.Effect<string | undefined, never, HttpServerRequest.ParsedSearchParams> =
  Effect.map(HttpServerRequest.ParsedSearchParams, (params) => {
    const code = params.notice
    return isNotice(code) ? notices[code] : undefined
  })
