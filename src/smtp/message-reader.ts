// Reads a DATA stream into memory only up to a size limit. Past the limit the chunks read so far
// are dropped and the rest is drained and counted, never kept: a client that does not declare SIZE
// (or lies about it) cannot make the server hold more than the limit for one message.
import type { Readable } from 'node:stream';

export interface ReadMessage {
  /** The whole message, or null when it was larger than the limit. */
  raw: Buffer | null;
  /** Bytes the stream delivered. */
  bytes: number;
  /** The most bytes held at any moment (for tests: never much more than the limit). */
  peakHeld: number;
}

export function readLimited(stream: Readable, maxBytes: number): Promise<ReadMessage> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let held = 0;
    let peakHeld = 0;
    let bytes = 0;
    let over = false;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (over) return;
      if (bytes > maxBytes) {
        over = true;
        chunks = [];
        held = 0;
        return;
      }
      chunks.push(chunk);
      held += chunk.length;
      if (held > peakHeld) peakHeld = held;
    });
    stream.once('error', reject);
    stream.once('end', () => resolve({ raw: over ? null : Buffer.concat(chunks, held), bytes, peakHeld }));
  });
}
