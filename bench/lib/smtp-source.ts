// Postfix's load generator, smtp-source. By default it runs as anyone would run it (no -v), and a run
// that exits 0 had every one of its `-m` messages answered 2xx at the end of DATA: smtp-source stops
// with "fatal: end of data rejected" (exit 1) at the first 4xx or 5xx. With `ids`, it runs
// verbosely (it then prints every reply) so the caller learns the id of every message the server
// accepted (`250 2.0.0 Ok: queued as <id>`); the verbose output costs smtp-source ~0.2 ms of CPU per
// message more (and the reader here its parsing), CPU that the servers measured share.
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const QUEUED = /<<< 250 2\.0\.0 Ok: queued as (\S+)/;

export interface SmtpSourceOptions {
  sessions: number;
  messages: number;
  length: number;
  /** Run verbosely and collect the id of every accepted message. */
  ids?: boolean;
}

export interface SourceRun {
  seconds: number;
  /** How many messages were answered 2xx: all of them when smtp-source exited 0 (or the ids seen). */
  accepted: number;
  /** Queue/transmission ids of the messages smtp-source saw accepted (with `ids` only). */
  ids: string[] | null;
  exitCode: number | null;
  errors: string[];
}

export async function runSmtpSource(port: number, o: SmtpSourceOptions): Promise<SourceRun> {
  const args = ['-s', String(o.sessions), '-m', String(o.messages), '-l', String(o.length)];
  if (o.ids) args.unshift('-v');
  args.push('-f', 'bench@sender.example', '-t', 'rcpt@example.com', `127.0.0.1:${port}`);
  const started = process.hrtime.bigint();
  const child = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ids: string[] = [];
  const errors: string[] = [];
  const lines = readline.createInterface({ input: child.stderr });
  lines.on('line', (line) => {
    const m = QUEUED.exec(line);
    if (m) ids.push(m[1]);
    else if (/fatal|warning|error/i.test(line) && errors.length < 20) errors.push(line);
  });
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const accepted = o.ids ? ids.length : exitCode === 0 ? o.messages : 0;
  return { seconds, accepted, ids: o.ids ? ids : null, exitCode, errors };
}
