// The plain-text alternative of an HTML body, for mail that gives only HTML (and for previews).
import { randomBytes } from 'node:crypto';
import { compile } from 'html-to-text';

// html-to-text's convert() compiles its options on every call (a visible share of the worker's
// time); compiling once and reusing the converter does that work one time.
// Headings keep their case: converting a template (below) must give the same text as converting
// what the template renders, and an upper-cased placeholder could not be put back.
const convert = compile({
  wordwrap: 78,
  selectors: [
    { selector: 'img', format: 'skip' },
    ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'].map((selector) => ({ selector, options: { uppercase: false } })),
  ],
});

export function deriveText(html: string): string {
  return convert(html);
}

const LIQUID_MARKUP = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;
/** Raw output puts HTML into the body; its text version needs the rendered HTML converted. */
const RAW_OUTPUT = /\{\{\{|\|\s*raw\b/;

/**
 * The text template of an HTML template: converted once per mailing instead of once per message
 * (html-to-text was ~180 µs of a message's ~600 µs of building). The Liquid markup is swapped for
 * placeholder words before the conversion and put back after it, so the text template renders the
 * same variables (unescaped, as text templates are). Null when the template outputs raw HTML: then
 * each rendered message is converted.
 */
export function deriveTextTemplate(htmlTemplate: string): string | null {
  if (RAW_OUTPUT.test(htmlTemplate)) return null;
  const markup: string[] = [];
  // Letters and digits only: one word that is neither wrapped inside nor changed in case.
  const tag = `lq${randomBytes(6).toString('hex')}x`;
  const protectedHtml = htmlTemplate.replace(LIQUID_MARKUP, (m) => `${tag}${markup.push(m) - 1}${tag}`);
  const text = convert(protectedHtml);
  return text.replace(new RegExp(`${tag}(\\d+)${tag}`, 'g'), (_w, i: string) => markup[Number(i)] ?? '');
}
