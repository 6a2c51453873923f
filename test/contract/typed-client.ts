// A small Mailtarget client written the way the Go and Java SDKs are: every response is decoded
// into a declared struct (types from the published contract, wisnuekas/mailtarget-sentinel), an
// integer field refuses a string or a fraction (Go: "cannot unmarshal string into Go struct field
// … of type int"), unknown fields are ignored, missing fields and null are zero values. Requests
// are encoded from full structs too: every optional field is sent, empty when unset ("", [], {}),
// exactly what such an SDK puts on the wire.

export type Kind =
  'int' | 'float' | 'string' | 'bool' | { array: Kind } | { map: 'string' } | { struct: Record<string, Kind> };

export class DecodeError extends Error {}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

export function decode(kind: Kind, value: unknown, path = '$'): any {
  const absent = value === undefined || value === null;
  const fail = (): never => {
    throw new DecodeError(`${path}: cannot unmarshal ${jsonType(value)} into ${JSON.stringify(kind)}`);
  };
  if (kind === 'int') return absent ? 0 : typeof value === 'number' && Number.isInteger(value) ? value : fail();
  if (kind === 'float') return absent ? 0 : typeof value === 'number' ? value : fail();
  if (kind === 'string') return absent ? '' : typeof value === 'string' ? value : fail();
  if (kind === 'bool') return absent ? false : typeof value === 'boolean' ? value : fail();
  if ('array' in kind) {
    if (absent) return [];
    if (!Array.isArray(value)) return fail();
    return value.map((item, i) => decode(kind.array, item, `${path}[${i}]`));
  }
  if ('map' in kind) {
    if (absent) return {};
    if (jsonType(value) !== 'object') return fail();
    return Object.fromEntries(
      Object.entries(value as object).map(([k, v]) => [k, decode(kind.map, v, `${path}.${k}`)]),
    );
  }
  if (!absent && jsonType(value) !== 'object') return fail();
  const source = (absent ? {} : value) as Record<string, unknown>;
  // Only declared fields are read: unknown ones are ignored, as encoding/json and Jackson
  // (FAIL_ON_UNKNOWN_PROPERTIES off, as the SDKs configure it) do.
  return Object.fromEntries(
    Object.entries(kind.struct).map(([field, k]) => [field, decode(k, source[field], `${path}.${field}`)]),
  );
}

const struct = (fields: Record<string, Kind>): Kind => ({ struct: fields });
const arrayOf = (k: Kind): Kind => ({ array: k });

// ---- the contract's types ----

