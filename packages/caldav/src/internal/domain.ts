/**
 * Which hosts may receive the account's credentials: the registrable domain of a host as the
 * public suffix list (through tldts, private section included) decides it. The private section is
 * what keeps `alice.duckdns.org` and `mallory.duckdns.org` apart: a "last two labels" rule would
 * send Alice's password to Mallory on a redirect. IP literals and names with no public suffix
 * (`localhost`) only match themselves.
 */
import { getDomain } from "tldts"

const normalise = (hostname: string): string =>
  hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")

export const registrableDomain = (hostname: string): string => {
  const host = normalise(hostname)
  return getDomain(host, { allowPrivateDomains: true }) ?? host
}

/**
 * Credentials travel from `anchor` (the URL the caller handed us) to `target` only within the
 * same registrable domain, and never from https down to plain http.
 */
export const mayCarryCredentials = (anchor: URL, target: URL): boolean => {
  const from = normalise(anchor.hostname)
  const to = normalise(target.hostname)
  // One host is one registrable domain: the list is asked only when a request leaves its host
  // (every request comes here, and the shipped program loads the list on first use).
  return (
    (from === to || registrableDomain(from) === registrableDomain(to)) &&
    !(anchor.protocol === "https:" && target.protocol !== "https:")
  )
}
