// Once a second: how much work was done, and how much CPU the server, this process and everything
// else used. On a shared machine the seconds in which nothing else ran give the clean figure.
import { machineBusySeconds } from './machine.ts';
import { processCpuSeconds } from './process-tree.ts';

interface Sample {
  at: number;
  done: number;
  serverCpu: number;
  selfCpu: number;
  machineBusy: number;
}

export interface SecondStats {
  seconds: number;
  rate: number; // operations per second
  serverCores: number;
  otherCores: number;
}

export interface SampledRun {
  all: SecondStats;
  /** Only the seconds in which other processes used less than `quietBelow` cores. */
  quiet: SecondStats & { quietBelow: number };
  perSecond: Array<{ rate: number; serverCores: number; otherCores: number }>;
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export function startSampler(serverPid: number, done: () => number): { stop(): SampledRun } {
  const take = (): Sample => ({
    at: performance.now(),
    done: done(),
    serverCpu: processCpuSeconds(serverPid),
    selfCpu: cpuNow(),
    machineBusy: machineBusySeconds(),
  });
  const samples: Sample[] = [take()];
  const timer = setInterval(() => samples.push(take()), 1000);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      samples.push(take());
      return summarize(samples);
    },
  };
}

function summarize(samples: Sample[], quietBelow = 0.25): SampledRun {
  const perSecond: SampledRun['perSecond'] = [];
  const acc = (filter: (i: number) => boolean) => {
    let seconds = 0;
    let done = 0;
    let server = 0;
    let other = 0;
    for (let i = 1; i < samples.length; i++) {
      if (!filter(i)) continue;
      const a = samples[i - 1]!;
      const b = samples[i]!;
      const dt = (b.at - a.at) / 1000;
      seconds += dt;
      done += b.done - a.done;
      server += b.serverCpu - a.serverCpu;
      other += b.machineBusy - a.machineBusy - (b.serverCpu - a.serverCpu) - (b.selfCpu - a.selfCpu);
    }
    return {
      seconds: round(seconds),
      rate: seconds ? Math.round(done / seconds) : 0,
      serverCores: seconds ? round(server / seconds) : 0,
      otherCores: seconds ? round(other / seconds) : 0,
    };
  };
  for (let i = 1; i < samples.length; i++) {
    const s = acc((j) => j === i);
    perSecond.push({ rate: s.rate, serverCores: s.serverCores, otherCores: s.otherCores });
  }
  const quietIndexes = new Set(perSecond.map((s, k) => (s.otherCores < quietBelow ? k + 1 : -1)).filter((k) => k > 0));
  return { all: acc(() => true), quiet: { ...acc((i) => quietIndexes.has(i)), quietBelow }, perSecond };
}

const round = (n: number) => Math.round(n * 100) / 100;