export const Permission = struct({ id: 'int', name: 'string', detail: 'string' });
export const ApiKeyItem = struct({
  createdAt: 'int',
  id: 'int',
  key: 'string',
  name: 'string',
  permissionType: 'string',
  subAccountId: 'int',
  subAccountName: 'string',
});
export const ApiKeyDetail = struct({
  allowedIp: 'string',
  companyId: 'int',
  companyName: 'string',
  createdAt: 'int',
  id: 'int',
  key: 'string',
  name: 'string',
  permissionType: 'string',
  permissions: arrayOf(Permission),
  subAccountId: 'int',
  subAccountName: 'string',
});
export const ApiKeyList = struct({ apiKeys: arrayOf(ApiKeyItem), count: 'int' });
export const AccountInfo = struct({
  companyId: 'int',
  companyName: 'string',
  defaultSendingDomain: 'string',
  plan: 'string',
  status: 'string',
  timezone: 'string',
});
export const UsageQuota = struct({
  dailyLimit: 'int',
  emailsQuota: 'int',
  emailsRemaining: 'int',
  emailsSent: 'int',
  maxAttachmentSizeMb: 'int',
  maxRecipientsPerTransmission: 'int',
  percentUsed: 'float',
  period: 'string',
  plan: 'string',
  rateLimit: struct({ requestsPerMinute: 'int', requestsPerSecond: 'int' }),
});
export const DomainDetail = struct({
  assignment: 'string',
  cnameHostname: 'string',
  cnameValue: 'string',
  cnameVerified: 'bool',
  createdAt: 'int',
  dkimHostname: 'string',
  dkimPrivateKey: 'string',
  dkimPublicKey: 'string',
  dkimSelector: 'string',
  dkimValue: 'string',
  dkimVerified: 'bool',
  domain: 'string',
  id: 'int',
  spfHostname: 'string',
  spfValue: 'string',
  spfVerified: 'bool',
  status: arrayOf('string'),
  subAccountId: 'int',
  subAccountName: 'string',
  trackingDomainId: 'int',
  trackingDomainName: 'string',
  types: arrayOf('string'),
});
export const DomainItem = struct({
  assignment: 'string',
  companyId: 'int',
  createdAt: 'int',
  default: 'bool',
  domain: 'string',
  id: 'int',
  status: 'string',
  subAccountID: 'int',
  subAccountName: 'string',
  types: arrayOf('string'),
});
export const DomainList = arrayOf(struct({ count: 'int', sendingDomain: arrayOf(DomainItem) }));
export const SimpleDomains = struct({ count: 'int', data: arrayOf(struct({ id: 'int', name: 'string' })) });
export const Suggestion = struct({ note: 'string', spfRecords: arrayOf('string'), suggestion: 'string' });
export const SubAccount = struct({ createdAt: 'int', id: 'int', name: 'string', status: 'string' });
export const SubAccountList = struct({ count: 'int', subAccounts: arrayOf(SubAccount) });
export const SubAccountDetail = struct({
  apiKeys: arrayOf(ApiKeyItem),
  companyId: 'int',
  createdAt: 'int',
  domains: arrayOf(struct({ createdAt: 'int', domain: 'string', id: 'int', updatedAt: 'int' })),
  id: 'int',
  ipPoolId: 'int',
  ipPoolName: 'string',
  status: 'string',
  subAccountName: 'string',
});
export const SuppressionList = struct({
  count: 'int',
  data: arrayOf(struct({ createdAt: 'int', email: 'string', reason: 'string', type: 'string' })),
});
export const TemplateList = struct({
  count: 'int',
  data: arrayOf(struct({ createdAt: 'int', id: 'string', name: 'string', updatedAt: 'int' })),
});
export const Summary = struct({
  bounceRate: 'float',
  bounced: 'int',
  clickRate: 'float',
  clicked: 'int',
  delivered: 'int',
  deliveryRate: 'float',
  name: 'string',
  openRate: 'float',
  opened: 'int',
  period: struct({ from: 'string', to: 'string' }),
  sent: 'int',
  unsubscribeRate: 'float',
  unsubscribed: 'int',
});
export const TransmissionDetail = struct({
  createdAt: 'int',
  from: struct({ email: 'string', name: 'string' }),
  recipientCount: 'int',
  stats: struct({ bounced: 'int', clicked: 'int', delivered: 'int', opened: 'int', unsubscribed: 'int' }),
  status: 'string',
  subject: 'string',
  transmissionId: 'string',
});
export const TransmissionEvents = struct({
  events: arrayOf(
    struct({
      friendlyFrom: 'string',
      reason: 'string',
      recipient: 'string',
      subject: 'string',
      timestamp: 'int',
      type: 'string',
      url: 'string',
      userAgent: 'string',
    }),
  ),
});
export const TransmissionData = struct({ transmissionId: 'string' });

// ---- request structs, encoded with every field ----

export interface Address {
  email: string;
  name: string;
}
export interface TransmissionForm {
  subject: string;
  from: Address;
  replyTo: Address[];
  to: Address[];
  cc: Address[];
  bcc: Address[];
  bodyText: string;
  bodyHtml: string;
  headers: Array<{ name: string; value: string }>;
  attachments: Array<{ contentId: string; disposition: string; filename: string; mimeType: string; value: string }>;
  metadata: Record<string, string>;
  optionsAttributes: { clickTracking: boolean; openTracking: boolean; transactional: boolean };
  templateId: string;
  substitutionData: Record<string, string>;
  allRCPTto: string[];
}

/** A TransmissionForm as a zero-initialised struct with the given fields set. */
export function transmissionForm(set: Partial<TransmissionForm>): TransmissionForm {
  return {
    subject: '',
    from: { email: '', name: '' },
    replyTo: [],
    to: [],
    cc: [],
    bcc: [],
    bodyText: '',
    bodyHtml: '',
    headers: [],
    attachments: [],
    metadata: {},
    optionsAttributes: { clickTracking: false, openTracking: false, transactional: false },
    templateId: '',
    substitutionData: {},
    allRCPTto: [],
    ...set,
  };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
  ) {
    super(`HTTP ${status}: ${body.slice(0, 300)}`);
  }
}

