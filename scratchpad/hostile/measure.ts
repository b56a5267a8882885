import { FreeBusy } from "@almanac/core"
import * as Either from "effect/Either"
import { ICalCodec } from "@almanac/providers"
const cal = (...l: string[]) => ["BEGIN:VCALENDAR","VERSION:2.0","PRODID:x",...l,"END:VCALENDAR",""].join("\r\n")
const ev = (rule: string, start="20260301T000000Z") => cal("BEGIN:VEVENT","UID:r","DTSTAMP:20260101T000000Z",`DTSTART:${start}`,"DURATION:PT1S",`RRULE:${rule}`,"END:VEVENT")
const week = { start: new Date("2026-03-02T00:00:00Z"), end: new Date("2026-03-09T00:00:00Z") }
for (const [r, s] of [["FREQ=SECONDLY", "20260301T000000Z"], ["FREQ=SECONDLY","20000101T000000Z"], ["FREQ=SECONDLY;COUNT=1000000","20260301T000000Z"], ["FREQ=MINUTELY;COUNT=1000000","20000101T000000Z"]] as const) {
  const p = ICalCodec.parseEither(ev(r, s), { href: "x" })
  if (Either.isLeft(p)) { console.log("bad", p.left.reason); continue }
  const t0 = performance.now()
  const b = FreeBusy.busy([p.right], week)
  console.log(r, s, (performance.now()-t0).toFixed(0), "ms", b.length, b[0]?.start.toISOString(), b.at(-1)?.end.toISOString())
}
// raw ical.js speed
import ICAL from "ical.js"
const it = ICAL.Recur.fromString("FREQ=SECONDLY").iterator(ICAL.Time.fromData({year:2026,month:3,day:1,hour:0,minute:0,second:0,isDate:false}))
let t0 = performance.now(); for (let i=0;i<200000;i++) it.next(); console.log("200k secondly", (performance.now()-t0).toFixed(0))
