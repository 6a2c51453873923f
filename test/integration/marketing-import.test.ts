// CSV imports: POST /api/v1/subscribers/import streams the file to disk and queues a job; the
// runner upserts the rows in batches; GET /api/v1/jobs/{id} reports the progress and the problems.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, waitFor, type ApiClient, type TestServer } from '../helpers/server.ts';
import { dialectName } from '../helpers/database.ts';
import { insertJob } from '../../src/store/jobs.ts';

const CSV = { 'content-type': 'text/csv' };

async function upload(api: ApiClient, csv: string | Buffer, headers: Record<string, string> = CSV) {
  return api.request('POST', '/api/v1/subscribers/import', { rawBody: csv, headers });
}

async function finished(api: ApiClient, id: number, timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const res = await api.get(`/api/v1/jobs/${id}`);
      expect(res.status).toBe(200);
      return ['completed', 'failed'].includes(res.body.data.status) ? res.body.data : null;
    },
    timeoutMs,
    `job ${id}`,
  );
}

async function subscriber(api: ApiClient, email: string) {
  const res = await api.get(`/api/v1/subscribers?search=${encodeURIComponent(JSON.stringify([{ email }]))}`);
  expect(res.status).toBe(200);
  return res.body.data[0] ?? null;
}

describe(`CSV subscriber import (${dialectName})`, () => {
  let server: TestServer;
  let points: number; // integer custom field
  let tags: number; // string list custom field
  let internal: number; // not available for import

  beforeAll(async () => {
    server = await startTestServer();
    const field = async (type: number, name: string, isAvailableForImport = true) => {
      const res = await server.api.post('/api/v1/customerFields', {
        fieldType: 1,
        type,
        isAvailableForImport,
        translations: { en: { name } },
      });
      expect(res.status, res.text).toBe(201);
      return res.body.data.id as number;
    };
    points = await field(2, 'Points');
    tags = await field(5, 'Tags');
    internal = await field(1, 'Internal', false);
    const existing = await server.api.post('/api/v1/subscribers', {
      email: 'existing@example.com',
      firstname: 'Old',
      lastname: 'Keep',
      customerFields: { [points]: 5 },
    });
    expect(existing.status, existing.text).toBe(201);
    const blocked = await server.api.post('/api/v1/blacklist', { pattern: '*@blocked.example' });
    expect(blocked.status, blocked.text).toBe(201);
  });
  afterAll(async () => server?.close());

  it('imports quoted fields, commas and line breaks in quotes, a BOM and CRLF, and reports every bad row', async () => {
    const rows = [
      `\uFEFFEmail,firstname,lastname,languageIso,genderId,optInComment,customerFields.${points},customerFields.${tags}`,
      `alice@example.com,Alice,"Smith, Jr.",de,2,"said ""yes""\r\non the phone",42,a|b`,
      'BOB@Example.com,Bob,,en,1,,7,',
      'not-an-email,X,Y,de,1,,,',
      'carol@example.com,Carol,Doe,de,9,,,',
      'existing@example.com,New,,,,,,',
      'eve@blocked.example,Eve,,,,,,',
      '"dave@example.com","Dave ""D""",Jones,en,3,,lots,',
      'alice@example.com,Alicia,,,,,,',
      `frank@example.com,"Frank","O""Neil",de,1,"multi\nline",1,"[""x"",""y""]"`,
      'grace@example.com,"Grace"oops,x,,,,,',
      '',
    ];
    const res = await upload(server.api, rows.join('\r\n'));
    expect(res.status, res.text).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/v1/jobs/${res.body.data.id}`);
    expect(res.body.data).toMatchObject({
      objectType: 'Job',
      type: 'subscriber_import',
      status: 'queued',
      processed: 0,
      errors: [],
    });

    const job = await finished(server.api, res.body.data.id);
    expect(job).toMatchObject({
      status: 'completed',
      progress: 100,
      total: 10,
      processed: 10,
      created: 3,
      updated: 2,
      failed: 5,
    });
    expect(job.finishedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(job.errors).toEqual([
      { row: 4, email: 'not-an-email', errors: { email: ['The email must be a valid email address.'] } },
      { row: 5, email: 'carol@example.com', errors: { genderId: ['The selected genderId is invalid.'] } },
      { row: 7, email: 'eve@blocked.example', errors: { email: ['The email is blacklisted.'] } },
      {
        row: 8,
        email: 'dave@example.com',
        errors: { [`customerFields.${points}`]: [expect.stringContaining('must be an integer')] },
      },
      {
        row: 11,
        email: 'grace@example.com',
        errors: { row: ['The row is not valid CSV: column 2 has text after its closing quote.'] },
      },
    ]);

    const alice = await subscriber(server.api, 'alice@example.com');
    expect(alice).toMatchObject({
      firstname: 'Alicia',
      lastname: 'Smith, Jr.',
      languageIso: 'de',
      genderId: 2,
      status: 1,
      statusAddition: null,
      optInComment: 'said "yes"\r\non the phone',
    });
    expect(alice.customerFields).toMatchObject({ [points]: 42, [tags]: ['a', 'b'] });
    const bob = await subscriber(server.api, 'bob@example.com');
    expect(bob).toMatchObject({ email: 'bob@example.com', firstname: 'Bob', lastname: null, languageIso: 'en' });
    // An empty cell leaves the existing value alone.
    const existing = await subscriber(server.api, 'existing@example.com');
    expect(existing).toMatchObject({ firstname: 'New', lastname: 'Keep' });
    expect(existing.customerFields[points]).toBe(5);
    const frank = await subscriber(server.api, 'frank@example.com');
    expect(frank).toMatchObject({ lastname: 'O"Neil', optInComment: 'multi\nline' });
    expect(frank.customerFields[tags]).toEqual(['x', 'y']);
    for (const email of ['carol@example.com', 'eve@blocked.example', 'dave@example.com', 'grace@example.com'])
      expect(await subscriber(server.api, email)).toBeNull();
    // The uploaded file is gone once the job is done.
    expect(fs.readdirSync(path.join(server.db.dataDir, 'imports'))).toEqual([]);
  });

  it('reads semicolon- and tab-separated files (HTTP Basic works as everywhere)', async () => {
    const basic = `Basic ${Buffer.from(`x:${server.key}`).toString('base64')}`;
    for (const [sep, email] of [
      [';', 'semi@example.com'],
      ['\t', 'tab@example.com'],
    ] as const) {
      const res = await server.api.request('POST', '/api/v1/subscribers/import', {
        rawBody: `email${sep}city\n${email}${sep}"Köln; Mitte"\n`,
        headers: { ...CSV, authorization: basic },
      });
      expect(res.status, res.text).toBe(202);
      expect(await finished(server.api, res.body.data.id)).toMatchObject({
        status: 'completed',
        created: 1,
        failed: 0,
      });
      expect((await subscriber(server.api, email)).city).toBe('Köln; Mitte');
    }
  });

  it('refuses a file whose header cannot be used, at once and without a job', async () => {
    const cases: Array<[string, RegExp]> = [
      ['firstname,lastname\nA,B\n', /no email column/],
      ['email,nickname\na@example.com,x\n', /column 2 "nickname" is not a subscriber field/],
      ['email,EMAIL\na@example.com,x\n', /appears more than once/],
      [`email,customerFields.${internal}\na@example.com,x\n`, /not available for import/],
      ['email,customerFields.999999\na@example.com,x\n', /no subscriber custom field 999999/],
      ['', /empty/],
    ];
    for (const [csv, message] of cases) {
      const res = await upload(server.api, csv);
      expect(res.status, csv).toBe(422);
      expect(res.body).toMatchObject({ status: 'error', code: 1002, statusCode: 422 });
      expect(res.body.errors.file[0]).toMatch(message);
    }
    const jobs = await server.app.ctx.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    const files = fs.readdirSync(path.join(server.db.dataDir, 'imports'));
    expect(files).toEqual([]);
    expect(Number(jobs.n)).toBe(3); // the three accepted imports of the tests above
  });

  it('takes only a CSV body', async () => {
    const json = await server.api.post('/api/v1/subscribers/import', { email: 'a@example.com' });
    expect(json.status).toBe(415);
    expect(json.body).toMatchObject({ code: 1002, statusCode: 415 });
    const text = await upload(server.api, 'email\n', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    // text/csv is accepted only by the import.
    const elsewhere = await server.api.request('POST', '/api/v1/subscribers', { rawBody: 'email\n', headers: CSV });
    expect(elsewhere.status).toBe(415);
  });

  it('needs the Subscribers permission, and keeps jobs to their account', async () => {
    const groupsOnly = await server.newKey({ name: 'groups', permissions: ['subscriber_groups'] });
    const refused = await server.api.request('POST', '/api/v1/subscribers/import', {
      rawBody: 'email\nx@example.com\n',
      headers: CSV,
      auth: `Bearer ${groupsOnly}`,
    });
    expect(refused.status).toBe(403);
    const accepted = await upload(server.api, 'email\nmine@example.com\n');
    const id = accepted.body.data.id;
    expect((await server.api.get(`/api/v1/jobs/${id}`, { auth: `Bearer ${groupsOnly}` })).status).toBe(403);
    const other = await server.newAccount();
    const foreign = await other.api.get(`/api/v1/jobs/${id}`);
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe(1020);
    expect((await server.api.get('/api/v1/jobs/abc')).status).toBe(404);
    await finished(server.api, id);
  });

  it('counts every bad row but records only the first 100', async () => {
    const lines = ['email,firstname'];
    for (let i = 0; i < 150; i++) lines.push(`broken-${i},X`);
    lines.push('fine@example.com,Fine');
    const res = await upload(server.api, lines.join('\n'));
    const job = await finished(server.api, res.body.data.id);
    expect(job).toMatchObject({ status: 'completed', processed: 151, created: 1, failed: 150 });
    expect(job.errors).toHaveLength(100);
    expect(job.errors[0]).toMatchObject({ row: 2, email: 'broken-0' });
    expect(job.errors[99]).toMatchObject({ row: 101, email: 'broken-99' });
  });

  it('resumes a job after the last committed batch when it takes it over from a runner that stopped', async () => {
    // The state a crash leaves: the job running, 1,000 rows committed, the runner gone for minutes.
    const dir = path.join(server.db.dataDir, 'imports');
    fs.mkdirSync(dir, { recursive: true });
    const lines = ['email,firstname'];
    for (let i = 0; i < 2500; i++) lines.push(`resume${i}@example.com,R${i}`);
    const text = lines.join('\n') + '\n';
    fs.writeFileSync(path.join(dir, 'crashed.csv'), text);
    const now = Date.now();
    const job = await insertJob(server.app.ctx.db, {
      accountId: server.accountId,
      type: 'subscriber_import',
      payload: JSON.stringify({ file: 'crashed.csv', bytes: text.length, bytesRead: 0, runner: 'dead' }),
      now: now - 10 * 60_000,
    });
    await server.app.ctx.db
      .updateTable('jobs')
      .set({ status: 'running', processed: 1000, created: 1000 })
      .where('id', '=', job.id)
      .execute();

    const done = await finished(server.api, job.id);
    expect(done).toMatchObject({ status: 'completed', total: 2500, processed: 2500, created: 2500, failed: 0 });
    // Rows 1..1000 were the dead runner's (never written here): the new owner did not redo them.
    expect(await subscriber(server.api, 'resume999@example.com')).toBeNull();
    expect(await subscriber(server.api, 'resume1000@example.com')).toMatchObject({ firstname: 'R1000' });
    expect(await subscriber(server.api, 'resume2499@example.com')).toMatchObject({ firstname: 'R2499' });
  });

  it('imports 50,000 rows', async () => {
    const lines = [`email,firstname,lastname,city,customerFields.${points}`];
    for (let i = 0; i < 50_000; i++) lines.push(`bulk${i}@example.com,First${i},"Last, ${i}",Berlin,${i}`);
    const started = Date.now();
    const res = await upload(server.api, lines.join('\n') + '\n');
    expect(res.status).toBe(202);
    // The API keeps answering while the runner works in the same process.
    let slowest = 0;
    const job = await waitFor(
      async () => {
        const t = Date.now();
        const poll = await server.api.get(`/api/v1/jobs/${res.body.data.id}`);
        slowest = Math.max(slowest, Date.now() - t);
        return ['completed', 'failed'].includes(poll.body.data.status) ? poll.body.data : null;
      },
      120_000,
      'the 50,000-row import',
    );
    const seconds = (Date.now() - started) / 1000;
    console.log(
      `50,000 rows imported in ${seconds.toFixed(1)} s: ${Math.round(50_000 / seconds)} rows/s; slowest progress poll ${slowest} ms (${dialectName})`,
    );
    expect(slowest).toBeLessThan(1000);
    expect(job).toMatchObject({ status: 'completed', processed: 50_000, created: 50_000, failed: 0, errors: [] });
    const last = await subscriber(server.api, 'bulk49999@example.com');
    expect(last).toMatchObject({ lastname: 'Last, 49999', city: 'Berlin' });
    expect(last.customerFields[points]).toBe(49999);
  }, 150_000);
});

describe(`CSV import size limit (${dialectName})`, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ POSTHORN_IMPORT_MAX_MB: '1' });
  });
  afterAll(async () => server?.close());

  const big = 'email\n' + 'someone.with.a.long.address@example.com\n'.repeat(30_000); // about 1.2 MB

  it('answers 413 for a file over POSTHORN_IMPORT_MAX_MB, announced or streamed', async () => {
    const announced = await upload(server.api, big);
    expect(announced.status).toBe(413);
    expect(announced.body).toMatchObject({ status: 'error', code: 1002, statusCode: 413 });
    expect(announced.body.errors.body[0]).toContain(String(1024 * 1024));

    // Chunked, without Content-Length: the limit is found while the body streams in.
    const streamed = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(
        `${server.url}/api/v1/subscribers/import`,
        { method: 'POST', headers: { ...CSV, authorization: `Bearer ${server.key}` } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      let sent = 0;
      const pump = () => {
        while (sent < big.length) {
          const chunk = big.slice(sent, sent + 64 * 1024);
          sent += chunk.length;
          if (!req.write(chunk)) return req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect(streamed.status).toBe(413);
    expect(streamed.body.code).toBe(1002);
    expect(fs.readdirSync(path.join(server.db.dataDir, 'imports'))).toEqual([]);

    const small = await upload(server.api, 'email\nfits@example.com\n');
    expect(small.status).toBe(202);
  });
});
