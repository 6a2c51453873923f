// The plain-text alternative of an HTML body, for mail that gives only HTML (and for previews).
import { compile } from 'html-to-text';

// html-to-text's convert() compiles its options on every call (a visible share of the worker's
// time); compiling once and reusing the converter does that work one time.
const convert = compile({ wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] });

export function deriveText(html: string): string {
  return convert(html);
}
