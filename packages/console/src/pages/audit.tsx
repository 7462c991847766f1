import { useState } from 'react';
import { api, type Page, query } from '../api.ts';
import type { AuditEntry } from '../types.ts';
import { ErrorMessage, Field, formatTime, LoadMore, PageTitle, TableRegion, useLoad } from '../ui.tsx';

interface Filters {
  action: string;
  actor: string;
  target_type: string;
}

export function AuditPage() {
  const [filters, setFilters] = useState<Filters>({ action: '', actor: '', target_type: '' });
  const { data, error, setData } = useLoad(
    () => api<Page<AuditEntry>>('GET', `/audit-log${query({ ...filters })}`),
    [filters],
  );
  async function more(cursor: string) {
    const page = await api<Page<AuditEntry>>('GET', `/audit-log${query({ ...filters, cursor })}`);
    setData((previous) => ({
      items: [...(previous?.items ?? []), ...page.items],
      next_cursor: page.next_cursor,
    }));
  }
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <form
        className="card form filters"
        aria-label="Filter the audit log"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          setFilters({
            action: String(form.get('action') ?? '').trim(),
            actor: String(form.get('actor') ?? '').trim(),
            target_type: String(form.get('target_type') ?? '').trim(),
          });
        }}
      >
        <div className="grid">
          <Field label="Action" hint="e.g. user.disable">
            {(id, hint) => <input id={id} name="action" aria-describedby={hint} />}
          </Field>
          <Field label="Actor">{(id) => <input id={id} name="actor" />}</Field>
          <Field label="Target type" hint="user, application, api…">
            {(id, hint) => <input id={id} name="target_type" aria-describedby={hint} />}
          </Field>
        </div>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="Audit log">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((entry) => (
              <tr key={entry.id}>
                <td>{formatTime(entry.at)}</td>
                <td className="mono">{entry.actor}</td>
                <td>{entry.action}</td>
                <td>
                  {entry.target_type} <span className="mono muted">{entry.target_id}</span>
                </td>
                <td>
                  <details>
                    <summary>Before / after{entry.txn ? ' · events' : ''}</summary>
                    {entry.txn ? <p className="mono">txn {entry.txn}</p> : null}
                    <pre>{JSON.stringify({ before: entry.before, after: entry.after }, null, 2)}</pre>
                  </details>
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
      <LoadMore cursor={data?.next_cursor} onMore={(cursor) => void more(cursor)} />
    </>
  );
}
