// Sending domains: add one, see the DNS records to publish (with copy buttons), verify now.
import { type FormEvent } from 'react';
import { Link, Route, Routes, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api.ts';
import { dateTime } from '../format.ts';
import { CopyButton, ErrorNote, StatusBadge } from '../components.tsx';

interface DomainItem {
  id: number;
  domain: string;
  status: string[];
}

interface Domain extends DomainItem {
  spfHostname: string;
  spfValue: string;
  spfVerified: boolean;
  dkimHostname: string;
  dkimValue: string;
  dkimVerified: boolean;
  dkimEd25519Hostname: string | null;
  dkimEd25519Value: string | null;
  dkimEd25519Verified: boolean | null;
  cnameHostname: string;
  cnameValue: string;
  cnameVerified: boolean;
  dmarcHostname: string;
  dmarcValue: string;
  dmarcVerified: boolean;
  lastCheckedAt: number | null;
}

export function Domains() {
  return (
    <Routes>
      <Route index element={<DomainList />} />
      <Route path=":id" element={<DomainRecords />} />
    </Routes>
  );
}

function DomainList() {
  const queryClient = useQueryClient();
  const list = useQuery({
    queryKey: ['domains'],
    queryFn: () => api<Array<{ count: number; sendingDomain: DomainItem[] }>>('/v1/domain/sending?size=100'),
  });
  const add = useMutation({
    mutationFn: (domain: string) => api('/v1/domain/sending', { method: 'POST', json: { domain } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['domains'] }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    add.mutate(String(new FormData(e.currentTarget).get('domain')));
  };
  return (
    <section aria-labelledby="domains-title">
      <h1 id="domains-title">Sending domains</h1>
      <ErrorNote error={list.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Domain</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.[0]?.sendingDomain.map((d) => (
            <tr key={d.id}>
              <td>
                <Link to={`/domains/${d.id}`}>{d.domain}</Link>
              </td>
              <td>
                {d.status.map((s) => (
                  <StatusBadge key={s} status={s} />
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && (list.data[0]?.sendingDomain.length ?? 0) === 0 && (
        <p>None yet. Add the domain your mail comes from: Posthorn shows the DNS records to publish for it.</p>
      )}
      <h2>Add a domain</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          Domain
          <input name="domain" required placeholder="example.com" />
        </label>
        <button type="submit">Add</button>
      </form>
      <ErrorNote error={add.error} />
    </section>
  );
}

function DomainRecords() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const domain = useQuery({ queryKey: ['domain', id], queryFn: () => api<Domain>(`/v1/domain/sending/${id}`) });
  const verify = useMutation({
    mutationFn: () => api(`/v1/domain/sending/${id}/verify-txt`, { method: 'PUT' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['domain', id] }),
  });
  const d = domain.data;
  const records = d
    ? [
        { what: 'SPF', type: 'TXT', host: d.spfHostname, value: d.spfValue, ok: d.spfVerified },
        { what: 'DKIM', type: 'TXT', host: d.dkimHostname, value: d.dkimValue, ok: d.dkimVerified },
        ...(d.dkimEd25519Hostname
          ? [
              {
                what: 'DKIM (Ed25519)',
                type: 'TXT',
                host: d.dkimEd25519Hostname,
                value: d.dkimEd25519Value!,
                ok: !!d.dkimEd25519Verified,
              },
            ]
          : []),
        { what: 'Return path', type: 'CNAME', host: d.cnameHostname, value: d.cnameValue, ok: d.cnameVerified },
        { what: 'DMARC', type: 'TXT', host: d.dmarcHostname, value: d.dmarcValue, ok: d.dmarcVerified },
      ]
    : [];
  return (
    <section aria-labelledby="domain-title">
      <p>
        <Link to="/domains">← Sending domains</Link>
      </p>
      <ErrorNote error={domain.error} />
      {d && (
        <>
          <h1 id="domain-title">{d.domain}</h1>
          <p>
            Status:{' '}
            {d.status.map((s) => (
              <StatusBadge key={s} status={s} />
            ))}{' '}
            · last checked {dateTime(d.lastCheckedAt)}
          </p>
          <table className="list records">
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Type</th>
                <th scope="col">Host</th>
                <th scope="col">Value</th>
                <th scope="col">Verified</th>
              </tr>
            </thead>
            <tbody>
              {records.map((r) => (
                <tr key={r.what}>
                  <th scope="row">{r.what}</th>
                  <td>{r.type}</td>
                  <td className="mono wrap">
                    {r.host} <CopyButton text={r.host} label={`${r.what} host`} />
                  </td>
                  <td className="mono wrap">
                    <span className="record-value">{r.value}</span>{' '}
                    <CopyButton text={r.value} label={`${r.what} value`} />
                  </td>
                  <td>{r.ok ? 'yes' : 'no'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>
            Verify now
          </button>
          <ErrorNote error={verify.error} />
        </>
      )}
    </section>
  );
}
