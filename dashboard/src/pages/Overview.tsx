// Overview: per-day figures of the last 30 days from the statistics API, drawn as small SVG bar
// charts, and the "now" figures of GET /v1/metrics/now when the server has that route.
import { useQuery } from '@tanstack/react-query';
import { api } from '../api.ts';
import { ErrorNote } from '../components.tsx';
import { BarChart } from '../BarChart.tsx';

interface DayRow {
  name: string;
  sent: number;
  delivered: number;
  bounced: number;
  opened: number;
  clicked: number;
  complaints: number;
}

interface Now {
  queue: { queued: number; sending: number; deferred: number };
  acceptedPerSecond: number;
  deliveredPerSecond: number;
  at: string;
}

const SERIES: Array<{ key: keyof Omit<DayRow, 'name'>; label: string }> = [
  { key: 'sent', label: 'Sent' },
  { key: 'delivered', label: 'Delivered' },
  { key: 'bounced', label: 'Bounced' },
  { key: 'opened', label: 'Opened' },
  { key: 'clicked', label: 'Clicked' },
  { key: 'complaints', label: 'Complained' },
];

export function Overview() {
  const days = useQuery({
    queryKey: ['breakdown-day'],
    queryFn: () => api<DayRow[]>('/v1/analytic/summary/breakdown?groupBy=DAY'),
    refetchInterval: 30_000,
  });
  // Hidden when the route does not answer (an older server, or a key without the permission).
  const now = useQuery({
    queryKey: ['metrics-now'],
    queryFn: () => api<Now>('/v1/metrics/now'),
    refetchInterval: 5000,
  });
  const rows = [...(days.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {now.data && (
        <div className="cards" aria-label="Now">
          <Figure label="Queued" value={now.data.queue.queued} />
          <Figure label="Sending" value={now.data.queue.sending} />
          <Figure label="Deferred" value={now.data.queue.deferred} />
          <Figure label="Accepted / s" value={now.data.acceptedPerSecond} />
          <Figure label="Delivered / s" value={now.data.deliveredPerSecond} />
        </div>
      )}
      <ErrorNote error={days.error} />
      <div className="charts">
        {SERIES.map((s) => (
          <BarChart
            key={s.key}
            title={`${s.label} per day`}
            points={rows.map((r) => ({ label: r.name, value: r[s.key] ?? 0 }))}
          />
        ))}
      </div>
    </section>
  );
}

function Figure({ label, value }: { label: string; value: number }) {
  return (
    <div className="card">
      <div className="figure">{Math.round(value * 10) / 10}</div>
      <div>{label}</div>
    </div>
  );
}
