// Postfix's load generator, smtp-source, run verbosely (it then prints every reply) so the caller
// learns the id of every message the server accepted (`250 2.0.0 Ok: queued as <id>`).
import { spawn } from 'node:child_process';
import readline from 'node:readline';

const QUEUED = /<<< 250 2\.0\.0 Ok: queued as (\S+)/;

export interface SmtpSourceOptions {
  sessions: number;
  messages: number;
  length: number;
}

export interface SourceRun {
  seconds: number;
  /** Queue/transmission ids of the messages smtp-source saw accepted. */
  accepted: string[];
  exitCode: number | null;
  errors: string[];
}

export async function runSmtpSource(port: number, o: SmtpSourceOptions): Promise<SourceRun> {
  const args = ['-v', '-s', String(o.sessions), '-m', String(o.messages), '-l', String(o.length)];
  args.push('-f', 'bench@sender.example', '-t', 'rcpt@example.com', `127.0.0.1:${port}`);
  const started = process.hrtime.bigint();
  const child = spawn('smtp-source', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const accepted: string[] = [];
  const errors: string[] = [];
  const lines = readline.createInterface({ input: child.stderr });
  lines.on('line', (line) => {
    const m = QUEUED.exec(line);
    if (m) accepted.push(m[1]);
    else if (/fatal|warning|error/i.test(line) && errors.length < 20) errors.push(line);
  });
  const exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, accepted, exitCode, errors };
}
