// The plain-text alternative of an HTML body, for mail that gives only HTML (and for previews).
import { convert as htmlToText } from 'html-to-text';

export function deriveText(html: string): string {
  return htmlToText(html, { wordwrap: 78, selectors: [{ selector: 'img', format: 'skip' }] });
}
