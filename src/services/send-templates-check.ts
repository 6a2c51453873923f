// The accept-time check of a send's templates: they must parse, and render for every recipient's
// data within POSTHORN_ACCEPT_RENDER_BUDGET_MS for the whole send; otherwise the request is refused
// (422 in either API's dialect) instead of accepted and bounced later. Templates with loops run
// in the build threads, so a costly personalisation never holds the event loop; loop-free ones,
// whose cost is bounded by their size and the data's, are rendered here when the work is small.
import type { Context } from '../context.ts';
import { ServiceError } from './errors.ts';
import { isLoopFree, type MessageTemplates } from '../domain/render.ts';
import {
  checkPersonalisation,
  distinctDataSets,
  type PersonalisationJob,
  type PersonalisationResult,
} from '../domain/personalisation-check.ts';

/** Rendered on the event loop at most: data sets, and characters of template times data sets (~1 ms of work). */
const INLINE_SETS = 20;
const INLINE_WORK = 500_000;

export interface SendTemplates {
  templates: MessageTemplates;
  /** The data every recipient shares. */
  shared: Record<string, unknown>;
  /** Each recipient's own data, in request order (undefined: none). */
  own: Array<Record<string, unknown> | undefined>;
  /** The field of a recipient's data, named in an error: `to[3].substitutionData`, say. */
  recipientField(index: number): string;
}

export async function checkSendTemplates(ctx: Context, send: SendTemplates): Promise<void> {
  const { limits, acceptBudgetMs } = ctx.config.rendering;
  const dataSets = distinctDataSets(send.shared, send.own);
  const job: PersonalisationJob = { templates: send.templates, limits, dataSets, budgetMs: acceptBudgetMs };
  const size = send.templates.subject.length + (send.templates.html?.length ?? 0) + (send.templates.text?.length ?? 0);
  const inline =
    !ctx.templateChecks ||
    (isLoopFree(send.templates) && dataSets.length <= INLINE_SETS && size * dataSets.length <= INLINE_WORK);
  const result = inline ? checkPersonalisation(job) : await ctx.templateChecks!.check(job);
  if (!result.ok) throw refusal(result, send, acceptBudgetMs, dataSets.length > 1);
}

function refusal(
  result: Exclude<PersonalisationResult, { ok: true }>,
  send: SendTemplates,
  budgetMs: number,
  several: boolean,
): ServiceError {
  const who = result.index === null ? null : send.recipientField(result.index);
  if (result.reason === 'budget') {
    return new ServiceError(
      'template_error',
      `the templates take too long to render for the recipients' data: rendering for all recipients must take ` +
        `at most ${budgetMs} ms${who ? `, and the budget ran out at ${who}` : ''} (loops over large ranges, deeply ` +
        'nested loops?)',
      who ?? undefined,
    );
  }
  // A template that does not render for one recipient: say whose data it was, when recipients differ.
  const suffix = several && who ? ` (rendering for ${who})` : '';
  return new ServiceError('template_error', result.message + suffix, result.part);
}
