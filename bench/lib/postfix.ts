// A private Postfix instance for benchmarks: its own configuration, queue and log directories
// under a temporary directory, listening on 127.0.0.1:<port>, relaying for the loopback and
// delivering each benchmark domain to a fixed exchanger through transport_maps (the same hosts the
// benchmark's DNS gives as MX). Needs Postfix installed (apt-get install postfix) and root; the
// system's own Postfix, if any, is not touched.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PostfixInstance {
  port: number;
  stop(): void;
}

export function postfixAvailable(): boolean {
  try {
    execFileSync('postconf', ['-h', 'mail_version'], { stdio: 'pipe' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}

/** `routes`: domain → `host:port` of its exchanger. `connections`: Postfix's per-destination concurrency. */
export function startPostfix(opts: {
  port: number;
  routes: Map<string, string>;
  connections: number;
}): PostfixInstance {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'posthorn-bench-postfix-'));
  const etc = path.join(dir, 'etc');
  fs.mkdirSync(etc);
  // Postfix's daemons run as its own user: they must reach the queue; data_directory is theirs.
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'queue'));
  fs.mkdirSync(path.join(dir, 'data'));
  execFileSync('chown', ['postfix', path.join(dir, 'data')]);
  const transport = [...opts.routes].map(([domain, hop]) => `${domain} smtp:[${hop.replace(/:(\d+)$/, ']:$1')}`);
  fs.writeFileSync(path.join(etc, 'transport'), transport.join('\n') + '\n');
  fs.writeFileSync(
    path.join(etc, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${path.join(dir, 'queue')}`,
      `data_directory = ${path.join(dir, 'data')}`,
      `maillog_file = ${path.join(dir, 'maillog')}`,
      'maillog_file_prefixes = /var, /dev/stdout, /tmp',
      'syslog_name = posthorn-bench-postfix',
      'myhostname = bench-postfix.example',
      'mydestination =',
      'relay_domains =',
      'alias_maps =',
      'alias_database =',
      'local_recipient_maps =',
      'inet_interfaces = 127.0.0.1',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      'smtpd_relay_restrictions = permit_mynetworks, reject',
      `transport_maps = texthash:${path.join(etc, 'transport')}`,
      'smtp_tls_security_level = none',
      'smtpd_tls_security_level = none',
      'smtputf8_enable = no',
      `default_destination_concurrency_limit = ${opts.connections}`,
      `smtp_destination_concurrency_limit = ${opts.connections}`,
      'default_process_limit = 200',
      'smtp_connection_cache_on_demand = yes',
      'in_flow_delay = 0',
      '',
    ].join('\n'),
  );
  // The distribution's master.cf, without chroot (the queue is not where the chroot setup expects
  // it), with smtpd on our port instead of 25, and the postlog service for maillog_file.
  const master = fs
    .readFileSync('/etc/postfix/master.cf', 'utf8')
    .split('\n')
    .map((line) => {
      const fields = line.split(/\s+/);
      if (line.startsWith('#') || fields.length < 8 || /^\s/.test(line)) return line;
      if (fields[0] === 'smtp' && fields[1] === 'inet') fields[0] = `127.0.0.1:${opts.port}`;
      fields[4] = 'n';
      return fields.join('  ');
    })
    .join('\n');
  const postlog = /^postlog\s/m.test(master)
    ? ''
    : '\npostlog   unix-dgram n  -       n       -       1       postlogd\n';
  fs.writeFileSync(path.join(etc, 'master.cf'), master + postlog);
  try {
    execFileSync('postfix', ['-c', etc, 'check'], { stdio: 'pipe' });
    execFileSync('postfix', ['-c', etc, 'start'], { stdio: 'pipe' });
  } catch (error) {
    // Postfix reports to syslog and its maillog, not to stderr.
    const log = fs.existsSync(path.join(dir, 'maillog')) ? fs.readFileSync(path.join(dir, 'maillog'), 'utf8') : '';
    throw new Error(`Postfix did not start (${(error as Error).message}); its log:\n${log.slice(-2000)}`);
  }
  return {
    port: opts.port,
    stop() {
      try {
        execFileSync('postfix', ['-c', etc, 'stop'], { stdio: 'pipe' });
      } finally {
        if (process.env.BENCH_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