/** The client: base URL + key, one method per operation, each decoding into its declared type. */
export class MailtargetClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  private async call(method: string, path: string, kind: Kind, body?: unknown): Promise<any> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${this.apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new HttpError(res.status, text);
    return decode(kind, JSON.parse(text));
  }

  send = (form: TransmissionForm) => this.call('POST', '/v1/layang/transmissions', TransmissionData, form);
  summary = (from: string, to: string) => this.call('GET', `/v1/analytic/summary?from=${from}&to=${to}`, Summary);
  breakdown = (from: string, to: string, groupBy: string) =>
    this.call('GET', `/v1/analytic/summary/breakdown?from=${from}&to=${to}&groupBy=${groupBy}`, arrayOf(Summary));
  transmission = (id: string) => this.call('GET', `/v1/analytic/transmission/${id}`, TransmissionDetail);
  events = (id: string) => this.call('GET', `/v1/analytic/transmission/${id}/events`, TransmissionEvents);

  account = () => this.call('GET', '/v1/account', AccountInfo);
  usageQuota = () => this.call('GET', '/v1/account/usage-quota', UsageQuota);
  permissions = () => this.call('GET', '/v1/permission', arrayOf(Permission));

  listApiKeys = () => this.call('GET', '/v1/api-key?page=1&size=100&search=&sort=&permissionType=', ApiKeyList);
  createApiKey = (form: { allowedIp: string; name: string; permissionIds: number[] }) =>
    this.call('POST', '/v1/api-key', ApiKeyDetail, form);
  getApiKey = (id: number) => this.call('GET', `/v1/api-key/${id}`, ApiKeyDetail);
  updateApiKey = (
    id: number,
    form: { allowedIp: string; name: string; permissionIds: number[]; permissionType: string },
  ) => this.call('PUT', `/v1/api-key/${id}`, ApiKeyDetail, form);
  deleteApiKey = (id: number) => this.call('DELETE', `/v1/api-key/${id}`, 'bool');

  listDomains = (search = '') =>
    this.call('GET', `/v1/domain/sending?page=1&size=100&search=${search}&status=`, DomainList);
  createDomain = (form: { assignment: string; domain: string; note: string }) =>
    this.call('POST', '/v1/domain/sending', DomainDetail, form);
  unverifiedSpf = () => this.call('GET', '/v1/domain/sending/unverified-spf', SimpleDomains);
  getDomain = (id: number) => this.call('GET', `/v1/domain/sending/${id}`, DomainDetail);
  deleteDomain = (id: number) => this.call('DELETE', `/v1/domain/sending/${id}`, 'string');
  shareDomain = (id: number) => this.call('PUT', `/v1/domain/sending/${id}/share`, DomainDetail);
  spfSuggestion = (id: number) => this.call('GET', `/v1/domain/sending/${id}/spf-suggestion`, Suggestion);
  verifyDomain = (id: number) => this.call('PUT', `/v1/domain/sending/${id}/verify-txt`, arrayOf(DomainDetail));

  listSubAccounts = () => this.call('GET', '/v1/sub-account?page=1&size=100&search=&status=', SubAccountList);
  createSubAccount = (form: Record<string, unknown>) => this.call('POST', '/v1/sub-account', SubAccountDetail, form);
  getSubAccount = (id: number) => this.call('GET', `/v1/sub-account/${id}`, SubAccountDetail);
  updateSubAccount = (id: number, form: { ipPoolId: number; name: string; status: string }) =>
    this.call('PUT', `/v1/sub-account/${id}`, SubAccountDetail, form);

  suppressions = () => this.call('GET', '/v1/suppression/list', SuppressionList);

  listTemplates = (search = '') => this.call('GET', `/v1/template?page=1&size=100&search=${search}`, TemplateList);
  createTemplate = (form: { html: string; id: string; name: string }) =>
    this.call('POST', '/v1/template', 'bool', form);
}
