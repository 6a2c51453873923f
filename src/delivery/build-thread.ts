// A build thread: renders, composes and signs messages (and checks templates at accept) off the
// event loop. Sources arrive once under a key and stay until the pool says to forget them (the
// pool bounds how many each thread holds); each item of a batch is answered on its own as soon as
// it is built, so the pool knows which message is in progress (its time limit, see build-pool.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { checkPersonalisation } from '../domain/personalisation-check.ts';
import { buildFromSpec, prepareSource, type PreparedSource } from './build-from-spec.ts';
import type { FromThread, ThreadInit, ToThread } from './build-protocol.ts';

const init = workerData as ThreadInit;
const sources = new Map<string, PreparedSource>();
const port = parentPort!;

function answer(message: FromThread): void {
  port.postMessage(message);
}

// Messages are handled one at a time, in order: a batch finishes before the next one starts.
let queue: Promise<void> = Promise.resolve();
port.on('message', (message: ToThread) => {
  queue = queue.then(() => handle(message));
});

answer({ type: 'ready' });

async function handle(message: ToThread): Promise<void> {
  if (message.type === 'check') {
    answer({ type: 'checked', result: checkPersonalisation(message.job) });
    return;
  }
  for (const key of message.forget) sources.delete(key);
  for (const [key, spec] of message.sources) sources.set(key, prepareSource(spec, init.limits));
  for (const item of message.items) {
    try {
      const source = sources.get(item.key);
      if (!source) throw new Error(`build thread has no source ${item.key}`);
      const built = await buildFromSpec(source, item.row, init, item.now);
      answer({
        type: 'built',
        raw: built.raw,
        envelopeFrom: built.envelopeFrom,
        messageIdHeader: built.messageIdHeader,
        firstDueAt: built.firstDueAt,
      });
    } catch (error) {
      answer({ type: 'failed', message: (error as Error).message });
    }
  }
}
