// The wording of the Laravel framework behind mail2many, which integrations compare as strings
// (the WordPress signup plugin checks `message === "The email field is required."`):
// - a field error reads like Laravel 8's lang/en/validation.php ("The :attribute must be an integer.");
// - a failed validation's `message` is the first field error, followed by " (and N more error[s])"
//   when there are more, as Illuminate\Validation\ValidationException::summarize writes it.

export type FieldErrors = Record<string, string[]>;

/** The first error, and how many more there are, the way Laravel summarizes a failed validation. */
export function summarizeFieldErrors(errors: FieldErrors): string | null {
  const all = Object.values(errors).flat();
  if (all.length === 0) return null;
  const more = all.length - 1;
  return more === 0 ? all[0] : `${all[0]} (and ${more} more error${more === 1 ? '' : 's'})`;
}

/** One broken schema rule, as the validator reports it. */
export interface BrokenRule {
  keyword: string;
  params: Record<string, unknown>;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'must be an integer.',
  number: 'must be a number.',
  string: 'must be a string.',
  boolean: 'field must be true or false.',
  array: 'must be an array.',
  object: 'must be an object.',
};

/** Laravel's sentence for a rule broken by `attribute` (a field name, dotted for nested ones). */
export function laravelFieldMessage(attribute: string, rule: BrokenRule): string {
  const p = rule.params;
  switch (rule.keyword) {
    case 'required':
      return `The ${attribute} field is required.`;
    case 'type': {
      const type = String(p.type).split(',')[0];
      return `The ${attribute} ${TYPE_WORDS[type] ?? 'is invalid.'}`;
    }
    case 'maxLength':
      return `The ${attribute} must not be greater than ${String(p.limit)} characters.`;
    case 'minLength':
      return Number(p.limit) === 1
        ? `The ${attribute} field is required.`
        : `The ${attribute} must be at least ${String(p.limit)} characters.`;
    case 'maximum':
      return `The ${attribute} must not be greater than ${String(p.limit)}.`;
    case 'minimum':
      return `The ${attribute} must be at least ${String(p.limit)}.`;
    case 'maxItems':
      return `The ${attribute} must not have more than ${String(p.limit)} items.`;
    case 'minItems':
      return `The ${attribute} must have at least ${String(p.limit)} items.`;
    case 'format':
      return p.format === 'email'
        ? `The ${attribute} must be a valid email address.`
        : `The ${attribute} format is invalid.`;
    case 'pattern':
      return `The ${attribute} format is invalid.`;
    default:
      // enum, const, anyOf and whatever else: Laravel's `in` rule.
      return `The selected ${attribute} is invalid.`;
  }
}

/**
 * A sentence of ours about a field ("color must be a hex colour…", "name is required") in Laravel's
 * form ("The color must be a hex colour….", "The name field is required."). Anything else (already
 * Laravel's, or about a part of a field, such as the search grammar's "search[0].x: …") is kept.
 */
export function laravelSentence(field: string, detail: string, required: boolean): string {
  if (!detail.startsWith(`${field} `)) return detail;
  if (required && detail === `${field} is required`) return `The ${field} field is required.`;
  return `The ${detail.replace(/[.!?]?$/, '.')}`;
}
