/**
 * Which hosts may receive the account's credentials. Without the full public-suffix list we use
 * the common rule: the last two labels, or three when the second-level label is a generic one
 * under a country code (`icloud.com.cn`, `example.co.uk`). IP literals and single-label hosts
 * only match themselves.
 */
const genericSecondLevel = new Set(["co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go"])

const isIp = (host: string): boolean => /^\d{1,3}(?:\.\d{1,3}){3}$/.test(host) || host.includes(":")

export const registrableDomain = (hostname: string): string => {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "")
  if (isIp(host)) return host
  const labels = host.split(".")
  if (labels.length <= 2) return host
  const tld = labels[labels.length - 1] ?? ""
  const second = labels[labels.length - 2] ?? ""
  const take = tld.length === 2 && genericSecondLevel.has(second) ? 3 : 2
  return labels.slice(-take).join(".")
}

/**
 * Credentials travel from `anchor` (the URL the caller handed us) to `target` only within the
 * same registrable domain, and never from https down to plain http.
 */
export const mayCarryCredentials = (anchor: URL, target: URL): boolean =>
  registrableDomain(anchor.hostname) === registrableDomain(target.hostname) &&
  !(anchor.protocol === "https:" && target.protocol !== "https:")
