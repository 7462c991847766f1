/** The console shell: sign-in, navigation, the current page and the status line. */
import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { configureApi, UNAUTHORIZED_EVENT } from './api.ts';
import {
  completeSignIn,
  currentSession,
  describeSignInError,
  isSignInCallback,
  type Session,
  signOut,
  startSignIn,
} from './auth.ts';
import { type ConsoleConfig, loadConfig } from './config.ts';
import { ApisPage } from './pages/apis.tsx';
import { ApplicationsPage } from './pages/applications.tsx';
import { AuditPage } from './pages/audit.tsx';
import { GroupsPage } from './pages/groups.tsx';
import { LocationsPage } from './pages/locations.tsx';
import { OverviewPage } from './pages/overview.tsx';
import { PoliciesPage } from './pages/policies.tsx';
import { SignInsPage } from './pages/sign-ins.tsx';
import { StreamsPage } from './pages/streams.tsx';
import { UsersPage } from './pages/users.tsx';
import { href, useRoute } from './router.ts';
import { NotifyProvider } from './ui.tsx';

const PAGES: { path: string; title: string; render: () => ReactNode }[] = [
  { path: 'overview', title: 'Overview', render: () => <OverviewPage /> },
  { path: 'users', title: 'Users', render: () => <UsersPage /> },
  { path: 'groups', title: 'Groups', render: () => <GroupsPage /> },
  { path: 'applications', title: 'Applications', render: () => <ApplicationsPage /> },
  { path: 'apis', title: 'APIs', render: () => <ApisPage /> },
  { path: 'named-locations', title: 'Named locations', render: () => <LocationsPage /> },
  { path: 'policies', title: 'Conditional Access', render: () => <PoliciesPage /> },
  { path: 'sign-ins', title: 'Sign-in logs', render: () => <SignInsPage /> },
  { path: 'streams', title: 'Streams', render: () => <StreamsPage /> },
  { path: 'audit', title: 'Audit log', render: () => <AuditPage /> },
];

type State =
  | { phase: 'loading' }
  | { phase: 'signed-out'; config: ConsoleConfig; error?: string }
  | { phase: 'signed-in'; config: ConsoleConfig; session: Session }
  | { phase: 'broken'; error: string };

/** Runs once per page load, even if React mounts the app twice (StrictMode in development). */
let starting: Promise<State> | undefined;

function start(): Promise<State> {
  starting ??= (async (): Promise<State> => {
    let config: ConsoleConfig;
    try {
      config = await loadConfig();
    } catch (error) {
      return { phase: 'broken', error: describeSignInError(error) };
    }
    try {
      const session = isSignInCallback() ? await completeSignIn(config) : currentSession();
      return session ? { phase: 'signed-in', config, session } : { phase: 'signed-out', config };
    } catch (error) {
      return { phase: 'signed-out', config, error: describeSignInError(error) };
    }
  })();
  return starting;
}

export function App() {
  const [state, setState] = useState<State>({ phase: 'loading' });

  useEffect(() => {
    void start().then(setState);
  }, []);

  useEffect(() => {
    const expired = () =>
      setState((current) =>
        current.phase === 'signed-in'
          ? { phase: 'signed-out', config: current.config, error: 'Your session has ended; sign in again.' }
          : current,
      );
    window.addEventListener(UNAUTHORIZED_EVENT, expired);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, expired);
  }, []);

  if (state.phase === 'loading') return <p className="centered">Loading…</p>;
  if (state.phase === 'broken')
    return (
      <main className="centered">
        <h1>OpenCAE console</h1>
        <p className="error" role="alert">
          {state.error}
        </p>
      </main>
    );
  if (state.phase === 'signed-out') return <SignIn config={state.config} error={state.error} />;
  configureApi(state.config.issuer, state.session.accessToken);
  return (
    <Shell
      session={state.session}
      onSignOut={() => {
        signOut();
        setState({ phase: 'signed-out', config: state.config });
      }}
    />
  );
}

function SignIn({ config, error }: { config: ConsoleConfig; error?: string | undefined }) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState(error);
  return (
    <main className="centered sign-in">
      <h1>OpenCAE console</h1>
      <p>Sign in with an administrator account of {config.issuer}.</p>
      {failure ? (
        <p className="error" role="alert">
          {failure}
        </p>
      ) : null}
      <button
        type="button"
        className="primary"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          try {
            await startSignIn(config);
          } catch (caught) {
            setFailure(describeSignInError(caught));
            setBusy(false);
          }
        }}
      >
        {busy ? 'Redirecting…' : 'Sign in'}
      </button>
    </main>
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  const [message, setMessage] = useState('');
  const [menuOpen, setMenuOpen] = useState(false);
  const notify = useCallback((text: string) => setMessage(text), []);
  const page = PAGES.find((candidate) => candidate.path === route[0]) ?? PAGES[0]!;

  // biome-ignore lint/correctness/useExhaustiveDependencies: close the menu and clear the status line on navigation
  useEffect(() => {
    setMenuOpen(false);
    setMessage('');
    document.title = `${page.title} · OpenCAE console`;
  }, [page.path]);

  return (
    <NotifyProvider value={notify}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">OpenCAE</span>
        <button
          type="button"
          className="menu secondary small"
          aria-expanded={menuOpen}
          aria-controls="navigation"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          Menu
        </button>
        <span className="who">
          {session.name}{' '}
          <button type="button" className="secondary small" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <div className="layout">
        <nav id="navigation" aria-label="Console" className={menuOpen ? 'open' : undefined}>
          <ul>
            {PAGES.map((candidate) => (
              <li key={candidate.path}>
                <a
                  href={href(candidate.path)}
                  aria-current={candidate.path === page.path ? 'page' : undefined}
                >
                  {candidate.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main">
          <p className="status" role="status" aria-live="polite">
            {message}
          </p>
          <div key={page.path}>{page.render()}</div>
        </main>
      </div>
    </NotifyProvider>
  );
}
