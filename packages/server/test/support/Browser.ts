/**
 * Debian's Chromium, headless, driven by playwright-core: the settings pages are tested the way a
 * person uses them. The flags keep Chromium from reaching out to Google's services (this machine's
 * network refuses them, and a test has no business there); each launch has a fresh temporary
 * profile. Screenshots go to test/screenshots (git-ignored) so a person can look at them.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { inflateSync } from "node:zlib"
import { Effect, type Scope } from "effect"
import { type Browser, chromium, type Page } from "playwright-core"

export const executablePath = "/usr/bin/chromium"

export const args = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync"
]

export const screenshotDir = join(import.meta.dirname, "..", "screenshots")

/** A browser for the length of the scope. */
export const launch: Effect.Effect<Browser, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => chromium.launch({ executablePath, args })),
  (browser) => Effect.promise(() => browser.close())
)

/**
 * A page in a fresh context (its own cookies), sized like a laptop screen. Actions wait at most
 * 10 s for an element, so a missing one fails the test with its locator instead of at the test's
 * own timeout.
 */
export const newPage = async (browser: Browser): Promise<Page> => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } })
  context.setDefaultTimeout(10_000)
  return context.newPage()
}

/** Saves the full page as test/screenshots/<name>.png and returns the PNG. */
export const screenshot = async (page: Page, name: string): Promise<Buffer> => {
  mkdirSync(screenshotDir, { recursive: true })
  const png = await page.screenshot({ fullPage: true })
  writeFileSync(join(screenshotDir, `${name}.png`), png)
  return png
}

/**
 * The distinct colours of a screenshot. A blank or failed render has one or two; a page with text,
 * borders and buttons has many (anti-aliasing alone adds dozens). Decodes the PNG Chromium writes
 * (8-bit RGB or RGBA, not interlaced) with zlib, so no image library is needed.
 */
export const distinctColours = (png: Buffer): number => {
  const width = png.readUInt32BE(16)
  const height = png.readUInt32BE(20)
  const depth = png[24]
  const colourType = png[25]
  const interlaced = png[28]
  if (depth !== 8 || (colourType !== 2 && colourType !== 6) || interlaced !== 0)
    throw new Error(
      `unexpected PNG layout: depth ${depth}, colour type ${colourType}, interlace ${interlaced}`
    )
  const channels = colourType === 6 ? 4 : 3
  const chunks: Array<Buffer> = []
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at)
    const type = png.toString("ascii", at + 4, at + 8)
    if (type === "IDAT") chunks.push(png.subarray(at + 8, at + 8 + length))
    at += 12 + length
  }
  const data = inflateSync(Buffer.concat(chunks))
  const stride = width * channels
  let previous = new Uint8Array(stride)
  const seen = new Set<number>()
  for (let y = 0; y < height; y++) {
    const filter = data[y * (stride + 1)]
    const line = data.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    const row = new Uint8Array(stride)
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? (row[x - channels] ?? 0) : 0
      const up = previous[x] ?? 0
      const upLeft = x >= channels ? (previous[x - channels] ?? 0) : 0
      const raw = line[x] ?? 0
      let predicted = 0
      if (filter === 1) predicted = left
      else if (filter === 2) predicted = up
      else if (filter === 3) predicted = (left + up) >> 1
      else if (filter === 4) {
        const p = left + up - upLeft
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)]
        predicted = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft
      }
      row[x] = (raw + predicted) & 0xff
    }
    for (let x = 0; x < stride; x += channels)
      seen.add(((row[x] ?? 0) << 16) | ((row[x + 1] ?? 0) << 8) | (row[x + 2] ?? 0))
    previous = row
  }
  return seen.size
}
