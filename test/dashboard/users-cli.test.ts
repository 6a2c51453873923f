// `posthorn users create`: a dashboard user made on the command line (password from standard
// input) signs in to the dashboard of a server on the same database; bad input is one line on
// stderr and exit code 2. At a terminal (a pseudo-terminal from util-linux's `script`) the password
// typed is not shown.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startPosthorn } from '../../src/app.ts';
import { createLogger } from '../../src/log.ts';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/posthorn.mjs');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-users-'));

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function usersCreate(email: string, password: string) {
  return spawnSync(process.execPath, [bin, 'users', 'create', '--email', email], {
    env: { ...process.env, POSTHORN_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    input: `${password}\n`,
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('posthorn users create', () => {
  it('creates a user who signs in with email and password; refuses a duplicate and a short password', async () => {
    const made = usersCreate('ops@example.org', 'a long enough password');
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(/dashboard user ops@example.org created/);

    const duplicate = usersCreate('OPS@example.org', 'another long password');
    expect(duplicate.status).toBe(2);
    expect(duplicate.stderr.trim()).toBe('posthorn: a dashboard user ops@example.org already exists');
    const short = usersCreate('short@example.org', 'short');
    expect(short.status).toBe(2);
    expect(short.stderr.trim()).toBe('posthorn: password must be at least 10 characters');

    const app = await startPosthorn(
      loadConfig({
        POSTHORN_DATA_DIR: dataDir,
        DATABASE_URL: '',
        PORT: '0',
        HOST: '127.0.0.1',
        POSTHORN_SMTP_PORT: '0',
        POSTHORN_INBOUND_PORT: '0',
      }),
      { log: createLogger('silent') },
    );
    try {
      const signIn = (password: string) =>
        fetch(`${app.url}/dashboard-api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'ops@example.org', password }),
        });
      expect((await signIn('a long enough password')).status).toBe(200);
      expect((await signIn('not the password')).status).toBe(401);
    } finally {
      await app.close();
    }
  }, 120_000);

  const haveScript = spawnSync('sh', ['-c', 'command -v script']).status === 0;
  it.runIf(haveScript)(
    'does not show the password typed at a terminal',
    async () => {
      const password = 'typed at a terminal 42';
      const command = [process.execPath, bin, 'users', 'create', '--email', 'tty@example.org'].join(' ');
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        env: { ...process.env, POSTHORN_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'warn' },
      });
      let output = '';
      let typed = false;
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString('utf8');
        // Typed once the prompt is there, as a person would: the terminal is in raw mode by then.
        if (!typed && output.includes('Password')) {
          typed = true;
          setTimeout(() => child.stdin.write(`${password}\r`), 200);
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code, output).toBe(0);
      expect(output).toMatch(/not shown/);
      expect(output).toMatch(/dashboard user tty@example.org created/);
      expect(output).not.toContain(password);
    },
    60_000,
  );
});
