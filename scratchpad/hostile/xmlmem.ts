import * as Multistatus from "../../packages/caldav/src/internal/multistatus.js"
const n = Number(process.argv[2] ?? 600000)
const entry = (i: number) => `<d:response><d:href>/cal/${i}.ics</d:href><d:propstat><d:prop><d:getetag>"${i}"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`
const parts: string[] = []
for (let i = 0; i < n; i++) parts.push(entry(i))
const body = `<d:multistatus xmlns:d="DAV:">${parts.join("")}</d:multistatus>`
console.log("body MB", (body.length / 1e6).toFixed(1))
global.gc?.()
const before = process.memoryUsage().rss
let peak = before
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 5)
const t0 = performance.now()
const r = Multistatus.parse(body, "https://x/cal/", { maxBytes: 64e6, maxDepth: 64, maxElements: 1e9 })
peak = Math.max(peak, process.memoryUsage().rss)
clearInterval(timer)
console.log(r._tag, ((performance.now() - t0)/1000).toFixed(1), "s", "rss before", (before/1e6).toFixed(0), "peak", (peak/1e6).toFixed(0), "MB")
