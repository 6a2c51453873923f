// Where a malformed JSON body breaks: V8's own messages are inconsistent (some give a position,
// some quote the whole body back), so a second, tolerant parse (jsonc-parser, comments and
// trailing commas refused) finds the first error's offset for an answer a client can act on.
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';

export class JsonSyntaxError extends Error {}

/** "value expected" from "ValueExpected". */
const words = (code: string) => code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/** e.g. "value expected at line 1, column 10 (position 9)"; null when this parser finds no error. */
export function describeJsonSyntax(text: string): string | null {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return null;
  const { line, column } = lineAndColumn(text, first.offset);
  return `${words(printParseErrorCode(first.error))} at line ${line}, column ${column} (position ${first.offset})`;
}
