// API keys and sub-accounts: list, create (the secret is shown once), revoke.
import { useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api.ts';
import { dateTime } from '../format.ts';
import { CopyButton, ErrorNote } from '../components.tsx';

interface Key {
  id: number;
  key: string;
  name: string;
  permissionType: string;
  createdAt: number;
}

interface SubAccount {
  id: number;
  name: string;
  status: string;
  createdAt: number;
}

export function Keys() {
  const queryClient = useQueryClient();
  const keys = useQuery({
    queryKey: ['keys'],
    queryFn: () => api<{ count: number; apiKeys: Key[] }>('/v1/api-key?size=100'),
  });
  const subs = useQuery({
    queryKey: ['sub-accounts'],
    queryFn: () => api<{ count: number; data?: SubAccount[]; subAccounts?: SubAccount[] }>('/v1/sub-account?size=100'),
  });
  const [created, setCreated] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (name: string) => api<Key>('/v1/api-key', { method: 'POST', json: { name } }),
    onSuccess: (k) => {
      setCreated(k.key);
      void queryClient.invalidateQueries({ queryKey: ['keys'] });
    },
  });
  const revoke = useMutation({
    mutationFn: (id: number) => api(`/v1/api-key/${id}`, { method: 'DELETE' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['keys'] }),
  });
  const createSub = useMutation({
    mutationFn: (name: string) => api('/v1/sub-account', { method: 'POST', json: { name } }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['sub-accounts'] }),
  });
  const submit = (mutate: (name: string) => void) => (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    mutate(String(new FormData(e.currentTarget).get('name')));
    e.currentTarget.reset();
  };
  const subList = subs.data?.data ?? subs.data?.subAccounts ?? [];
  return (
    <section aria-labelledby="keys-title">
      <h1 id="keys-title">API keys</h1>
      <ErrorNote error={keys.error ?? revoke.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Key</th>
            <th scope="col">Permissions</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {keys.data?.apiKeys.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td>
              <td className="mono">{k.key}</td>
              <td>{k.permissionType}</td>
              <td>{dateTime(k.createdAt)}</td>
              <td>
                <button
                  type="button"
                  className="danger small"
                  onClick={() => window.confirm(`Revoke the key "${k.name}"?`) && revoke.mutate(k.id)}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form className="inline" onSubmit={submit(create.mutate)}>
        <label>
          New key name
          <input name="name" required />
        </label>
        <button type="submit">Create key</button>
      </form>
      <ErrorNote error={create.error} />
      {created && (
        <p role="status" className="notice">
          The new key (shown once): <code>{created}</code> <CopyButton text={created} label="new API key" />
        </p>
      )}
      <h2>Sub-accounts</h2>
      <ErrorNote error={subs.error ?? createSub.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {subList.map((s) => (
            <tr key={s.id}>
              <td>{s.id}</td>
              <td>{s.name}</td>
              <td>{s.status}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {subs.data && subList.length === 0 && <p>None yet.</p>}
      <form className="inline" onSubmit={submit(createSub.mutate)}>
        <label>
          New sub-account name
          <input name="name" required />
        </label>
        <button type="submit">Create sub-account</button>
      </form>
    </section>
  );
}
