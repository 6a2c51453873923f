// Saves a request body to a file as it streams in, never holding more than a chunk in memory, and
// stops at a size limit. The request itself is left open (not destroyed), so the caller can still
// answer 413.
import fs from 'node:fs';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { newId } from '../domain/ids.ts';

export class UploadTooLarge extends Error {}

export async function saveUpload(
  request: IncomingMessage,
  dir: string,
  maxBytes: number,
): Promise<{ file: string; bytes: number }> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new UploadTooLarge();
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${newId()}.csv`);
  let bytes = 0;
  async function* limited() {
    for await (const chunk of request.iterator({ destroyOnReturn: false })) {
      bytes += (chunk as Buffer).length;
      if (bytes > maxBytes) throw new UploadTooLarge();
      yield chunk as Buffer;
    }
  }
  try {
    await pipeline(limited, fs.createWriteStream(file, { flags: 'wx' }));
  } catch (err) {
    await fs.promises.rm(file, { force: true });
    throw err;
  }
  return { file, bytes };
}
