// Template rendering with LiquidJS, sandboxed: no file system (include/render tags fail), own
// properties only (no prototype walking), and time/size limits against runaway loops.
// `{{var}}` is HTML-escaped in HTML bodies, `{{{var}}}` is raw; subjects and text are never escaped.
import { Liquid, type LiquidOptions, type Template } from 'liquidjs';

const noFileSystem = {
  exists: async () => false,
  existsSync: () => false,
  readFile: async () => {
    throw new Error('templates cannot read files');
  },
  readFileSync: () => {
    throw new Error('templates cannot read files');
  },
  resolve: (_root: string, file: string) => file,
};

const common: LiquidOptions = {
  fs: noFileSystem,
  root: [],
  partials: [],
  layouts: [],
  ownPropertyOnly: true,
  strictFilters: true,
  strictVariables: false,
  renderLimit: 2000,
  parseLimit: 5_000_000,
  memoryLimit: 64 * 1024 * 1024,
  cache: false,
  relativeReference: false,
};

const htmlEngine = new Liquid({ ...common, outputEscape: 'escape' });
const textEngine = new Liquid({ ...common });

export class TemplateError extends Error {
  constructor(
    public readonly part: string,
    message: string,
  ) {
    super(`${part}: ${message}`);
  }
}

/** `{{{ expr }}}` (Mustache-style raw output) becomes `{{ expr | raw }}`. */
function rawTripleBraces(source: string): string {
  return source.replace(/\{\{\{\s*([\s\S]+?)\s*\}\}\}/g, '{{ $1 | raw }}');
}

export type Compiled = Template[];

// Senders mostly send the same few templates over and over; parsed templates are immutable and
// reusable, so the most recent ones are kept (small sources only, a bounded number).
const CACHE_MAX_ENTRIES = 500;
const CACHE_MAX_SOURCE = 64 * 1024;
const compiledCache = new Map<string, Compiled>();

export function compile(source: string, part: string, kind: 'html' | 'text'): Compiled {
  if (source.length > CACHE_MAX_SOURCE) return parse(source, part, kind);
  const key = kind + '\0' + source;
  let hit = compiledCache.get(key);
  if (hit) {
    compiledCache.delete(key); // re-insert: Map order is the recency order
  } else {
    hit = parse(source, part, kind);
    if (compiledCache.size >= CACHE_MAX_ENTRIES) compiledCache.delete(compiledCache.keys().next().value!);
  }
  compiledCache.set(key, hit);
  return hit;
}

function parse(source: string, part: string, kind: 'html' | 'text'): Compiled {
  const engine = kind === 'html' ? htmlEngine : textEngine;
  try {
    return engine.parse(
      kind === 'html' ? rawTripleBraces(source) : source.replace(/\{\{\{\s*([\s\S]+?)\s*\}\}\}/g, '{{ $1 }}'),
    );
  } catch (error) {
    throw new TemplateError(part, (error as Error).message);
  }
}

export function renderCompiled(
  compiled: Compiled,
  data: Record<string, unknown>,
  part: string,
  kind: 'html' | 'text',
): string {
  const engine = kind === 'html' ? htmlEngine : textEngine;
  try {
    return engine.renderSync(compiled, data) as string;
  } catch (error) {
    throw new TemplateError(part, (error as Error).message);
  }
}

export interface CompiledMessage {
  subject: Compiled;
  html: Compiled | null;
  text: Compiled | null;
}

export interface RenderedMessage {
  subject: string;
  html: string | null;
  text: string | null;
}

export function compileMessage(m: { subject: string; html: string | null; text: string | null }): CompiledMessage {
  return {
    subject: compile(m.subject, 'subject', 'text'),
    html: m.html === null ? null : compile(m.html, 'bodyHtml', 'html'),
    text: m.text === null ? null : compile(m.text, 'bodyText', 'text'),
  };
}

export function renderMessage(c: CompiledMessage, data: Record<string, unknown>): RenderedMessage {
  return {
    // A subject is one header line: line breaks a variable brings in are folded to spaces.
    subject: renderCompiled(c.subject, data, 'subject', 'text').replace(/[\r\n]+/g, ' '),
    html: c.html && renderCompiled(c.html, data, 'bodyHtml', 'html'),
    text: c.text && renderCompiled(c.text, data, 'bodyText', 'text'),
  };
}
