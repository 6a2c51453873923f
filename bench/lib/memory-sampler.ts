// Resident memory of a process, from /proc/<pid>/status every `everyMs`: VmRSS (now) and VmHWM (the
// kernel's own high-water mark, so a peak between two samples is not missed).
import fs from 'node:fs';

export interface MemoryReading {
  rssMB: number;
  hwmMB: number;
}

export interface MemorySummary {
  /** The largest VmRSS sampled. */
  maxSampledRssMB: number;
  /** VmHWM at the last reading: the peak since the process started (its start-up included). */
  peakRssMB: number;
  /** VmRSS when sampling began and at the last reading. */
  startRssMB: number;
  endRssMB: number;
  /** VmRSS once per second (the largest of that second's samples). */
  perSecondRssMB: number[];
}

export function readMemory(pid: number): MemoryReading | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return null; // the process has exited
  }
}

export function startMemorySampler(pid: number, everyMs = 500): { stop(): MemorySummary } {
  const first = readMemory(pid);
  let last = first;
  let max = first?.rssMB ?? 0;
  const perSecond: number[] = [];
  let secondMax = 0;
  let ticks = 0;
  const perSecondTicks = Math.max(1, Math.round(1000 / everyMs));
  const take = () => {
    const m = readMemory(pid);
    if (!m) return;
    last = m;
    max = Math.max(max, m.rssMB);
    secondMax = Math.max(secondMax, m.rssMB);
    if (++ticks % perSecondTicks === 0) {
      perSecond.push(round(secondMax));
      secondMax = 0;
    }
  };
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      return {
        maxSampledRssMB: round(max),
        peakRssMB: round(last?.hwmMB ?? NaN),
        startRssMB: round(first?.rssMB ?? NaN),
        endRssMB: round(last?.rssMB ?? NaN),
        perSecondRssMB: perSecond,
      };
    },
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
