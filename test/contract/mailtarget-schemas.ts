// Mailtarget's published contract, written down from its two OpenAPI documents as published in the
// public repository wisnuekas/mailtarget-sentinel:
//   - apiconfig-openapi-spec.json   ("Mailtarget Dashboard API", server https://apiconfig.mailtarget.co/v1)
//   - transmission-openapi-spec.json ("Mailtarget API", server https://transmission.mailtarget.co/v1)
// Each operation of both documents is listed with the status and response schema its 2xx answer has
// there; the component schemas keep the documents' names (model.…) and their field names and JSON
// types exactly. Posthorn serves every path under /v1.
//
// The documents mark no response field required. A client decodes what it finds, so a renamed or
// missing field is as broken as a wrongly typed one: the test requires every documented field,
// except the few Posthorn deliberately leaves out (OMITTED, each with its reason).

export type JsonSchema = Record<string, unknown>;

const ref = (name: string): JsonSchema => ({ $ref: name });
const str = { type: 'string' };
const int = { type: 'integer' };
const num = { type: 'number' };
const bool = { type: 'boolean' };
const arrayOf = (items: JsonSchema): JsonSchema => ({ type: 'array', items });
const object = (properties: Record<string, JsonSchema>): JsonSchema => ({ type: 'object', properties });

/** components.schemas of the two documents: every schema a 2xx response uses. */
export const COMPONENTS: Record<string, JsonSchema> = {
  // transmission-openapi-spec.json
  'model.TransmissionData': object({ transmissionId: str }),

  // apiconfig-openapi-spec.json
  'model.AnalyticsSummaryPeriod': object({ from: str, to: str }),
  'model.AnalyticsSummary': object({
    bounceRate: num,
    bounced: int,
    clickRate: num,
    clicked: int,
    delivered: int,
    deliveryRate: num,
    name: str,
    openRate: num,
    opened: int,
    period: ref('model.AnalyticsSummaryPeriod'),
    sent: int,
    unsubscribeRate: num,
    unsubscribed: int,
  }),
  'model.TransmissionFrom': object({ email: str, name: str }),
  'model.TransmissionStats': object({ bounced: int, clicked: int, delivered: int, opened: int, unsubscribed: int }),
  'model.DetailTransmissionData': object({
    createdAt: int,
    from: ref('model.TransmissionFrom'),
    recipientCount: int,
    stats: ref('model.TransmissionStats'),
    status: str,
    subject: str,
    transmissionId: str,
  }),
  'model.TransmissionEvent': object({
    friendlyFrom: str,
    reason: str,
    recipient: str,
    subject: str,
    timestamp: int,
    type: str,
    url: str,
    userAgent: str,
  }),
  'model.TransmissionEventResponse': object({ events: arrayOf(ref('model.TransmissionEvent')) }),
  'model.GetAccountInfoResponse': object({
    companyId: int,
    companyName: str,
    defaultSendingDomain: str,
    plan: str,
    status: str,
    timezone: str,
  }),
  'model.AccountRateLimit': object({ requestsPerMinute: int, requestsPerSecond: int }),
  'model.GetUsageQuotaResponse': object({
    dailyLimit: int,
    emailsQuota: int,
    emailsRemaining: int,
    emailsSent: int,
    maxAttachmentSizeMb: int,
    maxRecipientsPerTransmission: int,
    percentUsed: num,
    period: str,
    plan: str,
    rateLimit: ref('model.AccountRateLimit'),
  }),
  'model.Permission': object({ detail: str, id: int, name: str }),
  'model.GetAllApiKeysData': object({
    createdAt: int,
    id: int,
    key: str,
    name: str,
    permissionType: str,
    subAccountId: int,
    subAccountName: str,
  }),
  'model.ListApiKeysDto': object({ apiKeys: arrayOf(ref('model.GetAllApiKeysData')), count: int }),
  'model.GetAPIKeyResponse': object({
    allowedIp: str,
    companyId: int,
    companyName: str,
    createdAt: int,
    id: int,
    key: str,
    name: str,
    permissionType: str,
    permissions: arrayOf(ref('model.Permission')),
    subAccountId: int,
    subAccountName: str,
  }),
  'model.SendingDomain': object({
    assignment: str,
    companyId: int,
    createdAt: int,
    default: bool,
    domain: str,
    id: int,
    status: str,
    subAccountID: int,
    subAccountName: str,
    types: arrayOf(str),
  }),
  'model.DtoDomains': object({ count: int, sendingDomain: arrayOf(ref('model.SendingDomain')) }),
  'model.SendingBounceDetailDomain': object({
    assignment: str,
    cnameHostname: str,
    cnameValue: str,
    cnameVerified: bool,
    createdAt: int,
    dkimHostname: str,
    dkimPrivateKey: str,
    dkimPublicKey: str,
    dkimSelector: str,
    dkimValue: str,
    dkimVerified: bool,
    domain: str,
    id: int,
    spfHostname: str,
    spfValue: str,
    spfVerified: bool,
    status: arrayOf(str),
    subAccountId: int,
    subAccountName: str,
    trackingDomainId: int,
    trackingDomainName: str,
    types: arrayOf(str),
  }),
  'model.SimpleDomain': object({ id: int, name: str }),
  'model.Counter-model_SimpleDomain': object({ count: int, data: arrayOf(ref('model.SimpleDomain')) }),
  'model.SuggestionData': object({ note: str, spfRecords: arrayOf(str), suggestion: str }),
  'model.GetDomainDataLite': object({ createdAt: int, domain: str, id: int, updatedAt: int }),
  'model.SubAccount': object({ createdAt: int, id: int, name: str, status: str }),
  'model.SubAccountList': object({ count: int, subAccounts: arrayOf(ref('model.SubAccount')) }),
  'model.GetSubAccountResponse': object({
    apiKeys: arrayOf(ref('model.GetAllApiKeysData')),
    companyId: int,
    createdAt: int,
    domains: arrayOf(ref('model.GetDomainDataLite')),
    id: int,
    ipPoolId: int,
    ipPoolName: str,
    status: str,
    subAccountName: str,
  }),
  'model.OpenAPISuppressionResponse': object({ createdAt: int, email: str, reason: str, type: str }),
  'response.CounterGeneric-model_OpenAPISuppressionResponse': object({
    count: int,
    data: arrayOf(ref('model.OpenAPISuppressionResponse')),
  }),
  'model.TemplateData': object({ createdAt: int, id: str, name: str, updatedAt: int }),
  'model.Counter-model_TemplateData': object({ count: int, data: arrayOf(ref('model.TemplateData')) }),
};

