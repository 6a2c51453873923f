// Errors a use case can raise. They name what went wrong, not how a surface shows it:
// each HTTP surface maps a reason to its own status, code and wording.
export type ServiceErrorReason =
  | 'required' // a required field is missing
  | 'invalid' // a field has a value we cannot use
  | 'invalid_email'
  | 'unknown_template'
  | 'template_error'
  | 'domain_unverified'
  | 'too_many_recipients'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'forbidden'
  | 'account_suspended'; // the account (a sub-account) is Suspended or Terminated: it may not send

export class ServiceError extends Error {
  constructor(
    public readonly reason: ServiceErrorReason,
    public readonly detail: string,
    public readonly field?: string,
  ) {
    super(detail);
  }
}

export const required = (field: string) => new ServiceError('required', `${field} is required`, field);
export const invalid = (field: string, why: string) => new ServiceError('invalid', `${field} ${why}`, field);
export const notFound = (what: string) => new ServiceError('not_found', `${what} not found`);
