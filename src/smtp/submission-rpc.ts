// SMTP submission across processes. On SQLite, several front processes (POSTHORN_API_PROCESSES) that
// each wrote to the database file would lose more than they win: SQLite drops a process's page cache
// whenever another process has written, so every transaction reads its pages again (measured: CPU per
// message doubled with two such processes). Instead the front processes only speak SMTP and hand
// each check and accept to the primary, the one process that opens the store; its commit batcher
// then groups the accepts of all of them. The calls travel over node:cluster's IPC channel (advanced
// serialization, so a message's bytes pass as binary, not as JSON).
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { ServiceError, type ServiceErrorReason } from '../services/errors.ts';
import type { Submission, SubmissionService } from '../services/smtp-submission.ts';

const CALL = 'posthorn:smtp-call';
const RESULT = 'posthorn:smtp-result';

type Method = keyof SubmissionService;

interface Call {
  type: typeof CALL;
  id: number;
  method: Method;
  args: unknown[];
}

/** A refusal of the use case keeps its reason (the surface turns it into its reply); anything else is a 451. */
type WireError = { kind: 'service'; reason: ServiceErrorReason; detail: string; field?: string } | { kind: 'other' };

interface Result {
  type: typeof RESULT;
  id: number;
  value?: unknown;
  error?: WireError;
}

const isCall = (m: unknown): m is Call => (m as Call | null)?.type === CALL;
const isResult = (m: unknown): m is Result => (m as Result | null)?.type === RESULT;

/** In the primary: answers one front process's calls with the service of this process. */
export function answerSubmissionCalls(worker: Worker, service: SubmissionService, log: Logger): void {
  const reply = (result: Result) => {
    if (worker.isConnected()) worker.send(result);
  };
  worker.on('message', (message: unknown) => {
    if (!isCall(message)) return;
    const { id, method } = message;
    const args = method === 'accept' ? withBufferRaw(message.args) : message.args;
    const run = service[method].bind(service) as (...a: unknown[]) => Promise<unknown>;
    run(...args).then(
      (value) => reply({ type: RESULT, id, value }),
      (error: unknown) => {
        if (error instanceof ServiceError)
          reply({
            type: RESULT,
            id,
            error: { kind: 'service', reason: error.reason, detail: error.detail, field: error.field },
          });
        else {
          // The front process answers 451 and the client retries; the cause stays in this log.
          log.error({ err: error, method }, 'SMTP submission failed');
          reply({ type: RESULT, id, error: { kind: 'other' } });
        }
      },
    );
  });
}

/** Structured clone hands a Buffer over as a plain Uint8Array. */
function withBufferRaw(args: unknown[]): unknown[] {
  const submission = args[1] as Submission;
  const raw = submission.raw as Uint8Array;
  const buffer = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return [args[0], { ...submission, raw: buffer }];
}

/** The failure of a call whose answer never came or was not a refusal: the surface answers 451. */
export class SubmissionCallFailed extends Error {}

/** In a front process: the service, answered by the primary over the IPC channel. */
export function remoteSubmissionService(): SubmissionService {
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  process.on('message', (message: unknown) => {
    if (!isResult(message)) return;
    const waiting = pending.get(message.id);
    if (!waiting) return;
    pending.delete(message.id);
    const { error } = message;
    if (!error) waiting.resolve(message.value);
    else if (error.kind === 'service') waiting.reject(new ServiceError(error.reason, error.detail, error.field));
    else waiting.reject(new SubmissionCallFailed('the primary process could not complete the call'));
  });
  process.on('disconnect', () => {
    for (const waiting of pending.values()) waiting.reject(new SubmissionCallFailed('the primary process is gone'));
    pending.clear();
  });
  const call = <T>(method: Method, args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!process.send || !process.connected) {
        reject(new SubmissionCallFailed('no primary process to hand the call to'));
        return;
      }
      const id = ++nextId;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const message: Call = { type: CALL, id, method, args };
      process.send(message);
    });
  return {
    authenticate: (password, ip) => call('authenticate', [password, ip]),
    keyForAddress: (ip) => call('keyForAddress', [ip]),
    currentKey: (password, ip) => call('currentKey', [password, ip]),
    checkRecipient: (key, address, count) => call('checkRecipient', [key, address, count]),
    accept: (key, submission) => call('accept', [key, submission]),
  };
}
