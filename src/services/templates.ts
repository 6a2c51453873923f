// Stored templates: a name plus a subject, HTML and text that transmissions render with their
// substitution data. A template is checked when it is saved, so a broken one is refused here (422)
// instead of failing every transmission that uses it later.
import type { Context } from '../context.ts';
import { ServiceError, invalid, notFound, required } from './errors.ts';
import { newId } from '../domain/ids.ts';
import { hasLineBreak } from '../domain/email-address.ts';
import { compile, compileMessage, renderCompiled, renderMessage, TemplateError } from '../domain/render.ts';
import { deriveText } from '../domain/html-text.ts';
import type { TemplatesTable } from '../store/schema.ts';
import * as store from '../store/templates.ts';

export interface TemplateInput {
  /** Chosen by the client (the contract's TemplateForm.id); generated when absent. */
  id?: string;
  name?: string;
  subject?: string | null;
  html?: string | null;
  text?: string | null;
}

export interface TemplateView {
  id: string;
  name: string;
  subject: string | null;
  html: string | null;
  text: string | null;
  /** Unix milliseconds, as the contract's TemplateData gives them. */
  createdAt: number;
  updatedAt: number;
}

export interface TemplatePreview {
  subject: string | null;
  html: string | null;
  text: string | null;
}

const MAX_SUBSTITUTION_BYTES = 100 * 1024;

export function templateView(t: TemplatesTable): TemplateView {
  return {
    id: t.id,
    name: t.name,
    subject: t.subject,
    html: t.html,
    text: t.text,
    createdAt: Number(t.created_at),
    updatedAt: Number(t.updated_at),
  };
}

/** An empty subject or body means "none": a transmission then falls back to its own. */
const orNull = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value === '' ? null : value;

interface TemplateParts {
  name: string;
  subject: string | null;
  html: string | null;
  text: string | null;
}

function checkParts(p: TemplateParts): void {
  if (p.name.trim() === '') throw required('name');
  if (hasLineBreak(p.name)) throw invalid('name', 'must not contain line breaks');
  if (p.subject !== null && hasLineBreak(p.subject)) throw invalid('subject', 'must not contain line breaks');
  if (p.html === null && p.text === null) throw required('html or text');
  const parts: Array<[string | null, string, 'html' | 'text']> = [
    [p.subject, 'subject', 'text'],
    [p.html, 'html', 'html'],
    [p.text, 'text', 'text'],
  ];
  for (const [source, field, kind] of parts) {
    if (source === null) continue;
    try {
      // Rendering once with no data also catches what only fails at render time, such as
      // {% include %} (templates cannot read files) — missing variables simply render empty.
      renderCompiled(compile(source, field, kind), {}, field, kind);
    } catch (error) {
      if (error instanceof TemplateError) throw new ServiceError('template_error', error.message, field);
      throw error;
    }
  }
}

/** Template ids travel in URL paths (/v1/template/{id}) and in transmissions' templateId. */
const TEMPLATE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export async function createTemplate(ctx: Context, accountId: string, input: TemplateInput): Promise<TemplateView> {
  if (input.id !== undefined && !TEMPLATE_ID.test(input.id))
    throw invalid('id', 'must be 1 to 64 letters, digits, "-", "_" or ".", starting with a letter or digit');
  if (input.name === undefined) throw required('name');
  const parts: TemplateParts = {
    name: input.name,
    subject: orNull(input.subject),
    html: orNull(input.html),
    text: orNull(input.text),
  };
  checkParts(parts);
  const now = ctx.clock();
  const id = input.id ?? newId();
  const row: TemplatesTable = { id, account_id: accountId, ...parts, created_at: now, updated_at: now };
  if (!(await store.insertTemplateUnlessTaken(ctx.db, row)))
    throw new ServiceError('conflict', `a template with id "${id}" already exists in this account`, 'id');
  return templateView(row);
}

