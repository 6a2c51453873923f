// Mailings: create one (from a template or HTML, to groups), preview it, test-send it, send,
// schedule, pause or resume it, and watch its progress and statistics (with clicks per link).
import { useState, type FormEvent } from 'react';
import { Link, Route, Routes, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api.ts';
import { ErrorNote, StatusBadge } from '../components.tsx';

interface Mailing {
  id: number;
  name: string;
  status: string;
  subject: string | null;
  channelId: number | null;
  subscriberGroupIds: number[];
  recipientCount: number;
}

interface Named {
  id: number;
  name: string;
}

interface Statistics {
  recipients: number;
  sent: number;
  delivered: number;
  bounced: { total: number };
  opens: { unique: number };
  clicks: { unique: number };
  unsubscribes: number;
  complaints: number;
  links: Array<{ url: string; clicks: number; uniqueClicks: number }>;
}

const LIVE = new Set(['sending', 'scheduled', 'paused']);

export function Mailings() {
  return (
    <Routes>
      <Route index element={<MailingList />} />
      <Route path=":id" element={<MailingDetail />} />
    </Routes>
  );
}

function MailingList() {
  const navigate = useNavigate();
  const list = useQuery({
    queryKey: ['mailings'],
    queryFn: () => api<{ data: Mailing[] }>('/api/v1/mailings?limit=100'),
  });
  const channels = useQuery({
    queryKey: ['channels'],
    queryFn: () => api<{ data: Named[] }>('/api/v1/channels?limit=100'),
  });
  const groups = useQuery({
    queryKey: ['groups'],
    queryFn: () => api<{ data: Named[] }>('/api/v1/subscriberGroups?limit=100'),
  });
  const templates = useQuery({
    queryKey: ['templates', ''],
    queryFn: () => api<{ data: Array<{ id: string; name: string }> }>('/v1/template?size=100'),
  });
  const create = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      api<{ data: Mailing }>('/api/v1/mailings', { method: 'POST', json: body }),
    onSuccess: (r) => navigate(`/mailings/${r.data.id}`),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const templateId = String(f.get('templateId') ?? '');
    create.mutate({
      name: f.get('name'),
      channelId: Number(f.get('channelId')),
      senderEmail: f.get('senderEmail'),
      subject: f.get('subject'),
      ...(templateId ? { templateId } : { html: f.get('html') }),
      subscriberGroupIds: f.getAll('groups').map(Number),
      tracking: { opens: true, clicks: true },
    });
  };
  return (
    <section aria-labelledby="mailings-title">
      <h1 id="mailings-title">Mailings</h1>
      <ErrorNote error={list.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Recipients</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.data.map((m) => (
            <tr key={m.id}>
              <td>
                <Link to={`/mailings/${m.id}`}>{m.name}</Link>
              </td>
              <td>
                <StatusBadge status={m.status} />
              </td>
              <td>{m.recipientCount}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.data.length === 0 && <p>No mailings yet.</p>}
      <h2>New mailing</h2>
      {channels.data && channels.data.data.length === 0 && (
        <p>
          A mailing goes out through a channel (its sender identity and opt-in settings): create one under{' '}
          <Link to="/lists/channels">Groups &amp; lists → Channels</Link> first.
        </p>
      )}
      <form className="stack" onSubmit={submit}>
        <label>
          Name
          <input name="name" required />
        </label>
        <label>
          Channel
          <select name="channelId" required>
            {channels.data?.data.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Sender email
          <input name="senderEmail" type="email" required />
        </label>
        <label>
          Subject
          <input name="subject" required />
        </label>
        <label>
          Template
          <select name="templateId">
            <option value="">none: the HTML below</option>
            {templates.data?.data.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label htmlFor="mailing-html">HTML (when no template is chosen)</label>
        <textarea
          id="mailing-html"
          name="html"
          rows={6}
          defaultValue={'<p>Hello {{ firstname }}</p>\n<p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>'}
        />
        <fieldset>
          <legend>Groups</legend>
          {groups.data && groups.data.data.length === 0 && (
            <p>
              No groups yet: create one under <Link to="/lists/groups">Groups &amp; lists</Link>.
            </p>
          )}
          {groups.data?.data.map((g) => (
            <label key={g.id} className="check">
              <input type="checkbox" name="groups" value={g.id} /> {g.name}
            </label>
          ))}
        </fieldset>
        <button type="submit">Create</button>
      </form>
      <ErrorNote error={create.error} />
    </section>
  );
}

function MailingDetail() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const mailing = useQuery({
    queryKey: ['mailing', id],
    queryFn: () => api<{ data: Mailing }>(`/api/v1/mailings/${id}`),
    refetchInterval: (q) => (LIVE.has(q.state.data?.data.status ?? '') ? 1000 : false),
  });
  const live = LIVE.has(mailing.data?.data.status ?? '');
  const stats = useQuery({
    queryKey: ['mailing-stats', id],
    queryFn: () => api<{ data: Statistics }>(`/api/v1/mailings/${id}/statistics`),
    refetchInterval: live ? 1000 : 10_000,
  });
  const preview = useQuery({
    queryKey: ['mailing-preview', id],
    queryFn: () => api<{ data: { subject: string; html: string | null } }>(`/api/v1/mailings/${id}/preview`),
  });
  const [testTo, setTestTo] = useState('');
  const act = useMutation({
    mutationFn: ({ action, body }: { action: string; body?: unknown }) =>
      api(`/api/v1/mailings/${id}/${action}`, { method: 'POST', json: body ?? {} }),
    onSettled: () => {
      void queryClient.invalidateQueries({ queryKey: ['mailing', id] });
      void queryClient.invalidateQueries({ queryKey: ['mailing-stats', id] });
    },
  });
  const m = mailing.data?.data;
  const s = stats.data?.data;
  return (
    <section aria-labelledby="mailing-title">
      <p>
        <Link to="/mailings">← Mailings</Link>
      </p>
      <ErrorNote error={mailing.error} />
      {m && (
        <>
          <h1 id="mailing-title">{m.name}</h1>
          <p>
            Status: <StatusBadge status={m.status} /> · <span data-testid="recipient-count">{m.recipientCount}</span>{' '}
            recipients
          </p>
          <div className="actions">
            <button
              type="button"
              onClick={() => act.mutate({ action: 'send' })}
              disabled={m.status !== 'draft' && m.status !== 'scheduled'}
            >
              Send now
            </button>
            <button type="button" onClick={() => act.mutate({ action: 'pause' })} disabled={m.status !== 'sending'}>
              Pause
            </button>
            <button type="button" onClick={() => act.mutate({ action: 'resume' })} disabled={m.status !== 'paused'}>
              Resume
            </button>
          </div>
          <form
            className="inline"
            onSubmit={(e) => {
              e.preventDefault();
              act.mutate({
                action: 'test',
                body: {
                  emails: testTo
                    .split(',')
                    .map((x) => x.trim())
                    .filter(Boolean),
                },
              });
            }}
          >
            <label>
              Test send to
              <input value={testTo} onChange={(e) => setTestTo(e.target.value)} placeholder="me@example.org" />
            </label>
            <button type="submit">Send test</button>
          </form>
          <form
            className="inline"
            onSubmit={(e) => {
              e.preventDefault();
              const at = String(new FormData(e.currentTarget).get('at'));
              act.mutate({
                action: 'schedule',
                body: { scheduledAt: new Date(at).toISOString().slice(0, 19).replace('T', ' ') },
              });
            }}
          >
            <label>
              Schedule for
              <input type="datetime-local" name="at" required />
            </label>
            <button type="submit">Schedule</button>
          </form>
          <ErrorNote error={act.error} />
          {s && (
            <div className="cards" aria-label="Statistics" data-testid="mailing-stats">
              <div className="card">
                <div className="figure" data-testid="stat-sent">
                  {s.sent}
                </div>
                sent
              </div>
              <div className="card">
                <div className="figure" data-testid="stat-delivered">
                  {s.delivered}
                </div>
                delivered
              </div>
              <div className="card">
                <div className="figure">{s.bounced.total}</div>bounced
              </div>
              <div className="card">
                <div className="figure">{s.opens.unique}</div>opened
              </div>
              <div className="card">
                <div className="figure">{s.clicks.unique}</div>clicked
              </div>
              <div className="card">
                <div className="figure">{s.unsubscribes}</div>unsubscribed
              </div>
            </div>
          )}
          {s && s.links.length > 0 && (
            <table className="list">
              <caption>Clicks per link</caption>
              <thead>
                <tr>
                  <th scope="col">Link</th>
                  <th scope="col">Clicks</th>
                  <th scope="col">Unique</th>
                </tr>
              </thead>
              <tbody>
                {s.links.map((l) => (
                  <tr key={l.url}>
                    <td className="wrap">{l.url}</td>
                    <td>{l.clicks}</td>
                    <td>{l.uniqueClicks}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Preview</h2>
          <ErrorNote error={preview.error} />
          {preview.data && (
            <>
              <p>
                <strong>Subject:</strong> {preview.data.data.subject}
              </p>
              <iframe className="mail-frame" title="Mailing preview" sandbox="" srcDoc={preview.data.data.html ?? ''} />
            </>
          )}
        </>
      )}
    </section>
  );
}
