import { useEffect, useState } from 'react';
import { NavLink, Navigate, Route, Routes, useNavigate } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { currentSession, signOut, whenSignedOut, type Session } from './api.ts';
import { SignIn } from './pages/SignIn.tsx';
import { Inbox } from './pages/Inbox.tsx';
import { Messages } from './pages/Messages.tsx';
import { Overview } from './pages/Overview.tsx';
import { Templates } from './pages/Templates.tsx';
import { Domains } from './pages/Domains.tsx';
import { Subscribers } from './pages/Subscribers.tsx';
import { Mailings } from './pages/Mailings.tsx';
import { Webhooks } from './pages/Webhooks.tsx';
import { Keys } from './pages/Keys.tsx';
import { Lists } from './pages/Lists.tsx';

const PAGES = [
  { path: '/inbox', label: 'Inbox', element: <Inbox /> },
  { path: '/messages', label: 'Messages', element: <Messages /> },
  { path: '/overview', label: 'Overview', element: <Overview /> },
  { path: '/templates', label: 'Templates', element: <Templates /> },
  { path: '/domains', label: 'Sending domains', element: <Domains /> },
  { path: '/subscribers', label: 'Subscribers', element: <Subscribers /> },
  { path: '/lists', label: 'Groups & lists', element: <Lists /> },
  { path: '/mailings', label: 'Mailings', element: <Mailings /> },
  { path: '/webhooks', label: 'Webhooks', element: <Webhooks /> },
  { path: '/keys', label: 'API keys', element: <Keys /> },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  useEffect(() => {
    whenSignedOut(() => setSession(null));
    void currentSession().then(setSession);
  }, []);

  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null)
    return (
      <Routes>
        <Route
          path="*"
          element={
            <SignIn
              onSignedIn={(s) => {
                setSession(s);
                navigate('/inbox');
              }}
            />
          }
        />
      </Routes>
    );

  const leave = async (everywhere: boolean) => {
    await signOut(everywhere);
    queryClient.clear();
    setSession(null);
    navigate('/sign-in');
  };

  return (
    <div className="layout">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Posthorn</span>
        <span className="who" title="signed in as">
          {session.name} · account {session.accountId}
        </span>
        <button type="button" onClick={() => void leave(false)}>
          Sign out
        </button>
        <button type="button" className="secondary" onClick={() => void leave(true)}>
          Sign out everywhere
        </button>
      </header>
      <nav aria-label="Sections" className="side">
        <ul>
          {PAGES.map((p) => (
            <li key={p.path}>
              <NavLink to={p.path}>{p.label}</NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" tabIndex={-1}>
        <Routes>
          {PAGES.map((p) => (
            <Route key={p.path} path={`${p.path}/*`} element={p.element} />
          ))}
          <Route path="*" element={<Navigate to="/inbox" replace />} />
        </Routes>
      </main>
    </div>
  );
}