/**
 * Fields Posthorn does not send, and why. A typed client reads them as zero values. Everything
 * else a schema lists must be present.
 */
export const OMITTED: Record<string, Record<string, string>> = {
  'model.SendingBounceDetailDomain': {
    dkimPrivateKey: 'the private key never leaves Posthorn',
    trackingDomainId: 'no tracking domains: tracking links use PUBLIC_URL',
    trackingDomainName: 'no tracking domains: tracking links use PUBLIC_URL',
    subAccountId: "only a sub-account's domain has one",
    subAccountName: "only a sub-account's domain has one",
  },
  'model.SendingDomain': {
    companyId: 'the owning account is the caller (or its parent, fromParent)',
    subAccountID: "only a sub-account's domain has one",
    subAccountName: "only a sub-account's domain has one",
  },
  'model.TransmissionFrom': { name: 'left out when the transmission gave no sender name' },
  'model.TransmissionEvent': {
    reason: 'left out when the event has none (bounces and deferrals have one)',
    url: 'left out except on clicks',
    userAgent: 'left out except on opens and clicks',
  },
  'model.GetAllApiKeysData': {
    subAccountId: "only a sub-account's key has one",
    subAccountName: "only a sub-account's key has one",
  },
  'model.GetAPIKeyResponse': {
    subAccountId: "only a sub-account's key has one",
    subAccountName: "only a sub-account's key has one",
  },
  'model.GetSubAccountResponse': {
    ipPoolId: 'Posthorn sends from one pool',
    ipPoolName: 'Posthorn sends from one pool',
  },
};

