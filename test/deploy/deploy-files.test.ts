// The deployment files are checked here: the systemd units by systemd's own verifier, the example
// environment by the configuration loader, the Dockerfile by what it must keep (it cannot be built
// on the CI machines, which cannot pull base images).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { SECTIONS } from '../../src/config/settings.ts';

const deploy = path.resolve(import.meta.dirname, '../../deploy');
const haveSystemd = spawnSync('systemd-analyze', ['--version']).status === 0;

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

describe.skipIf(!haveSystemd)('systemd units', () => {
  it.each(['api', 'worker', 'smtp', 'all'])('posthorn@%s passes systemd-analyze verify without a warning', (role) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-units-'));
    try {
      fs.cpSync(path.join(deploy, 'systemd'), dir, { recursive: true });
      const result = spawnSync('systemd-analyze', ['verify', `posthorn@${role}.service`], {
        env: { ...process.env, SYSTEMD_UNIT_PATH: `${dir}:` },
        encoding: 'utf8',
      });
      expect(result.stderr.trim()).toBe('');
      expect(result.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hardens every role and gives only the smtp role the right to bind ports below 1024', () => {
    const unit = fs.readFileSync(path.join(deploy, 'systemd/posthorn@.service'), 'utf8');
    for (const line of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'CapabilityBoundingSet=']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^User=posthorn$/m);
    const dropIn = fs.readFileSync(path.join(deploy, 'systemd/posthorn@smtp.service.d/bind-smtp-ports.conf'), 'utf8');
    expect(dropIn).toMatch(/^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  });
});

describe('example environment file', () => {
  const env = parseEnvFile(fs.readFileSync(path.join(deploy, 'posthorn.env.example'), 'utf8'));

  it('names only declared settings', () => {
    const declared = new Set(SECTIONS.flatMap((s) => Object.values(s.settings).map((setting) => setting.env)));
    expect(Object.keys(env).filter((name) => !declared.has(name))).toEqual([]);
    expect(Object.keys(env).length).toBeGreaterThan(5);
  });

  it('is a configuration the loader accepts', () => {
    const config = loadConfig(env);
    expect(config.databaseUrl).toMatch(/^postgres:\/\//);
    expect(config.trustProxy).toBe(true);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(deploy, 'Dockerfile'), 'utf8');

  it('builds in one stage and runs unprivileged in another, with a health check', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^USER (?!root)\S+$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
    expect(runtime).not.toMatch(/npm (ci|install)/);
  });
});
