// Template rendering with LiquidJS, sandboxed: no file system (include/render tags fail), own
// properties only (no prototype walking), and time/size limits against runaway loops (set from
// POSTHORN_LIQUID_PARSE_LIMIT, POSTHORN_LIQUID_RENDER_LIMIT_MS and POSTHORN_LIQUID_MEMORY_LIMIT).
// `{{var}}` is HTML-escaped in HTML bodies, `{{{var}}}` is raw; subjects and text are never escaped.
import { Liquid, type LiquidOptions, type Template } from 'liquidjs';

/** LiquidJS's own limits: template size parsed, time per render, memory (characters/items) per render. */
export interface RenderLimits {
  parseLimit: number;
  renderLimitMs: number;
  memoryLimit: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  parseLimit: 5_000_000,
  renderLimitMs: 2000,
  memoryLimit: 64 * 1024 * 1024,
};

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

interface Engines {
  html: Liquid;
  text: Liquid;
}

// The parse limit belongs to the engine; the render and memory limits are given per render.
const enginesByParseLimit = new Map<number, Engines>();

function engines(limits: RenderLimits): Engines {
  let e = enginesByParseLimit.get(limits.parseLimit);
  if (!e) {
    const common: LiquidOptions = {
      fs: noFileSystem,
      root: [],
      partials: [],
      layouts: [],
      ownPropertyOnly: true,
      strictFilters: true,
      strictVariables: false,
      renderLimit: DEFAULT_RENDER_LIMITS.renderLimitMs,
      parseLimit: limits.parseLimit,
      memoryLimit: DEFAULT_RENDER_LIMITS.memoryLimit,
      cache: false,
      relativeReference: false,
    };
    e = { html: new Liquid({ ...common, outputEscape: 'escape' }), text: new Liquid({ ...common }) };
    if (enginesByParseLimit.size >= 16) enginesByParseLimit.delete(enginesByParseLimit.keys().next().value!);
    enginesByParseLimit.set(limits.parseLimit, e);
  }
  return e;
}

export class TemplateError extends Error {
  constructor(
    public readonly part: string,
    message: string,
  ) {
    super(`${part}: ${message}`);
  }
}

/** LiquidJS's message when a render ran past its time limit. */
export function isRenderTimeout(error: unknown): boolean {
  return error instanceof Error && /template render limit exceeded/.test(error.message);
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

export function compile(
  source: string,
  part: string,
  kind: 'html' | 'text',
  limits: RenderLimits = DEFAULT_RENDER_LIMITS,
): Compiled {
  if (source.length > CACHE_MAX_SOURCE) return parse(source, part, kind, limits);
  const key = `${kind}\0${limits.parseLimit}\0${source}`;
  let hit = compiledCache.get(key);
  if (hit) {
    compiledCache.delete(key); // re-insert: Map order is the recency order
  } else {
    hit = parse(source, part, kind, limits);
    if (compiledCache.size >= CACHE_MAX_ENTRIES) compiledCache.delete(compiledCache.keys().next().value!);
  }
  compiledCache.set(key, hit);
  return hit;
}

function parse(source: string, part: string, kind: 'html' | 'text', limits: RenderLimits): Compiled {
  const engine = engines(limits)[kind];
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
  limits: RenderLimits = DEFAULT_RENDER_LIMITS,
): string {
  const engine = engines(limits)[kind];
  try {
    return engine.renderSync(compiled, data, {
      renderLimit: limits.renderLimitMs,
      memoryLimit: limits.memoryLimit,
    }) as string;
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

export interface MessageTemplates {
  subject: string;
  html: string | null;
  text: string | null;
}

export function compileMessage(m: MessageTemplates, limits: RenderLimits = DEFAULT_RENDER_LIMITS): CompiledMessage {
  return {
    subject: compile(m.subject, 'subject', 'text', limits),
    html: m.html === null ? null : compile(m.html, 'bodyHtml', 'html', limits),
    text: m.text === null ? null : compile(m.text, 'bodyText', 'text', limits),
  };
}

export function renderMessage(
  c: CompiledMessage,
  data: Record<string, unknown>,
  limits: RenderLimits = DEFAULT_RENDER_LIMITS,
): RenderedMessage {
  return {
    // A subject is one header line: line breaks a variable brings in are folded to spaces.
    subject: renderCompiled(c.subject, data, 'subject', 'text', limits).replace(/[\r\n]+/g, ' '),
    html: c.html && renderCompiled(c.html, data, 'bodyHtml', 'html', limits),
    text: c.text && renderCompiled(c.text, data, 'bodyText', 'text', limits),
  };
}

/**
 * Whether rendering these templates costs time bounded by their size and the data's: no loop
 * tags (`for`, `tablerow`), whose ranges come from the data. Such templates may be rendered on
 * the event loop; anything else is rendered in the build threads (see delivery/build-pool.ts).
 */
export function isLoopFree(m: MessageTemplates): boolean {
  for (const source of [m.subject, m.html ?? '', m.text ?? '']) {
    // Each tag's own text: `{% for %}`, and the lines of a `{% liquid %}` block.
    for (const tag of source.matchAll(/\{%([\s\S]*?)%\}/g)) if (/\b(?:for|tablerow)\b/.test(tag[1])) return false;
  }
  return true;
}