export type ContractDocument = 'apiconfig' | 'transmission';

export interface ContractOperation {
  document: ContractDocument;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** As the document writes it; Posthorn serves it at /v1<path>. */
  path: string;
  /** The 2xx status the document gives. */
  status: number;
  response: JsonSchema;
}

/** Every operation of both documents (27 in apiconfig, 1 in transmission). */
export const OPERATIONS: ContractOperation[] = [
  {
    document: 'transmission',
    method: 'POST',
    path: '/layang/transmissions',
    status: 200,
    response: ref('model.TransmissionData'),
  },

  {
    document: 'apiconfig',
    method: 'GET',
    path: '/analytic/summary',
    status: 200,
    response: ref('model.AnalyticsSummary'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/analytic/summary/breakdown',
    status: 200,
    response: arrayOf(ref('model.AnalyticsSummary')),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/analytic/transmission/{id}',
    status: 200,
    response: ref('model.DetailTransmissionData'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/analytic/transmission/{id}/events',
    status: 200,
    response: ref('model.TransmissionEventResponse'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/account',
    status: 200,
    response: ref('model.GetAccountInfoResponse'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/account/usage-quota',
    status: 200,
    response: ref('model.GetUsageQuotaResponse'),
  },
  { document: 'apiconfig', method: 'GET', path: '/api-key', status: 200, response: ref('model.ListApiKeysDto') },
  { document: 'apiconfig', method: 'POST', path: '/api-key', status: 201, response: ref('model.GetAPIKeyResponse') },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/api-key/{id}',
    status: 200,
    response: ref('model.GetAPIKeyResponse'),
  },
  {
    document: 'apiconfig',
    method: 'PUT',
    path: '/api-key/{id}',
    status: 200,
    response: ref('model.GetAPIKeyResponse'),
  },
  { document: 'apiconfig', method: 'DELETE', path: '/api-key/{id}', status: 200, response: bool },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/domain/sending',
    status: 200,
    response: arrayOf(ref('model.DtoDomains')),
  },
  {
    document: 'apiconfig',
    method: 'POST',
    path: '/domain/sending',
    status: 201,
    response: ref('model.SendingBounceDetailDomain'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/domain/sending/unverified-spf',
    status: 200,
    response: ref('model.Counter-model_SimpleDomain'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/domain/sending/{id}',
    status: 200,
    response: ref('model.SendingBounceDetailDomain'),
  },
  { document: 'apiconfig', method: 'DELETE', path: '/domain/sending/{id}', status: 200, response: str },
  {
    document: 'apiconfig',
    method: 'PUT',
    path: '/domain/sending/{id}/share',
    status: 200,
    response: ref('model.SendingBounceDetailDomain'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/domain/sending/{id}/spf-suggestion',
    status: 200,
    response: ref('model.SuggestionData'),
  },
  {
    document: 'apiconfig',
    method: 'PUT',
    path: '/domain/sending/{id}/verify-txt',
    status: 200,
    response: arrayOf(ref('model.SendingBounceDetailDomain')),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/permission',
    status: 200,
    response: arrayOf(ref('model.Permission')),
  },
  { document: 'apiconfig', method: 'GET', path: '/sub-account', status: 200, response: ref('model.SubAccountList') },
  {
    document: 'apiconfig',
    method: 'POST',
    path: '/sub-account',
    status: 200,
    response: ref('model.GetSubAccountResponse'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/sub-account/{id}',
    status: 200,
    response: ref('model.GetSubAccountResponse'),
  },
  {
    document: 'apiconfig',
    method: 'PUT',
    path: '/sub-account/{id}',
    status: 200,
    response: ref('model.GetSubAccountResponse'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/suppression/list',
    status: 200,
    response: ref('response.CounterGeneric-model_OpenAPISuppressionResponse'),
  },
  {
    document: 'apiconfig',
    method: 'GET',
    path: '/template',
    status: 200,
    response: ref('model.Counter-model_TemplateData'),
  },
  { document: 'apiconfig', method: 'POST', path: '/template', status: 200, response: bool },
];

export const operationKey = (op: { method: string; path: string }) => `${op.method} ${op.path}`;
