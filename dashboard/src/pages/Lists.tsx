// Groups, custom fields, channels, blacklist and suppressions: each a list with a small form to add
// an entry and a button to remove one, over its API route.
import { type FormEvent, type ReactNode } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api.ts';
import { ErrorNote } from '../components.tsx';

interface Column<T> {
  title: string;
  cell: (row: T) => ReactNode;
}

interface InputField {
  name: string;
  label: string;
  type?: string;
  options?: Array<[string, string]>;
  required?: boolean;
}

interface ResourceProps<T> {
  title: string;
  /** The list's query key and how to read it. */
  load: () => Promise<T[]>;
  columns: Array<Column<T>>;
  fields: InputField[];
  create: (values: Record<string, string>) => Promise<unknown>;
  remove?: (row: T) => Promise<unknown>;
  rowKey: (row: T) => string | number;
}

function Resource<T>({ title, load, columns, fields, create, remove, rowKey }: ResourceProps<T>) {
  const queryClient = useQueryClient();
  const key = ['list', title];
  const list = useQuery({ queryKey: key, queryFn: load });
  const add = useMutation({ mutationFn: create, onSuccess: () => queryClient.invalidateQueries({ queryKey: key }) });
  const drop = useMutation({
    mutationFn: (row: T) => remove!(row),
    onSettled: () => queryClient.invalidateQueries({ queryKey: key }),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const values = Object.fromEntries([...new FormData(form).entries()].map(([k, v]) => [k, String(v)]));
    add.mutate(values, { onSuccess: () => form.reset() });
  };
  return (
    <section aria-labelledby="list-title">
      <h1 id="list-title">{title}</h1>
      <ErrorNote error={list.error ?? drop.error} />
      <table className="list">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.title} scope="col">
                {c.title}
              </th>
            ))}
            {remove && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {list.data?.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((c) => (
                <td key={c.title} className="wrap">
                  {c.cell(row)}
                </td>
              ))}
              {remove && (
                <td>
                  <button type="button" className="danger small" onClick={() => drop.mutate(row)}>
                    Remove
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.length === 0 && <p>None yet.</p>}
      <h2>Add</h2>
      <form className="inline" onSubmit={submit}>
        {fields.map((f) => (
          <div className="field" key={f.name}>
            <label htmlFor={`new-${f.name}`}>{f.label}</label>
            {f.options ? (
              <select id={`new-${f.name}`} name={f.name}>
                {f.options.map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            ) : (
              <input id={`new-${f.name}`} name={f.name} type={f.type ?? 'text'} required={f.required ?? true} />
            )}
          </div>
        ))}
        <button type="submit">Add</button>
      </form>
      <ErrorNote error={add.error} />
    </section>
  );
}

interface Group {
  id: number;
  name: string;
  type: number;
}
interface Field {
  id: number;
  type: number;
  translations: Record<string, { name?: string | null } | null>;
}
interface Channel {
  id: number;
  name: string;
  senderEmail: string | null;
}
interface BlacklistEntry {
  id: number;
  pattern: string;
  createdAt: string;
}
interface Suppression {
  id: string;
  email: string;
  type: string;
  reason: string | null;
  createdAt: number;
}

const data = <T,>(r: { data: T[] }) => r.data;
const json = (method: string, body?: unknown) => ({ method, json: body ?? {} });
const FIELD_TYPES: Array<[string, string]> = [
  ['1', 'text'],
  ['2', 'integer'],
  ['3', 'date'],
  ['4', 'boolean'],
  ['5', 'list of texts'],
  ['6', 'currency'],
];

const SECTIONS = [
  {
    path: 'groups',
    label: 'Groups',
    element: (
      <Resource<Group>
        title="Groups"
        load={() => api<{ data: Group[] }>('/api/v1/subscriberGroups?limit=100').then(data)}
        rowKey={(g) => g.id}
        columns={[
          { title: 'Id', cell: (g) => g.id },
          { title: 'Name', cell: (g) => g.name },
          { title: 'Type', cell: (g) => ({ 1: 'static', 2: 'dynamic', 3: 'external' })[g.type] ?? g.type },
        ]}
        fields={[{ name: 'name', label: 'Name' }]}
        create={(v) => api('/api/v1/subscriberGroups', json('POST', { name: v.name, type: 1 }))}
        remove={(g) => api(`/api/v1/subscriberGroups/${g.id}`, { method: 'DELETE' })}
      />
    ),
  },
  {
    path: 'fields',
    label: 'Custom fields',
    element: (
      <Resource<Field>
        title="Custom fields"
        load={() => api<{ data: Field[] }>('/api/v1/customerFields?limit=100').then(data)}
        rowKey={(f) => f.id}
        columns={[
          { title: 'Id', cell: (f) => f.id },
          { title: 'Name', cell: (f) => Object.values(f.translations).find((t) => t?.name)?.name ?? '' },
          { title: 'Type', cell: (f) => FIELD_TYPES.find(([n]) => Number(n) === f.type)?.[1] ?? f.type },
        ]}
        fields={[
          { name: 'name', label: 'Name (English)' },
          { name: 'type', label: 'Type', options: FIELD_TYPES },
        ]}
        create={(v) =>
          api(
            '/api/v1/customerFields',
            json('POST', { fieldType: 1, type: Number(v.type), translations: { en: { name: v.name } } }),
          )
        }
        remove={(f) => api(`/api/v1/customerFields/${f.id}`, { method: 'DELETE' })}
      />
    ),
  },
  {
    path: 'channels',
    label: 'Channels',
    element: (
      <Resource<Channel>
        title="Channels"
        load={() => api<{ data: Channel[] }>('/api/v1/channels?limit=100').then(data)}
        rowKey={(c) => c.id}
        columns={[
          { title: 'Id', cell: (c) => c.id },
          { title: 'Name', cell: (c) => c.name },
          { title: 'Sender', cell: (c) => c.senderEmail ?? '' },
        ]}
        fields={[
          { name: 'name', label: 'Name' },
          { name: 'senderEmail', label: 'Sender email', type: 'email' },
        ]}
        create={(v) => api('/api/v1/channels', json('POST', v))}
        remove={(c) => api(`/api/v1/channels/${c.id}`, { method: 'DELETE' })}
      />
    ),
  },
  {
    path: 'blacklist',
    label: 'Blacklist',
    element: (
      <Resource<BlacklistEntry>
        title="Blacklist"
        load={() => api<{ data: BlacklistEntry[] }>('/api/v1/blacklist?limit=100').then(data)}
        rowKey={(b) => b.id}
        columns={[
          { title: 'Pattern', cell: (b) => b.pattern },
          { title: 'Added', cell: (b) => b.createdAt },
        ]}
        fields={[{ name: 'pattern', label: 'Address or *@domain' }]}
        create={(v) => api('/api/v1/blacklist', json('POST', v))}
        remove={(b) => api(`/api/v1/blacklist/${b.id}`, { method: 'DELETE' })}
      />
    ),
  },
  {
    path: 'suppressions',
    label: 'Suppressions',
    element: (
      <Resource<Suppression>
        title="Suppressions"
        load={() => api<{ data: Suppression[] }>('/v1/suppression/list?size=100').then(data)}
        rowKey={(s) => s.id}
        columns={[
          { title: 'Email', cell: (s) => s.email },
          { title: 'Type', cell: (s) => s.type },
          { title: 'Reason', cell: (s) => s.reason ?? '' },
          { title: 'Since', cell: (s) => new Date(s.createdAt).toLocaleString() },
        ]}
        fields={[
          { name: 'email', label: 'Email', type: 'email' },
          { name: 'reason', label: 'Reason', required: false },
        ]}
        create={(v) =>
          api('/v1/suppressions', json('POST', { email: v.email, type: 'manual', reason: v.reason || undefined }))
        }
        remove={(s) => api(`/v1/suppressions/${encodeURIComponent(s.id)}`, { method: 'DELETE' })}
      />
    ),
  },
];

export function Lists() {
  return (
    <>
      <nav aria-label="Lists" className="subnav">
        {SECTIONS.map((s) => (
          <NavLink key={s.path} to={`/lists/${s.path}`}>
            {s.label}
          </NavLink>
        ))}
      </nav>
      <Routes>
        {SECTIONS.map((s) => (
          <Route key={s.path} path={s.path} element={s.element} />
        ))}
        <Route path="*" element={<Navigate to="groups" replace />} />
      </Routes>
    </>
  );
}
