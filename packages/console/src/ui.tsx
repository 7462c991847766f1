/** Shared pieces of the console: data loading, messages, fields, tables and the confirmation dialog. */
import {
  createContext,
  type FormEvent,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useId,
  useRef,
  useState,
} from 'react';
import { ApiError } from './api.ts';

export function useLoad<T>(loader: () => Promise<T>, deps: readonly unknown[]) {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [version, setVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller lists what the loader depends on
  useEffect(() => {
    let live = true;
    setLoading(true);
    loader()
      .then((value) => {
        if (!live) return;
        setData(value);
        setError(undefined);
      })
      .catch((caught: unknown) => live && setError(caught))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
  }, [...deps, version]);
  const reload = useCallback(() => setVersion((value) => value + 1), []);
  return { data, error, loading, reload, setData };
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError && error.status === 403)
    return `${error.message} (this account is not an administrator)`;
  return error instanceof Error ? error.message : String(error);
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {errorText(error)}
    </p>
  );
}

/** Announcements (action results) read out by screen readers and shown as a status line. */
const NotifyContext = createContext<(message: string) => void>(() => {});
export const NotifyProvider = NotifyContext.Provider;
export const useNotify = () => useContext(NotifyContext);

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // Moves focus to the page heading on navigation, so keyboard and screen reader users start there.
  useEffect(() => heading.current?.focus(), []);
  return (
    <div className="page-title">
      <h1 tabIndex={-1} ref={heading}>
        {children}
      </h1>
      {actions ? <div className="actions">{actions}</div> : null}
    </div>
  );
}

export function Field({
  label,
  hint,
  children,
}: {
  label: string;
  hint?: string;
  children: (id: string, describedBy?: string) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children(id, hintId)}
      {hint ? (
        <small id={hintId} className="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
    <section className="table-wrap" aria-label={label} tabIndex={0}>
      <table>{children}</table>
    </section>
  );
}

export function LoadMore({
  cursor,
  onMore,
}: {
  cursor: string | undefined;
  onMore: (cursor: string) => void;
}) {
  if (!cursor) return null;
  return (
    <button type="button" className="secondary" onClick={() => onMore(cursor)}>
      Load more
    </button>
  );
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export function Badge({
  tone,
  children,
}: {
  tone: 'good' | 'bad' | 'warn' | 'neutral';
  children: ReactNode;
}) {
  return <span className={`badge ${tone}`}>{children}</span>;
}

export interface ConfirmProps {
  /** The button that opens the dialog. */
  label: string;
  title: string;
  description: ReactNode;
  confirmLabel?: string;
  danger?: boolean;
  /** Ask for a reason (recorded in the audit log and the events). */
  withReason?: boolean;
  /** Extra fields; their values reach onConfirm by name. */
  fields?: ReactNode;
  /** Runs the action; its message is announced. */
  onConfirm: (values: Record<string, string>) => Promise<string | undefined>;
  small?: boolean;
}

/** A critical action: one click opens a modal dialog (focus trapped, Escape cancels), one more confirms. */
export function ConfirmAction(props: ConfirmProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const notify = useNotify();
  const titleId = useId();
  const descriptionId = useId();

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const values = Object.fromEntries(
      [...new FormData(event.currentTarget).entries()].map(([key, value]) => [key, String(value)]),
    );
    setBusy(true);
    setError(undefined);
    try {
      const message = await props.onConfirm(values);
      dialog.current?.close();
      if (message) notify(message);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <button
        type="button"
        className={`${props.danger ? 'danger' : 'secondary'}${props.small ? ' small' : ''}`}
        onClick={() => {
          setError(undefined);
          dialog.current?.showModal();
        }}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId} aria-describedby={descriptionId}>
        <form onSubmit={submit}>
          <h2 id={titleId}>{props.title}</h2>
          <div id={descriptionId}>{props.description}</div>
          {props.fields}
          {props.withReason ? (
            <Field label="Reason (recorded in the audit log)">
              {(id) => <input id={id} name="reason" maxLength={1000} />}
            </Field>
          ) : null}
          <ErrorMessage error={error} />
          <div className="dialog-actions">
            <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
              Cancel
            </button>
            <button type="submit" className={props.danger ? 'danger' : 'primary'} disabled={busy}>
              {busy ? 'Working…' : (props.confirmLabel ?? props.label)}
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** A form that reports its own errors and busy state. */
export function ActionForm({
  label,
  submitLabel,
  onSubmit,
  children,
}: {
  label: string;
  submitLabel: string;
  onSubmit: (form: HTMLFormElement) => Promise<string | undefined>;
  children: ReactNode;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const notify = useNotify();
  return (
    <form
      className="card form"
      aria-label={label}
      onSubmit={async (event) => {
        event.preventDefault();
        const form = event.currentTarget;
        setBusy(true);
        setError(undefined);
        try {
          const message = await onSubmit(form);
          if (message) notify(message);
        } catch (caught) {
          setError(caught);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2>{label}</h2>
      {children}
      <ErrorMessage error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Working…' : submitLabel}
      </button>
    </form>
  );
}

/** Splits a comma- or newline-separated list. */
export function list(value: FormDataEntryValue | null | undefined): string[] {
  return String(value ?? '')
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter(Boolean);
}

export function formValue(form: HTMLFormElement, name: string): string {
  return String(new FormData(form).get(name) ?? '').trim();
}
