// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function and per "area"
// (an npm package, a Posthorn source folder, a Node built-in, GC, idle).
import fs from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  area: string;
  ms: number;
  share: number; // of busy (non-idle) time
}

export interface ProfileSummary {
  wallMs: number;
  busyMs: number;
  idleMs: number;
  functions: SelfTime[];
  areas: SelfTime[];
}

export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native ${functionName || '(anonymous)'}`;
  }
  // nodemailer does three different jobs here (MIME, DKIM, SMTP client): keep them apart.
  const nodemailer = /node_modules\/nodemailer\/lib\/([^/]+)/.exec(url);
  if (nodemailer) return `nodemailer/${nodemailer[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const src = /\/(src|bench|test)\/(?:([^/]+)\/)?[^/]+$/.exec(url);
  if (src) return src[2] ? `posthorn ${src[1]}/${src[2]}` : `posthorn ${src[1]}`;
  const internal = /^node:(?:internal\/)?([^/]+)/.exec(url);
  if (internal) return `node:${internal[1]}`;
  return url;
}

function shortUrl(url: string): string {
  return url.replace(/^file:\/\/.*?\/node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|test)\//, '$1/');
}

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // timeDeltas[i] is the time before sample i; the time a sample stands for is the next delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + dt);
  }
  const fns = new Map<string, { name: string; area: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    const area = areaOf(frame);
    if (area === 'idle') {
      idleUs += us;
      continue;
    }
    const name = frame.url
      ? `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`
      : frame.functionName;
    const entry = fns.get(name) ?? { name, area, us: 0 };
    entry.us += us;
    fns.set(name, entry);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const toSelf = (name: string, area: string, us: number): SelfTime => ({
    name,
    area,
    ms: us / 1000,
    share: busyUs ? us / busyUs : 0,
  });
  return {
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => toSelf(f.name, f.area, f.us)),
    areas: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([area, us]) => toSelf(area, area, us)),
  };
}

export function printProfileSummary(file: string, top = 25): ProfileSummary {
  const s = summarizeProfile(file, top);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  console.log(`\nCPU profile ${file}`);
  console.log(
    `  wall ${(s.wallMs / 1000).toFixed(1)} s, busy ${(s.busyMs / 1000).toFixed(1)} s (${pct(s.busyMs / s.wallMs)} of one core), idle ${(s.idleMs / 1000).toFixed(1)} s`,
  );
  console.log('  self time by area (share of busy time):');
  for (const a of s.areas.slice(0, 15)) console.log(`    ${pct(a.share).padStart(6)}  ${a.area}`);
  console.log(`  top ${top} functions by self time:`);
  for (const f of s.functions) console.log(`    ${pct(f.share).padStart(6)}  ${f.name}  [${f.area}]`);
  return s;
}
