// The two commands of the README, as a user runs them: `npm start` (here: the same bin script)
// prints the dashboard URL and a key on first start only; `posthorn keys create` makes more keys.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin/posthorn.mjs');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-cli-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function env(extra: Record<string, string> = {}) {
  // The SMTP submission server's default port is fixed (2587): off, so parallel tests cannot clash on it.
  return {
    ...process.env,
    POSTHORN_DATA_DIR: dataDir,
    DATABASE_URL: '',
    LOG_LEVEL: 'warn',
    POSTHORN_SMTP_PORT: '0',
    POSTHORN_INBOUND_PORT: '0',
    ...extra,
  };
}

/** Starts the server and resolves with its stdout once the key line has been printed. */
function startAndRead(port: number): Promise<{ out: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [bin, 'start'], {
    env: env({ PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no key line in: ${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (/API key: .*\n/.test(out)) {
        clearTimeout(timer);
        resolve({ out, child });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

describe('command line', () => {
  it('first start prints the dashboard URL and a working key; later starts print no key', async () => {
    const port = await freePort();
    const first = await startAndRead(port);
    expect(first.out).toMatch(new RegExp(`Dashboard: http://localhost:${port}/`));
    const key = /API key: ([A-Za-z0-9]{8}\.[0-9a-f]{32})/.exec(first.out)?.[1];
    expect(key).toBeTruthy();
    expect(fs.existsSync(path.join(dataDir, 'posthorn.db'))).toBe(true);

    const res = await fetch(`http://127.0.0.1:${port}/v1/layang/transmissions`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`x:${key}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        from: { email: 'a@example.com' },
        to: [{ email: 'b@example.org' }],
        subject: 'Hi',
        bodyText: 'Hello',
      }),
    });
    expect(res.status).toBe(200);
    await stop(first.child);

    const second = await startAndRead(port);
    expect(second.out).not.toMatch(/API key: [A-Za-z0-9]{8}\./);
    expect(second.out).toMatch(/keys create/);
    await stop(second.child);
  });

  it('keys create makes a key with the asked permissions', () => {
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'keys',
        'create',
        '--name',
        'ci',
        '--permissions',
        'send_api,Templates',
        '--environment',
        'sandbox',
        '--json',
      ],
      { env: env(), encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.key).toMatch(/^[A-Za-z0-9]{8}\.[0-9a-f]{32}$/);
    expect(out.permissions).toEqual(['send_api', 'templates']);
    expect(out.environment).toBe('sandbox');
    expect(out).toMatchObject({ id: expect.any(Number), publicId: out.key.slice(0, 8), accountId: 1 });
  });

  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env: env(), encoding: 'utf8' });
  const oneLineError = (r: ReturnType<typeof cli>, text: string, status = 2) => {
    expect(r.status, r.stderr).toBe(status);
    expect(r.stderr).toContain(text);
    expect(r.stderr).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
    expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
    expect(r.stderr).toMatch(/^posthorn: /);
    expect(r.stdout).toBe('');
  };

  it('keys list shows the keys that are not revoked, as a table or JSON, of all accounts or one', () => {
    const made = JSON.parse(cli('keys', 'create', '--name', 'listed', '--permissions', 'analytics', '--json').stdout);
    const table = cli('keys', 'list');
    expect(table.status, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toBe('id\tpublic id\taccount\tenvironment\tpermissions\tlast used\tname');
    expect(lines).toContain(`${made.id}\t${made.publicId}\t1\tproduction\tanalytics\tnever\tlisted`);
    expect(table.stdout).not.toContain(made.key.slice(9));

    const json = cli('keys', 'list', '--account', '1', '--json');
    expect(json.status, json.stderr).toBe(0);
    const keys = JSON.parse(json.stdout);
    expect(keys.find((k: any) => k.id === made.id)).toEqual({
      id: made.id,
      publicId: made.publicId,
      name: 'listed',
      accountId: 1,
      accountName: 'Default account',
      parentAccountId: null,
      environment: 'production',
      permissions: ['analytics'],
      allowedIps: [],
      createdAt: expect.any(Number),
      lastUsedAt: null,
    });
    expect(keys.map((k: any) => k.id)).toEqual([...keys.map((k: any) => k.id)].sort((a, b) => a - b));

    oneLineError(cli('keys', 'list', '--account', '999'), 'posthorn: account 999 not found');
    oneLineError(cli('keys', 'list', '--acount', '1'), "Unknown option '--acount'");
    oneLineError(cli('keys', 'create', '--name', 'x', '--account', 'nobody'), 'account nobody not found');
  }, 120_000);

  it('keys revoke takes the integer or public id, revokes at once, and refuses what it cannot find', async () => {
    const port = await freePort();
    const { child } = await startAndRead(port);
    try {
      const [byId, byPublicId] = ['revoke me', 'me too'].map((name) =>
        JSON.parse(cli('keys', 'create', '--name', name, '--permissions', 'analytics', '--json').stdout),
      );
      const status = async (key: string) =>
        (await fetch(`http://127.0.0.1:${port}/v1/messages`, { headers: { authorization: `Bearer ${key}` } })).status;
      expect(await status(byId.key)).toBe(200);

      const revoked = cli('keys', 'revoke', String(byId.id));
      expect(revoked.status, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain(`revoked API key ${byId.id} (${byId.publicId}, "revoke me", account 1)`);
      // The running server refuses it on the next request.
      expect(await status(byId.key)).toBe(401);
      expect(await status(byPublicId.key)).toBe(200);
      expect(cli('keys', 'revoke', byPublicId.publicId).status).toBe(0);
      expect(await status(byPublicId.key)).toBe(401);
      expect(cli('keys', 'list').stdout).not.toContain(byId.publicId);

      oneLineError(cli('keys', 'revoke', String(byId.id)), `API key ${byId.id} (or it is revoked already) not found`);
      oneLineError(cli('keys', 'revoke', 'not-a-key!'), 'is neither a key');
      oneLineError(cli('keys', 'revoke'), 'keys revoke needs one key id');
      oneLineError(cli('keys', 'revoke', '1', '2'), 'keys revoke needs one key id');
    } finally {
      await stop(child);
    }
  }, 120_000);

  it('answers a bad command or argument with one line on stderr and exit code 2', () => {
    oneLineError(cli('frobnicate'), 'unknown command "frobnicate"; `posthorn help` lists the commands');
    oneLineError(cli('keys'), 'unknown keys command ""');
    oneLineError(cli('keys', 'rotate'), 'unknown keys command "rotate"');
    oneLineError(cli('keys', 'list', '--account'), "Option '--account <value>' argument missing");
    oneLineError(cli('keys', 'list', '--account', 'no-such-account'), 'account no-such-account not found');
    oneLineError(cli('keys', 'list', '--account', '9999999999'), 'account 9999999999 not found');
    oneLineError(cli('keys', 'create'), 'keys create needs --name');
    oneLineError(cli('keys', 'create', '--name', 'x', '--environment', 'staging'), '--environment must be');
    oneLineError(cli('keys', 'create', '--name', 'x', '--allowed-ip', 'not-an-address'), 'not-an-address');
    oneLineError(cli('keys', 'revoke', '9999999999'), 'API key 9999999999 (or it is revoked already) not found');
    oneLineError(cli('migrate', '--force'), "Unknown option '--force'");
    oneLineError(cli('config', '--verbose'), "Unknown option '--verbose'");
    const badRole = spawnSync(process.execPath, [bin, 'start', '--role', 'everything'], {
      env: env(),
      encoding: 'utf8',
    });
    oneLineError(badRole, 'configuration error: POSTHORN_ROLE');
  }, 300_000);

  it('answers a store it cannot open with one line and exit code 1, never a stack trace', () => {
    const file = path.join(dataDir, 'not-a-directory');
    fs.writeFileSync(file, 'a file where a directory should be');
    const r = spawnSync(process.execPath, [bin, 'keys', 'list'], {
      env: env({ DATABASE_URL: `sqlite:${path.join(file, 'posthorn.db')}` }),
      encoding: 'utf8',
    });
    oneLineError(r, 'posthorn: ', 1);
  }, 60_000);

  it('refuses an unknown permission and a bad setting with a message and exit code 2', () => {
    const bad = spawnSync(process.execPath, [bin, 'keys', 'create', '--name', 'x', '--permissions', 'everything'], {
      env: env(),
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown permission "everything"');
    const badEnv = spawnSync(process.execPath, [bin, 'start'], {
      env: env({ POSTHORN_DELIVERY: 'relay' }),
      encoding: 'utf8',
    });
    expect(badEnv.status).toBe(2);
    expect(badEnv.stderr).toContain('configuration error: POSTHORN_DELIVERY=relay needs POSTHORN_RELAYS');
    expect(badEnv.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace
  });
});
