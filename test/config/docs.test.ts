// The configuration is declared once (src/config/settings.ts); the README's table and
// `posthorn config --help` are generated from it. These tests fail when they drift apart.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SECTIONS } from '../../src/config/settings.ts';
import { settingsHelp, settingsMarkdown, withSettingsTable } from '../../src/config/docs.ts';
import { loadConfig } from '../../src/config.ts';

const root = path.resolve(import.meta.dirname, '../..');
const all = SECTIONS.flatMap((s) => Object.values(s.settings));

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('configuration documentation', () => {
  it('README.md holds the table generated from the declarations (run `npm run docs:config` after a change)', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(withSettingsTable(readme)).toBe(readme);
  });

  it('declares every setting once, with a type and a description', () => {
    const names = all.map((s) => s.env);
    expect(new Set(names).size).toBe(names.length);
    for (const s of all) {
      expect(s.env, s.env).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(s.type.trim(), s.env).not.toBe('');
      expect(s.description.trim().length, s.env).toBeGreaterThan(5);
    }
  });

  it('documents every setting in the README table and in `config --help`', () => {
    const table = settingsMarkdown();
    const help = settingsHelp();
    for (const s of all) {
      expect(table).toContain(`| \`${s.env}\` |`);
      expect(help).toContain(`  ${s.env}  `);
    }
  });

  it('reads the environment nowhere but in the configuration loader', () => {
    const readers = sourceFiles(path.join(root, 'src')).filter((file) =>
      /process\.env\b/.test(fs.readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '')),
    );
    expect(readers.map((f) => path.relative(root, f))).toEqual(['src/config.ts']);
  });

  it('names only declared variables in the environment it reads', () => {
    // Every POSTHORN_* variable that the source mentions must be a declared setting, so a new
    // setting cannot be read from the environment behind the schema's back.
    const declared = new Set(all.map((s) => s.env));
    const mentioned = new Set<string>();
    for (const file of sourceFiles(path.join(root, 'src'))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(/\bPOSTHORN_[A-Z0-9_]+\b/g)) mentioned.add(m[0]);
    }
    expect([...mentioned].filter((name) => !declared.has(name)).sort()).toEqual([]);
  });

  it('starts from the declared defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8025);
    expect(config.worker.retrySchedule).toEqual([60, 300, 900, 3600, 14400, 28800]);
    expect(config.worker.retryMaxAgeSeconds).toBe(72 * 3600);
    expect(config.groupCommitMs).toBe(3);
    expect(loadConfig({ POSTHORN_SQLITE_SYNCHRONOUS: 'normal' }).groupCommitMs).toBe(0);
    expect(config.trustProxy).toBe(false);
  });
});
