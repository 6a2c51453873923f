// Subscribers: the list with a filter builder for the marketing API's search grammar, a CSV import
// whose progress bar follows the job API, and an export.
import { useState, type FormEvent } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
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
  return (
    <Routes>
      <Route index element={<SubscriberList />} />
      <Route path=":id" element={<SubscriberDetail />} />
    </Routes>
  );
}

function SubscriberList() {
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
        {list.data
          ? `${list.data.meta.pagination.total} subscriber${list.data.meta.pagination.total === 1 ? '' : 's'}`
          : ''}
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
              <td>
                <Link to={`/subscribers/${s.id}`}>{s.email}</Link>
              </td>
              <td>{[s.firstname, s.lastname].filter(Boolean).join(' ')}</td>
              <td>
                {STATUS_NAMES[s.status] ?? 'status'} ({s.status})
              </td>
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

const STATUS_NAMES: Record<number, string> = { 1: 'active', 2: 'opt-in pending', 3: 'archived' };

function SubscriberDetail() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const subscriber = useQuery({
    queryKey: ['subscriber', id],
    queryFn: () => api<{ data: Subscriber & Record<string, unknown> }>(`/api/v1/subscribers/${id}`),
  });
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api(`/api/v1/subscribers/${id}`, { method: 'PUT', json: body }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ['subscriber', id] });
      void queryClient.invalidateQueries({ queryKey: ['subscribers'] });
    },
  });
  const s = subscriber.data?.data;
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    save.mutate({ firstname: f.get('firstname'), lastname: f.get('lastname'), email: f.get('email') });
  };
  return (
    <section aria-labelledby="subscriber-title">
      <p>
        <Link to="/subscribers">← Subscribers</Link>
      </p>
      <ErrorNote error={subscriber.error} />
      {s && (
        <>
          <h1 id="subscriber-title">{s.email}</h1>
          <p>
            Status: {STATUS_NAMES[s.status] ?? s.status} · created {s.createdAt}
          </p>
          <form className="stack" onSubmit={submit}>
            <label>
              Email
              <input name="email" type="email" defaultValue={s.email} required />
            </label>
            <label>
              First name
              <input name="firstname" defaultValue={s.firstname ?? ''} />
            </label>
            <label>
              Last name
              <input name="lastname" defaultValue={s.lastname ?? ''} />
            </label>
            <button type="submit" disabled={save.isPending}>
              Save
            </button>
            {save.isSuccess && <span role="status"> Saved.</span>}
          </form>
          <ErrorNote error={save.error} />
          <details>
            <summary>Everything the API returns</summary>
            <pre className="source">{JSON.stringify(s, null, 2)}</pre>
          </details>
        </>
      )}
    </section>
  );
}
