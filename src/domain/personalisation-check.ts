// The accept-time check of a send's templates against every recipient's data, within one time
// budget for the whole send: a template error or a personalisation too costly to render is refused
// now (422) instead of accepted and bounced later. Pure: it runs in a build thread (see
// delivery/build-pool.ts), or on the event loop for loop-free templates (see isLoopFree).
import {
  compileMessage,
  isRenderTimeout,
  renderCompiled,
  TemplateError,
  type MessageTemplates,
  type RenderLimits,
} from './render.ts';

export interface PersonalisationJob {
  templates: MessageTemplates;
  limits: RenderLimits;
  /** The distinct data sets to render with, each with the index of a recipient it stands for. */
  dataSets: Array<{ index: number; data: Record<string, unknown> }>;
  budgetMs: number;
}

export type PersonalisationResult =
  | { ok: true }
  /** A template that does not parse (index null) or does not render for one recipient's data. */
  | { ok: false; reason: 'template'; index: number | null; part: string; message: string }
  /** The budget ran out while rendering for this recipient (null: stopped from outside, recipient unknown). */
  | { ok: false; reason: 'budget'; index: number | null };

/** Runs checks off the event loop (the build threads, delivery/build-pool.ts). */
export interface PersonalisationChecker {
  check(job: PersonalisationJob): Promise<PersonalisationResult>;
}

const PARTS = [
  ['subject', 'subject', 'text'],
  ['html', 'bodyHtml', 'html'],
  ['text', 'bodyText', 'text'],
] as const;

export function checkPersonalisation(
  job: PersonalisationJob,
  now: () => number = () => performance.now(),
): PersonalisationResult {
  const started = now();
  let compiled;
  try {
    compiled = compileMessage(job.templates, job.limits);
  } catch (error) {
    if (error instanceof TemplateError)
      return { ok: false, reason: 'template', index: null, part: error.part, message: error.message };
    throw error;
  }
  for (const { index, data } of job.dataSets) {
    for (const [key, part, kind] of PARTS) {
      const template = compiled[key];
      if (template === null) continue;
      const remaining = job.budgetMs - (now() - started);
      if (remaining <= 0) return { ok: false, reason: 'budget', index };
      // The render may take what is left of the budget, and no more than any render may.
      const cappedByBudget = remaining < job.limits.renderLimitMs;
      const limits = cappedByBudget ? { ...job.limits, renderLimitMs: Math.ceil(remaining) } : job.limits;
      try {
        renderCompiled(template, data, part, kind, limits);
      } catch (error) {
        if (!(error instanceof TemplateError)) throw error;
        if (cappedByBudget && isRenderTimeout(error)) return { ok: false, reason: 'budget', index };
        return { ok: false, reason: 'template', index, part: error.part, message: error.message };
      }
    }
  }
  return { ok: true };
}

/**
 * The data sets a send renders with: the shared data merged with each recipient's own, once per
 * distinct result (most sends have one: no recipient brings data of its own).
 */
export function distinctDataSets(
  shared: Record<string, unknown>,
  own: Array<Record<string, unknown> | undefined>,
): PersonalisationJob['dataSets'] {
  const seen = new Set<string>();
  const sets: PersonalisationJob['dataSets'] = [];
  own.forEach((data, index) => {
    const key = data === undefined ? '' : JSON.stringify(data);
    if (seen.has(key)) return;
    seen.add(key);
    sets.push({ index, data: data === undefined ? shared : { ...shared, ...data } });
  });
  return sets;
}
