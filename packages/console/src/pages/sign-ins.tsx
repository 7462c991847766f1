import { useState } from 'react';
import { api, type Page, query } from '../api.ts';
import { href, useRoute } from '../router.ts';
import type { SignIn } from '../types.ts';
import { Badge, ErrorMessage, Field, formatTime, LoadMore, PageTitle, TableRegion, useLoad } from '../ui.tsx';

interface Filters {
  from: string;
  to: string;
  principal: string;
  app: string;
  api: string;
  correlation_id: string;
  cae: string;
  result: string;
}

const EMPTY: Filters = {
  from: '',
  to: '',
  principal: '',
  app: '',
  api: '',
  correlation_id: '',
  cae: '',
  result: '',
};

function toQuery(filters: Filters, cursor?: string) {
  const iso = (value: string) => (value ? new Date(value).toISOString() : undefined);
  return query({ ...filters, from: iso(filters.from), to: iso(filters.to), cursor, limit: 50 });
}

export function SignInsPage() {
  const route = useRoute();
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const { data, error, setData } = useLoad(
    () => api<Page<SignIn>>('GET', `/sign-ins${toQuery(filters)}`),
    [filters],
  );
  const selected = route[1];

  async function more(cursor: string) {
    const page = await api<Page<SignIn>>('GET', `/sign-ins${toQuery(filters, cursor)}`);
    setData((previous) => ({
      items: [...(previous?.items ?? []), ...page.items],
      next_cursor: page.next_cursor,
    }));
  }

  return (
    <>
      <PageTitle>Sign-in logs</PageTitle>
      <form
        className="card form filters"
        aria-label="Filter sign-ins"
        onSubmit={(event) => {
          event.preventDefault();
          const form = new FormData(event.currentTarget);
          setFilters(
            Object.fromEntries(
              Object.keys(EMPTY).map((key) => [key, String(form.get(key) ?? '').trim()]),
            ) as unknown as Filters,
          );
        }}
      >
        <div className="grid">
          <Field label="From">{(id) => <input id={id} name="from" type="datetime-local" />}</Field>
          <Field label="To">{(id) => <input id={id} name="to" type="datetime-local" />}</Field>
          <Field label="Principal (id or name)">{(id) => <input id={id} name="principal" />}</Field>
          <Field label="Application (client_id)">{(id) => <input id={id} name="app" />}</Field>
          <Field label="API (audience)">{(id) => <input id={id} name="api" />}</Field>
          <Field label="Correlation id (x-request-id)">
            {(id) => <input id={id} name="correlation_id" />}
          </Field>
          <Field label="CAE token">
            {(id) => (
              <select id={id} name="cae" defaultValue="">
                <option value="">Any</option>
                <option value="true">Yes</option>
                <option value="false">No</option>
              </select>
            )}
          </Field>
          <Field label="Result">
            {(id) => (
              <select id={id} name="result" defaultValue="">
                <option value="">Any</option>
                <option value="success">Success</option>
                <option value="failure">Failure</option>
              </select>
            )}
          </Field>
        </div>
        <button type="submit" className="primary">
          Apply filters
        </button>
      </form>
      <ErrorMessage error={error} />
      {selected ? <SignInDetail id={selected} /> : null}
      {data ? (
        <TableRegion label="Sign-ins">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Principal</th>
              <th scope="col">Application</th>
              <th scope="col">API</th>
              <th scope="col">CAE token</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((signIn) => (
              <tr key={signIn.id} className={signIn.id === selected ? 'selected' : undefined}>
                <td>
                  <a href={href('sign-ins', signIn.id)}>{formatTime(signIn.time)}</a>
                </td>
                <td>
                  {signIn.principal?.name ?? signIn.principal?.id ?? '—'}
                  {signIn.principal ? (
                    <span className="muted"> ({signIn.principal.type.replace('_', ' ')})</span>
                  ) : null}
                </td>
                <td>{signIn.app?.name ?? signIn.app?.client_id ?? '—'}</td>
                <td className="mono">{signIn.api_audience ?? '—'}</td>
                <td>{signIn.cae_token ? <Badge tone="good">Yes</Badge> : 'No'}</td>
                <td>
                  {signIn.result === 'success' ? (
                    <Badge tone="good">success</Badge>
                  ) : (
                    <>
                      <Badge tone="bad">failure</Badge>{' '}
                      <span className="muted">{signIn.failure_reason ?? signIn.error_code}</span>
                    </>
                  )}
                </td>
              </tr>
            ))}
            {data.items.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No sign-in matches.
                </td>
              </tr>
            ) : null}
          </tbody>
        </TableRegion>
      ) : null}
      <LoadMore cursor={data?.next_cursor} onMore={(cursor) => void more(cursor)} />
    </>
  );
}

