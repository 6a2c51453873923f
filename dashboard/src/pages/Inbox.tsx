// The capture inbox, like Mailpit: captured and sandbox mail, newest first, new mail appearing by
// polling; one message as HTML (in a sandboxed frame: no scripts, no same origin), text, headers,
// raw source and attachments.
import { useState } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { useQuery } from '@tanstack/react-query';
import { api, apiText, qs } from '../api.ts';
import type { Message, MessagePreview, Page } from '../types.ts';
import { address, bytes, dateTime, headersOf } from '../format.ts';
import { ErrorNote, Pager, Tabs } from '../components.tsx';

const POLL_MS = 2000;
const PAGE_SIZE = 50;

export function Inbox() {
  return (
    <Routes>
      <Route index element={<InboxList />} />
      <Route path=":id" element={<InboxMessage />} />
    </Routes>
  );
}

function usePreview(id: string) {
  // A captured message never changes: fetched once.
  return useQuery({
    queryKey: ['preview', id],
    queryFn: () => api<MessagePreview>(`/v1/messages/${encodeURIComponent(id)}/preview`),
    staleTime: Infinity,
  });
}

function InboxList() {
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const list = useQuery({
    queryKey: ['inbox', page],
    queryFn: () => api<Page<Message>>(`/v1/messages${qs({ status: 'captured', page, size: PAGE_SIZE })}`),
    refetchInterval: POLL_MS,
  });
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox</h1>
      <p className="hint">Captured and sandbox mail. New messages appear on their own.</p>
      <label className="search">
        Search (recipient or subject)
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <ErrorNote error={list.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">To</th>
            <th scope="col">Subject</th>
          </tr>
        </thead>
        <tbody aria-live="polite">
          {list.data?.data.map((m) => (
            <InboxRow key={m.id} message={m} search={search.trim().toLowerCase()} />
          ))}
        </tbody>
      </table>
      {list.data && list.data.count === 0 && <p>No captured mail yet.</p>}
      {list.data && <Pager page={page} size={PAGE_SIZE} count={list.data.count} onPage={setPage} />}
    </section>
  );
}

function InboxRow({ message, search }: { message: Message; search: string }) {
  const preview = usePreview(message.id);
  const subject = preview.data?.subject ?? '';
  if (search && !message.recipient.toLowerCase().includes(search) && !subject.toLowerCase().includes(search))
    return null;
  return (
    <tr>
      <td>{dateTime(message.createdAt)}</td>
      <td>{message.recipient}</td>
      <td>
        <Link to={`/inbox/${message.id}`}>{preview.data ? subject || '(no subject)' : 'Loading…'}</Link>
      </td>
    </tr>
  );
}

function InboxMessage() {
  const { id = '' } = useParams();
  const preview = usePreview(id);
  const raw = useQuery({
    queryKey: ['raw', id],
    queryFn: () => apiText(`/v1/messages/${encodeURIComponent(id)}/raw`),
    staleTime: Infinity,
  });
  const p = preview.data;
  return (
    <section aria-labelledby="message-title">
      <p>
        <Link to="/inbox">← Inbox</Link>
      </p>
      <ErrorNote error={preview.error ?? raw.error} />
      {p && (
        <>
          <h1 id="message-title">{p.subject || '(no subject)'}</h1>
          <dl className="meta">
            <dt>From</dt>
            <dd>{address(p.from)}</dd>
            <dt>To</dt>
            <dd>{p.to.map(address).join(', ')}</dd>
            {p.cc.length > 0 && (
              <>
                <dt>Cc</dt>
                <dd>{p.cc.map(address).join(', ')}</dd>
              </>
            )}
            <dt>Date</dt>
            <dd>{dateTime(p.date)}</dd>
          </dl>
          <Tabs
            label="Message views"
            tabs={[
              {
                id: 'html',
                title: 'HTML',
                content: p.displayHtml ? (
                  // sandbox="" : no scripts, no forms, no same-origin access, no top navigation.
                  // displayHtml: looking at the message must not count as its recipient opening it.
                  <iframe className="mail-frame" title="HTML body of the message" sandbox="" srcDoc={p.displayHtml} />
                ) : (
                  <p>This message has no HTML part.</p>
                ),
              },
              { id: 'text', title: 'Text', content: <pre className="source">{p.text ?? '(no text part)'}</pre> },
              {
                id: 'headers',
                title: 'Headers',
                content: (
                  <table className="list">
                    <tbody>
                      {headersOf(raw.data ?? '').map(([name, value], i) => (
                        <tr key={i}>
                          <th scope="row">{name}</th>
                          <td className="wrap">{value}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                ),
              },
              { id: 'raw', title: 'Raw', content: <pre className="source">{raw.data ?? ''}</pre> },
              {
                id: 'attachments',
                title: `Attachments (${p.attachments.length})`,
                content:
                  p.attachments.length === 0 ? (
                    <p>No attachments.</p>
                  ) : (
                    <ul>
                      {p.attachments.map((a, i) => (
                        <li key={i}>
                          {a.filename ?? '(unnamed)'} — {a.contentType}, {bytes(a.size)}
                        </li>
                      ))}
                    </ul>
                  ),
              },
            ]}
          />
        </>
      )}
    </section>
  );
}
