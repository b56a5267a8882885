/**
 * Outlook keeps event bodies as HTML; the model's DESCRIPTION is plain text. The conversion is
 * html-to-text's (pinned), wrapped once here so that the rest of the codec sees a typed function.
 */
import { convert, type HtmlToTextOptions } from "html-to-text"

const OPTIONS: HtmlToTextOptions = {
  // No hard wrapping: a description is one paragraph per line, as people typed it.
  wordwrap: false,
  // Links keep their text only: a copy's description should read like the original's.
  selectors: [
    { selector: "a", options: { ignoreHref: true } },
    { selector: "img", format: "skip" }
  ]
}

/** The text a person reads in an HTML body (Outlook's `<html><head>…</head><body>…</body></html>`). */
export const toText = (html: string): string => convert(html, OPTIONS)