function SignInDetail({ id }: { id: string }) {
  const { data, error } = useLoad(() => api<SignIn>('GET', `/sign-ins/${encodeURIComponent(id)}`), [id]);
  return (
    <section className="card detail" aria-labelledby="sign-in-detail">
      <div className="page-title">
        <h2 id="sign-in-detail">Sign-in details</h2>
        <a href={href('sign-ins')}>Close</a>
      </div>
      <ErrorMessage error={error} />
      {data ? (
        <>
          <dl className="facts">
            <dt>Time</dt>
            <dd>{formatTime(data.time)}</dd>
            <dt>Result</dt>
            <dd>
              {data.result}
              {data.error_code ? ` (${data.error_code})` : ''}
            </dd>
            {data.failure_reason ? (
              <>
                <dt>Failure reason</dt>
                <dd>{data.failure_reason}</dd>
              </>
            ) : null}
            <dt>Principal</dt>
            <dd>
              {data.principal
                ? `${data.principal.name ?? ''} ${data.principal.id ?? ''} (${data.principal.type})`
                : '—'}
            </dd>
            <dt>Application</dt>
            <dd>{data.app ? `${data.app.name ?? ''} ${data.app.client_id}` : '—'}</dd>
            <dt>API</dt>
            <dd className="mono">{data.api_audience ?? '—'}</dd>
            <dt>Grant type</dt>
            <dd>{data.grant_type ?? '—'}</dd>
            <dt>IP address (seen by the issuer)</dt>
            <dd className="mono">{data.issuer_ip ?? '—'}</dd>
            <dt>IP address (seen by the resource)</dt>
            <dd className="mono">{data.resource_ip ?? '—'}</dd>
            <dt>Client capability</dt>
            <dd>{data.client_capabilities.join(', ') || 'none'}</dd>
            <dt>CAE token</dt>
            <dd>{data.cae_token ? 'Yes' : 'No'}</dd>
            <dt>Token lifetime</dt>
            <dd>{data.lifetime_seconds === null ? '—' : `${Math.round(data.lifetime_seconds / 60)} min`}</dd>
            <dt>Correlation id</dt>
            <dd className="mono">{data.correlation_id ?? '—'}</dd>
          </dl>
          <h3>Conditional Access</h3>
          {data.conditional_access.length === 0 ? (
            <p className="muted">No policy was evaluated.</p>
          ) : (
            <TableRegion label="Conditional Access results">
              <thead>
                <tr>
                  <th scope="col">Policy</th>
                  <th scope="col">State</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Controls</th>
                </tr>
              </thead>
              <tbody>
                {data.conditional_access.map((policy, index) => (
                  <tr key={String(policy.policyId ?? index)}>
                    <td>{String(policy.policyName ?? policy.policyId ?? '—')}</td>
                    <td>{String(policy.state ?? '—')}</td>
                    <td>
                      {String(policy.outcome ?? '—')}
                      {policy.reason ? ` (${String(policy.reason)})` : ''}
                    </td>
                    <td>{Array.isArray(policy.controls) ? policy.controls.join(', ') : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </TableRegion>
          )}
        </>
      ) : null}
    </section>
  );
}