export async function listTemplates(
  ctx: Context,
  accountId: string,
  q: { page: number; size: number; search?: string },
): Promise<{ count: number; data: TemplateView[] }> {
  const search = q.search?.trim() || undefined;
  const { count, rows } = await store.listTemplates(ctx.db, accountId, search, (q.page - 1) * q.size, q.size);
  return { count, data: rows.map(templateView) };
}

async function findOwn(ctx: Context, accountId: string, id: string): Promise<TemplatesTable> {
  const t = await store.findTemplate(ctx.db, accountId, id);
  if (!t) throw notFound(`template ${id}`);
  return t;
}

export async function getTemplate(ctx: Context, accountId: string, id: string): Promise<TemplateView> {
  return templateView(await findOwn(ctx, accountId, id));
}

/**
 * PUT replaces the fields it sends and keeps the others (Mailtarget's behaviour); `null` or ""
 * clears subject, html or text. The result must still be a valid template.
 */
export async function updateTemplate(
  ctx: Context,
  accountId: string,
  id: string,
  input: TemplateInput,
): Promise<TemplateView> {
  const given = (['name', 'subject', 'html', 'text'] as const).filter((f) => input[f] !== undefined);
  if (given.length === 0) throw required('name, subject, html or text');
  if (input.name === null) throw invalid('name', 'must not be null');
  const current = await findOwn(ctx, accountId, id);
  const parts: TemplateParts = {
    name: input.name ?? current.name,
    subject: input.subject === undefined ? current.subject : orNull(input.subject),
    html: input.html === undefined ? current.html : orNull(input.html),
    text: input.text === undefined ? current.text : orNull(input.text),
  };
  checkParts(parts);
  const updatedAt = ctx.clock();
  // Transmissions already accepted keep the copy of the content they took at accept time.
  if (!(await store.updateTemplate(ctx.db, accountId, id, { ...parts, updated_at: updatedAt })))
    throw notFound(`template ${id}`);
  return templateView({ ...current, ...parts, updated_at: updatedAt });
}

export async function deleteTemplate(ctx: Context, accountId: string, id: string): Promise<void> {
  if (!(await store.deleteTemplate(ctx.db, accountId, id))) throw notFound(`template ${id}`);
}

const PREVIEW_FIELD: Record<string, string> = { subject: 'subject', bodyHtml: 'html', bodyText: 'text' };

/** Renders a template as a transmission would; the text part is derived from HTML when missing. */
export async function previewTemplate(
  ctx: Context,
  accountId: string,
  id: string,
  substitutionData: Record<string, unknown> = {},
  /** Unsaved parts to render instead of the saved ones (the dashboard editor's live preview). */
  draft: Partial<Pick<TemplateParts, 'subject' | 'html' | 'text'>> = {},
): Promise<TemplatePreview> {
  if (Buffer.byteLength(JSON.stringify(substitutionData)) > MAX_SUBSTITUTION_BYTES) {
    throw invalid('substitutionData', 'must be at most 100 KB when serialized');
  }
  const saved = await findOwn(ctx, accountId, id);
  const t = {
    subject: draft.subject !== undefined ? orNull(draft.subject) : saved.subject,
    html: draft.html !== undefined ? orNull(draft.html) : saved.html,
    text: draft.text !== undefined ? orNull(draft.text) : saved.text,
  };
  try {
    const limits = ctx.config.rendering.limits;
    const rendered = renderMessage(
      compileMessage({ subject: t.subject ?? '', html: t.html, text: t.text }, limits),
      substitutionData,
      limits,
    );
    return {
      subject: t.subject === null ? null : rendered.subject,
      html: rendered.html,
      text: rendered.text ?? (rendered.html !== null ? deriveText(rendered.html) : null),
    };
  } catch (error) {
    if (error instanceof TemplateError) {
      const field = PREVIEW_FIELD[error.part] ?? error.part;
      throw new ServiceError('template_error', `${field}: ${error.message.slice(error.part.length + 2)}`, field);
    }
    throw error;
  }
}
