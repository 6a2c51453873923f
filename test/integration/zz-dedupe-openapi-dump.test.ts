// scratch (not committed): dumps both OpenAPI documents to compare before/after a refactor
import { writeFileSync } from 'node:fs';
import { it } from 'vitest';
import { startTestServer } from '../helpers/server.ts';
it('dumps', async () => {
  const s = await startTestServer();
  const a = (await s.api.get('/v1/openapi.json', { auth: null })).body;
  const b = (await s.api.get('/api/v1/openapi.json', { auth: null })).body;
  writeFileSync(process.env.DUMP_TO!, JSON.stringify({ a, b }, null, 1));
  await s.close();
}, 60000);
