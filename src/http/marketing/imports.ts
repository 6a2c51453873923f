// CSV import: POST /api/v1/subscribers/import takes the CSV file itself as the body
// (Content-Type: text/csv), saves it while it streams in and answers 202 with a queued Job;
// GET /api/v1/jobs/{id} reports the job's progress. The runner in this process does the work.
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { Context } from '../../context.ts';
import { parseId } from '../../services/marketing-params.ts';
import {
  ImportRunner,
  IMPORT_JOB_TYPE,
  MAX_RECORDED_ERRORS,
  acceptImport,
  getJob,
  importsDir,
  parsePayload,
  type RowError,
} from '../../services/subscriber-import.ts';
import { IMPORT_FIELDS } from '../../domain/subscriber-import-row.ts';
import type { JobRow } from '../../services/rows.ts';
import type { PermissionId } from '../../domain/permissions.ts';
import { permissionName } from '../../domain/permissions.ts';
import { formatDate, one } from './envelope.ts';
import { IdParam, Nullable, Timestamp, marketingErrors } from './common-schemas.ts';
import { marketingSurface } from './surface.ts';
import { saveUpload, UploadTooLarge } from '../upload-file.ts';

const CSV_TYPES = ['text/csv', 'application/csv'];
const CsvBody = Type.String({ contentMediaType: 'text/csv', description: 'The CSV file (UTF-8), header row first' });

/** The permission needed to see a job of each type. */
const JOB_PERMISSION: Record<string, PermissionId> = { [IMPORT_JOB_TYPE]: 'subscribers' };

export const JobSchema = Type.Object({
  objectType: Type.Literal('Job'),
  id: Type.Integer(),
  type: Type.String({ description: 'subscriber_import' }),
  status: Type.Union([
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('completed'),
    Type.Literal('failed'),
  ]),
  progress: Type.Integer({ description: 'Percent of the file read (0 to 100)' }),
  total: Nullable(Type.Integer({ description: 'Data rows in the file, once the job is completed' })),
  processed: Type.Integer({ description: 'Data rows handled so far (created + updated + failed)' }),
  created: Type.Integer(),
  updated: Type.Integer(),
  failed: Type.Integer(),
  errors: Type.Array(
    Type.Object({
      row: Type.Integer({
        description: 'The record number in the file, the header being row 1 (0: the file as a whole)',
      }),
      email: Nullable(Type.String()),
      errors: Type.Record(Type.String(), Type.Array(Type.String())),
    }),
    { description: `The first ${MAX_RECORDED_ERRORS} problems` },
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  finishedAt: Nullable(Timestamp),
});

export function presentJob(job: JobRow) {
  const payload = parsePayload(job);
  const progress =
    job.status === 'completed'
      ? 100
      : payload.bytes > 0
        ? Math.min(99, Math.floor((100 * (payload.bytesRead ?? 0)) / payload.bytes))
        : 0;
  return {
    id: Number(job.id),
    type: job.type,
    status: job.status,
    progress,
    total: job.total === null ? null : Number(job.total),
    processed: Number(job.processed),
    created: Number(job.created),
    updated: Number(job.updated),
    failed: Number(job.failed),
    errors: JSON.parse(job.errors ?? '[]') as RowError[],
    createdAt: formatDate(job.created_at),
    updatedAt: formatDate(job.updated_at),
    finishedAt: formatDate(job.finished_at),
  };
}

const IMPORT_DESCRIPTION = [
  'Send the CSV file itself as the request body with `Content-Type: text/csv` (UTF-8; comma, semicolon or tab',
  'separated, detected from the header row; fields quoted with `"` as in RFC 4180). The first row names the',
  `columns: ${IMPORT_FIELDS.join(', ')}, and customerFields.<id> for custom fields that are available for import.`,
  'email is required; an empty cell leaves the value unchanged. New subscribers start ready (status 1);',
  'existing ones (matched by email) keep their status. The answer is a queued Job; poll GET /jobs/{id}.',
].join(' ');

export function registerImportRoutes(app: FastifyInstance, ctx: Context): void {
  const runner = new ImportRunner(ctx);
  app.addHook('onReady', async () => runner.start());
  app.addHook('onClose', async () => runner.stop());

  // Its own scope, so text/csv is a body type only here; everywhere else it stays a 415.
  app.register(async (scope) => {
    // The body is not parsed here: the handler streams it to a file. request.body is only an
    // empty placeholder (a string, so the documented body schema holds).
    scope.addContentTypeParser(CSV_TYPES, (_request, _payload, done) => done(null, ''));

    scope.post(
      '/api/v1/subscribers/import',
      {
        config: { permission: 'subscribers' },
        schema: {
          tags: ['Subscribers'],
          summary: 'Import subscribers from a CSV file (a background job)',
          description: IMPORT_DESCRIPTION,
          body: { content: Object.fromEntries(CSV_TYPES.map((t) => [t, { schema: CsvBody }])) },
          response: { 202: Type.Object({ data: JobSchema }), ...marketingErrors(401, 403, 413, 415, 422) },
        },
      },
      async (request, reply) => {
        const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (!CSV_TYPES.includes(type))
          return marketingSurface.protocol(reply, 415, 'send the CSV file as the body with Content-Type: text/csv');
        let upload: { file: string; bytes: number };
        try {
          upload = await saveUpload(request.raw, importsDir(ctx), ctx.config.importMaxBytes);
        } catch (err) {
          if (!(err instanceof UploadTooLarge)) {
            // A client that hung up mid-file: nobody reads this answer, and it is not our error.
            if (request.raw.destroyed || request.raw.socket.destroyed)
              return marketingSurface.protocol(reply, 400, 'the upload stopped before the end of the file');
            throw err;
          }
          // The rest of the body is not read: stop the socket and hang up after the answer.
          request.raw.pause();
          void reply.header('connection', 'close');
          return marketingSurface.protocol(
            reply,
            413,
            `the CSV file exceeds the limit of ${ctx.config.importMaxBytes} bytes`,
          );
        }
        const job = await acceptImport(ctx, request.apiKey.accountId, upload);
        runner.notify();
        void reply.header('location', `/api/v1/jobs/${job.id}`);
        return reply.code(202).send(one('Job', presentJob(job)));
      },
    );
  });

  app.get(
    '/api/v1/jobs/:id',
    {
      config: { permission: 'authenticated' },
      schema: {
        tags: ['Jobs'],
        summary: 'A background job and its progress',
        params: IdParam,
        response: { 200: Type.Object({ data: JobSchema }), ...marketingErrors(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const job = await getJob(
        ctx,
        request.apiKey.accountId,
        parseId((request.params as Static<typeof IdParam>).id, 'Job'),
      );
      const needed = JOB_PERMISSION[job.type];
      if (needed && !request.apiKey.permissions.includes(needed)) {
        return marketingSurface.auth(
          reply,
          'permission',
          `this API key lacks the "${permissionName(needed)}" permission`,
        );
      }
      return one('Job', presentJob(job));
    },
  );
}
