/**
 * Response bodies are UTF-8 (RFC 4791 and WebDAV say so). A body that is not is still read, so
 * that one damaged calendar object cannot fail a whole multistatus: each byte sequence that is
 * not UTF-8 becomes U+0000 (NUL). NUL can occur neither in an XML document nor in iCalendar
 * text, so, unlike the usual U+FFFD, it cannot be mistaken for a character someone wrote; the
 * iCalendar codec quarantines the object that carries it, and the rest of the answer is read.
 */
import { isUtf8 } from "node:buffer"

/** What stands for each sequence of bytes that was not UTF-8. */
export const INVALID = "\u0000"

const strict = new TextDecoder("utf-8", { fatal: true })

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there starts none. */
const sequenceAt = (bytes: Uint8Array, i: number): number => {
  const b0 = bytes[i] ?? 0
  if (b0 < 0x80) return 1
  const cont = (j: number, lo = 0x80, hi = 0xbf) => {
    const b = bytes[i + j]
    return b !== undefined && b >= lo && b <= hi
  }
  // RFC 3629's table: no overlong forms, no surrogates, nothing above U+10FFFF.
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0
  return 0
}

/** Decodes a body; `lossy` says whether any byte was not UTF-8 (and was replaced by `INVALID`). */
export const decode = (bytes: Uint8Array): { readonly text: string; readonly lossy: boolean } => {
  if (isUtf8(bytes)) return { text: strict.decode(bytes), lossy: false }
  let text = ""
  let runStart = 0
  let i = 0
  while (i < bytes.length) {
    const n = sequenceAt(bytes, i)
    if (n > 0) {
      i += n
      continue
    }
    text += strict.decode(bytes.subarray(runStart, i))
    // One marker per run of bad bytes: the text around it is what matters to a reader.
    if (!text.endsWith(INVALID)) text += INVALID
    i += 1
    runStart = i
  }
  text += strict.decode(bytes.subarray(runStart))
  return { text, lossy: true }
}
