// Messages and transmissions: the per-recipient outbox filtered by status, recipient and
// transmission; one message's event timeline with the SMTP replies and the bounce class.
import { useState } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api, qs } from '../api.ts';
import type { Message, MessageDetail, Page } from '../types.ts';
import { dateTime } from '../format.ts';
import { ErrorNote, Pager, StatusBadge } from '../components.tsx';

const STATUSES = ['queued', 'sending', 'deferred', 'delivered', 'bounced', 'suppressed', 'captured', 'cancelled'];
const PAGE_SIZE = 25;

export function Messages() {
  return (
    <Routes>
      <Route index element={<MessageList />} />
      <Route path=":id" element={<MessageTimeline />} />
    </Routes>
  );
}

function MessageList() {
  const [filters, setFilters] = useState({ status: '', recipient: '', transmissionId: '', from: '', to: '' });
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ['messages', filters, page],
    queryFn: () => api<Page<Message>>(`/v1/messages${qs({ ...filters, page, size: PAGE_SIZE })}`),
    refetchInterval: 5000,
  });
  const set = (name: keyof typeof filters) => (e: { target: { value: string } }) => {
    setPage(1);
    setFilters((f) => ({ ...f, [name]: e.target.value.trim() }));
  };
  return (
    <section aria-labelledby="messages-title">
      <h1 id="messages-title">Messages</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={filters.status} onChange={set('status')}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          Recipient
          <input type="email" onBlur={set('recipient')} placeholder="name@example.org" />
        </label>
        <label>
          Transmission
          <input onBlur={set('transmissionId')} />
        </label>
        <label>
          From (day, UTC)
          <input type="date" onChange={set('from')} />
        </label>
        <label>
          To (day, UTC)
          <input type="date" onChange={set('to')} />
        </label>
      </form>
      <ErrorNote error={list.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">Recipient</th>
            <th scope="col">Status</th>
            <th scope="col">Transmission</th>
            <th scope="col">Last reply</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.data.map((m) => (
            <tr key={m.id}>
              <td>
                <Link to={`/messages/${m.id}`}>{dateTime(m.createdAt)}</Link>
              </td>
              <td>{m.recipient}</td>
              <td>
                <StatusBadge status={m.status} />
              </td>
              <td className="mono">{m.transmissionId ?? (m.mailingId ? `mailing ${m.mailingId}` : '—')}</td>
              <td className="wrap">{m.lastResponse ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && <Pager page={page} size={PAGE_SIZE} count={list.data.count} onPage={setPage} />}
    </section>
  );
}

function MessageTimeline() {
  const { id = '' } = useParams();
  const detail = useQuery({
    queryKey: ['message', id],
    queryFn: () => api<MessageDetail>(`/v1/messages/${encodeURIComponent(id)}`),
    refetchInterval: 5000,
  });
  const m = detail.data;
  return (
    <section aria-labelledby="message-title">
      <p>
        <Link to="/messages">← Messages</Link>
      </p>
      <ErrorNote error={detail.error} />
      {m && (
        <>
          <h1 id="message-title">Message to {m.recipient}</h1>
          <dl className="meta">
            <dt>Status</dt>
            <dd>
              <StatusBadge status={m.status} />
            </dd>
            <dt>Attempts</dt>
            <dd>{m.attempts}</dd>
            <dt>Bounce class</dt>
            <dd>{m.bounceClass ?? '—'}</dd>
            <dt>Last SMTP reply</dt>
            <dd className="wrap">{m.lastResponse ?? '—'}</dd>
            {m.previewUrl && (
              <>
                <dt>Captured</dt>
                <dd>
                  <Link to={`/inbox/${m.id}`}>show in the inbox</Link>
                </dd>
              </>
            )}
          </dl>
          <h2>Events</h2>
          <ol className="timeline">
            {m.events.map((e, i) => (
              <li key={i}>
                <time dateTime={new Date(e.timestamp).toISOString()}>{dateTime(e.timestamp)}</time>{' '}
                <strong>{e.type}</strong>
                {e.bounceClass !== null && <> · bounce class {e.bounceClass}</>}
                {e.reason && <span className="wrap"> · {e.reason}</span>}
                {e.url && <> · {e.url}</>}
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}
