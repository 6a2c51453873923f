// Subscribers: the list with a filter builder for the marketing API's search grammar, a CSV import
// whose progress bar follows the job API, and an export.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, csrf, qs } from '../api.ts';
import { ErrorNote, Pager } from '../components.tsx';

interface Subscriber {
  id: number;
  email: string;
  firstname: string | null;
  lastname: string | null;
  status: number;
  createdAt: string;
}

interface Job {
  id: number;
  status: 'queued' | 'running' | 'completed' | 'failed';
  progress: number;
  processed: number;
  created: number;
  updated: number;
  failed: number;
}

interface Condition {
  field: string;
  condition: string;
  value: string;
}

const FIELDS = ['email', 'firstname', 'lastname', 'status', 'city', 'country', 'createdAt'];
const CONDITIONS = ['=', 'like', '>', '>=', '<', '<='];
const PAGE_SIZE = 25;

/** The builder's rows as the search grammar: `[{"field": {"condition": c, "value": v}}, …]` (AND). */
export function searchOf(conditions: Condition[]): string {
  const items = conditions
    .filter((c) => c.field && c.value !== '')
    .map((c) => ({
      [c.field]: {
        condition: c.condition,
        value: /^-?\d+$/.test(c.value) && c.field === 'status' ? Number(c.value) : c.value,
      },
    }));
  return items.length ? JSON.stringify(items) : '';
}

export function Subscribers() {
  const [draft, setDraft] = useState<Condition[]>([{ field: 'email', condition: 'like', value: '' }]);
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ['subscribers', search, page],
    queryFn: () =>
      api<{ data: Subscriber[]; meta: { pagination: { total: number } } }>(
        `/api/v1/subscribers${qs({ search, page, limit: PAGE_SIZE, sorting: '[{"id":"asc"}]' })}`,
      ),
  });
  const update = (i: number, patch: Partial<Condition>) =>
    setDraft((rows) => rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  return (
    <section aria-labelledby="subscribers-title">
      <h1 id="subscribers-title">Subscribers</h1>
      <form
        className="builder"
        aria-label="Filter"
        onSubmit={(e) => {
          e.preventDefault();
          setPage(1);
          setSearch(searchOf(draft));
        }}
      >
        <datalist id="subscriber-fields">
          {FIELDS.map((f) => (
            <option key={f} value={f} />
          ))}
        </datalist>
        {draft.map((c, i) => (
          <fieldset key={i} className="inline">
            <legend>Condition {i + 1}</legend>
            <div className="field">
              <label htmlFor={`field-${i}`}>Field</label>
              <input
                id={`field-${i}`}
                list="subscriber-fields"
                value={c.field}
                onChange={(e) => update(i, { field: e.target.value })}
              />
            </div>
            <div className="field">
              <label htmlFor={`condition-${i}`}>Condition</label>
              <select
                id={`condition-${i}`}
                value={c.condition}
                onChange={(e) => update(i, { condition: e.target.value })}
              >
                {CONDITIONS.map((x) => (
                  <option key={x}>{x}</option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={`value-${i}`}>Value</label>
              <input id={`value-${i}`} value={c.value} onChange={(e) => update(i, { value: e.target.value })} />
            </div>
            <button
              type="button"
              className="secondary"
              onClick={() => setDraft((rows) => rows.filter((_, j) => j !== i))}
            >
              Remove
            </button>
          </fieldset>
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() => setDraft((rows) => [...rows, { field: 'email', condition: '=', value: '' }])}
        >
          Add condition
        </button>
        <button type="submit">Apply filter</button>
        <p className="hint">
          Search: <code data-testid="search-json">{search || '(none)'}</code>
        </p>
      </form>
      <ErrorNote error={list.error} />
      <p role="status" data-testid="subscriber-total">
        {list.data ? `${list.data.meta.pagination.total} subscribers` : ''}
      </p>
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.data.map((s) => (
            <tr key={s.id}>
              <td>{s.id}</td>
              <td>{s.email}</td>
              <td>{[s.firstname, s.lastname].filter(Boolean).join(' ')}</td>
              <td>{s.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && <Pager page={page} size={PAGE_SIZE} count={list.data.meta.pagination.total} onPage={setPage} />}
      <Import />
      <Export search={search} />
    </section>
  );
}

function Import() {
  const queryClient = useQueryClient();
  const [jobId, setJobId] = useState<number | null>(null);
  const start = useMutation({
    mutationFn: async (file: File) =>
      api<{ data: Job }>('/api/v1/subscribers/import', {
        method: 'POST',
        body: file,
        headers: { 'content-type': 'text/csv' },
      }),
    onSuccess: (r) => setJobId(r.data.id),
  });
  const job = useQuery({
    queryKey: ['job', jobId],
    enabled: jobId !== null,
    queryFn: () => api<{ data: Job }>(`/api/v1/jobs/${jobId}`),
    refetchInterval: (q) => {
      const status = q.state.data?.data.status;
      if (status === 'completed' || status === 'failed') {
        void queryClient.invalidateQueries({ queryKey: ['subscribers'] });
        return false;
      }
      return 500;
    },
  });
  const j = job.data?.data;
  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">Import a CSV file</h2>
      <label>
        CSV file (header row first: email, firstname, …)
        <input
          type="file"
          accept=".csv,text/csv"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) start.mutate(file);
          }}
        />
      </label>
      <ErrorNote error={start.error ?? job.error} />
      {j && (
        <div>
          <progress max={100} value={j.progress} aria-label="Import progress" data-testid="import-progress">
            {j.progress} %
          </progress>{' '}
          <span role="status" data-testid="import-status">
            {j.progress} % · {j.status} · {j.created} created, {j.updated} updated, {j.failed} failed
          </span>
        </div>
      )}
    </section>
  );
}

function Export({ search }: { search: string }) {
  const [error, setError] = useState<unknown>(null);
  const download = async () => {
    try {
      const response = await fetch(`/api/v1/subscribers/export${qs({ search })}`, {
        headers: { 'x-csrf-token': csrf() ?? '' },
        credentials: 'same-origin',
      });
      if (!response.ok) throw new Error(`export failed (${response.status})`);
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = 'subscribers.csv';
      a.click();
      URL.revokeObjectURL(url);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section aria-labelledby="export-title">
      <h2 id="export-title">Export</h2>
      <button type="button" onClick={() => void download()}>
        Export the filtered subscribers as CSV
      </button>
      <ErrorNote error={error} />
    </section>
  );
}
