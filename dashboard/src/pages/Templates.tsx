// Templates: the list, and an editor whose preview the server renders from the unsaved draft
// (POST /v1/template/{id}/preview with `draft`), with substitution data to try.
import { useEffect, useState, type FormEvent } from 'react';
import { Link, Route, Routes, useNavigate, useParams } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, qs } from '../api.ts';
import { dateTime } from '../format.ts';
import { ErrorNote } from '../components.tsx';

interface Template {
  id: string;
  name: string;
  subject: string | null;
  html: string | null;
  text: string | null;
  updatedAt: number;
}

interface Preview {
  subject: string | null;
  html: string | null;
  text: string | null;
}

export function Templates() {
  return (
    <Routes>
      <Route index element={<TemplateList />} />
      <Route path=":id" element={<TemplateEditor />} />
    </Routes>
  );
}

function TemplateList() {
  const [search, setSearch] = useState('');
  const navigate = useNavigate();
  const list = useQuery({
    queryKey: ['templates', search],
    queryFn: () => api<{ count: number; data: Template[] }>(`/v1/template${qs({ search, size: 100 })}`),
  });
  const create = useMutation({
    mutationFn: (input: { id: string; name: string }) =>
      api('/v1/template', { method: 'POST', json: { ...input, html: '<p>Hello {{name}}</p>' } }),
    onSuccess: (_r, input) => navigate(`/templates/${encodeURIComponent(input.id)}`),
  });
  const submit = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    create.mutate({ id: String(f.get('id')), name: String(f.get('name')) });
  };
  return (
    <section aria-labelledby="templates-title">
      <h1 id="templates-title">Templates</h1>
      <label className="search">
        Search
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      <ErrorNote error={list.error} />
      <table className="list">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {list.data?.data.map((t) => (
            <tr key={t.id}>
              <td>
                <Link to={`/templates/${encodeURIComponent(t.id)}`}>{t.id}</Link>
              </td>
              <td>{t.name}</td>
              <td>{dateTime(t.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>New template</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          Id
          <input name="id" required pattern="[A-Za-z0-9][A-Za-z0-9._-]{0,63}" />
        </label>
        <label>
          Name
          <input name="name" required />
        </label>
        <button type="submit">Create</button>
      </form>
      <ErrorNote error={create.error} />
    </section>
  );
}

function TemplateEditor() {
  const { id = '' } = useParams();
  const queryClient = useQueryClient();
  const path = `/v1/template/${encodeURIComponent(id)}`;
  const template = useQuery({ queryKey: ['template', id], queryFn: () => api<Template>(path) });
  const [draft, setDraft] = useState<{ name: string; subject: string; html: string; text: string } | null>(null);
  const [data, setData] = useState('{"name": "Ada"}');
  const [preview, setPreview] = useState<Preview | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);

  useEffect(() => {
    if (template.data && !draft)
      setDraft({
        name: template.data.name,
        subject: template.data.subject ?? '',
        html: template.data.html ?? '',
        text: template.data.text ?? '',
      });
  }, [template.data, draft]);

  // The live preview: rendered by the server from the draft, 300 ms after the last keystroke.
  useEffect(() => {
    if (!draft) return;
    const timer = setTimeout(() => {
      let substitutionData: Record<string, unknown>;
      try {
        substitutionData = JSON.parse(data || '{}') as Record<string, unknown>;
      } catch {
        setPreviewError(new Error('The substitution data is not valid JSON.'));
        return;
      }
      api<Preview>(`${path}/preview`, {
        method: 'POST',
        json: { substitutionData, draft: { subject: draft.subject, html: draft.html, text: draft.text } },
      })
        .then((p) => {
          setPreview(p);
          setPreviewError(null);
        })
        .catch(setPreviewError);
    }, 300);
    return () => clearTimeout(timer);
  }, [draft, data, path]);

  const save = useMutation({
    mutationFn: () =>
      api<Template>(path, {
        method: 'PUT',
        json: {
          name: draft!.name,
          subject: draft!.subject || null,
          html: draft!.html || null,
          text: draft!.text || null,
        },
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['templates'] }),
  });

  const field = (name: 'name' | 'subject' | 'html' | 'text') => ({
    value: draft?.[name] ?? '',
    onChange: (e: { target: { value: string } }) => setDraft((d) => (d ? { ...d, [name]: e.target.value } : d)),
  });

  return (
    <section aria-labelledby="template-title">
      <p>
        <Link to="/templates">← Templates</Link>
      </p>
      <h1 id="template-title">Template {id}</h1>
      <ErrorNote error={template.error} />
      {draft && (
        <div className="editor">
          <form
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <label>
              Name
              <input {...field('name')} required />
            </label>
            <label>
              Subject
              <input {...field('subject')} />
            </label>
            <label htmlFor="template-html">HTML</label>
            <textarea id="template-html" {...field('html')} rows={14} spellCheck={false} className="mono" />
            <label htmlFor="template-text">Text (derived from the HTML when empty)</label>
            <textarea id="template-text" {...field('text')} rows={4} />
            <label htmlFor="template-data">Substitution data to preview with (JSON)</label>
            <textarea
              id="template-data"
              value={data}
              onChange={(e) => setData(e.target.value)}
              rows={3}
              className="mono"
            />
            <button type="submit" disabled={save.isPending}>
              Save
            </button>
            {save.isSuccess && <span role="status"> Saved.</span>}
            <ErrorNote error={save.error} />
          </form>
          <div className="preview" aria-labelledby="preview-title">
            <h2 id="preview-title">Preview</h2>
            <ErrorNote error={previewError} />
            {preview && (
              <>
                <p>
                  <strong>Subject:</strong> <span data-testid="preview-subject">{preview.subject ?? '(none)'}</span>
                </p>
                <iframe className="mail-frame" title="Rendered HTML preview" sandbox="" srcDoc={preview.html ?? ''} />
                <details>
                  <summary>Text part</summary>
                  <pre className="source">{preview.text ?? ''}</pre>
                </details>
              </>
            )}
          </div>
        </div>
      )}
    </section>
  );
}
