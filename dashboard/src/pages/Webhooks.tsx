// Webhooks: create one, send a test batch, read its delivery log.
import { type FormEvent } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api.ts';
import { dateTime } from '../format.ts';
import { ErrorNote } from '../components.tsx';

interface Webhook {
  id: string;
  name: string;
  target: string;
  events: string[];
  active: boolean;
}

interface Attempt {
  id: string;
  batchId: string;
  retryCount: number;
  eventCount: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  ok: boolean;
  attemptedAt: string;
}

export function Webhooks() {
  return (
    <Routes>
      <Route index element={<WebhookList />} />
      <Route path=":id" element={<WebhookLog />} />
    </Routes>
  );
}

function WebhookList() {
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: ['webhooks'],
    queryFn: () => api<{ count: number; data: Webhook[] }>('/v1/webhooks'),
  });
  const create = useMutation({
    mutationFn: (body: { name: string; target: string }) => api('/v1/webhooks', { method: 'POST', json: body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['webhooks'] }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ name: String(f.get('name')), target: String(f.get('target')) });
  };
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <ErrorNote error={list.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Target</th>
            <th scope="col">Events</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.data.map((w) => (
            <tr key={w.id}>
              <td>
                <Link to={`/webhooks/${w.id}`}>{w.name}</Link>
              </td>
              <td className="wrap">{w.target}</td>
              <td>{w.events.length ? w.events.join(', ') : 'all'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.data.length === 0 && <p>None yet.</p>}
      <h2>New webhook</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          Name
          <input name="name" required />
        </label>
        <label>
          Target URL
          <input name="target" type="url" required placeholder="https://example.com/hooks/posthorn" />
        </label>
        <button type="submit">Create</button>
      </form>
      <ErrorNote error={create.error} />
    </section>
  );
}

function WebhookLog() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const webhook = useQuery({ queryKey: ['webhook', id], queryFn: () => api<Webhook>(`/v1/webhooks/${id}`) });
  const log = useQuery({
    queryKey: ['webhook-log', id],
    queryFn: () => api<{ count: number; data: Attempt[] }>(`/v1/webhooks/${id}/deliveries`),
    refetchInterval: 3000,
  });
  const test = useMutation({
    mutationFn: () => api(`/v1/webhooks/${id}/test`, { method: 'POST', json: {} }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['webhook-log', id] }),
  });
  return (
    <section aria-labelledby="webhook-title">
      <p>
        <Link to="/webhooks">← Webhooks</Link>
      </p>
      <ErrorNote error={webhook.error} />
      {webhook.data && (
        <>
          <h1 id="webhook-title">{webhook.data.name}</h1>
          <p className="wrap">{webhook.data.target}</p>
          <button type="button" onClick={() => test.mutate()} disabled={test.isPending}>
            Send a test batch
          </button>
          <ErrorNote error={test.error} />
          <h2>Delivery log</h2>
          <table className="list" data-testid="delivery-log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Batch</th>
                <th scope="col">Events</th>
                <th scope="col">Retry</th>
                <th scope="col">Answer</th>
                <th scope="col">Latency</th>
              </tr>
            </thead>
            <tbody>
              {log.data?.data.map((a) => (
                <tr key={a.id}>
                  <td>{dateTime(a.attemptedAt)}</td>
                  <td className="mono">{a.batchId}</td>
                  <td>{a.eventCount}</td>
                  <td>{a.retryCount}</td>
                  <td className={a.ok ? 'ok' : 'error'}>{a.statusCode ?? a.error ?? '—'}</td>
                  <td>{a.latencyMs} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
