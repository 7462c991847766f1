import { useState } from 'react';
import { api, type Page, query } from '../api.ts';
import type { Application, ClientSecret, Grant, RiskLevel } from '../types.ts';
import {
  ActionForm,
  Badge,
  ConfirmAction,
  ErrorMessage,
  Field,
  formatTime,
  formValue,
  list,
  PageTitle,
  TableRegion,
  useLoad,
} from '../ui.tsx';

const reasonBody = (values: Record<string, string>) => (values.reason ? { reason: values.reason } : {});

export function ApplicationsPage() {
  const { data, error, reload } = useLoad(() => api<Page<Application>>('GET', '/applications?limit=200'), []);
  const [secret, setSecret] = useState<{ app: string; value: string }>();
  const [open, setOpen] = useState<string>();

  return (
    <>
      <PageTitle>Applications &amp; service principals</PageTitle>
      <ActionForm
        label="Register an application"
        submitLabel="Register application"
        onSubmit={async (form) => {
          const api_ = formValue(form, 'grant_api');
          const created = await api<{ application: Application; client_secret?: ClientSecret }>(
            'POST',
            '/applications',
            {
              name: formValue(form, 'name'),
              credential: formValue(form, 'credential'),
              redirect_uris: list(formValue(form, 'redirect_uris')),
              grants: api_
                ? [
                    {
                      api: api_,
                      roles: list(formValue(form, 'grant_roles')),
                      scopes: list(formValue(form, 'grant_scopes')),
                    },
                  ]
                : [],
              ssf_receiver: new FormData(form).get('ssf_receiver') === 'on',
            },
          );
          form.reset();
          reload();
          if (created.client_secret?.value)
            setSecret({ app: created.application.name, value: created.client_secret.value });
          return `Application ${created.application.name} registered (client_id ${created.application.client_id}).`;
        }}
      >
        <div className="grid">
          <Field label="Name">{(id) => <input id={id} name="name" required maxLength={256} />}</Field>
          <Field label="Credential">
            {(id) => (
              <select id={id} name="credential" defaultValue="client_secret">
                <option value="client_secret">Client secret (confidential)</option>
                <option value="none">None (public client, needs a redirect URI)</option>
              </select>
            )}
          </Field>
          <Field label="Redirect URIs" hint="Comma-separated; leave empty for a daemon">
            {(id, hint) => <input id={id} name="redirect_uris" aria-describedby={hint} />}
          </Field>
          <Field label="Grant access to API" hint="Audience, e.g. api://orders">
            {(id, hint) => <input id={id} name="grant_api" aria-describedby={hint} />}
          </Field>
          <Field label="App roles on that API" hint="Comma-separated">
            {(id, hint) => <input id={id} name="grant_roles" aria-describedby={hint} />}
          </Field>
          <Field label="Delegated scopes on that API" hint="Comma-separated">
            {(id, hint) => <input id={id} name="grant_scopes" aria-describedby={hint} />}
          </Field>
        </div>
        <label className="inline">
          <input type="checkbox" name="ssf_receiver" /> Shared Signals receiver (may create streams)
        </label>
      </ActionForm>
      {secret ? (
        <div className="card secret" role="status">
          <p>
            Client secret of <strong>{secret.app}</strong> — copy it now, it is not shown again:
          </p>
          <code className="mono">{secret.value}</code>
          <button type="button" className="secondary small" onClick={() => setSecret(undefined)}>
            Done
          </button>
        </div>
      ) : null}
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="Applications">
          <thead>
            <tr>
              <th scope="col">Application</th>
              <th scope="col">Service principal</th>
              <th scope="col">Authentication</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((app) => (
              <tr key={app.id}>
                <td>
                  <strong>{app.name}</strong>
                  <div className="mono muted">client_id {app.client_id}</div>
                </td>
                <td>
                  {app.service_principal.enabled ? (
                    <Badge tone="good">enabled</Badge>
                  ) : (
                    <Badge tone="bad">disabled</Badge>
                  )}{' '}
                  <Badge tone={app.service_principal.risk_level === 'high' ? 'bad' : 'neutral'}>
                    risk {app.service_principal.risk_level}
                  </Badge>
                </td>
                <td>{app.token_endpoint_auth_method}</td>
                <td>
                  <ApplicationActions
                    app={app}
                    reload={reload}
                    onSecret={(value) => setSecret({ app: app.name, value })}
                    open={open === app.id}
                    toggle={() => setOpen(open === app.id ? undefined : app.id)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
      {open ? (
        <Credentials key={open} id={open} onSecret={(name, value) => setSecret({ app: name, value })} />
      ) : null}
    </>
  );
}

function ApplicationActions({
  app,
  reload,
  onSecret,
  open,
  toggle,
}: {
  app: Application;
  reload: () => void;
  onSecret: (value: string) => void;
  open: boolean;
  toggle: () => void;
}) {
  const sp = `/service-principals/${app.service_principal.id}`;
  const run = (path: string, verb: string) => async (values: Record<string, string>) => {
    await api('POST', `${sp}/${path}`, reasonBody(values));
    reload();
    return `${app.name}: ${verb}.`;
  };
  return (
    <fieldset className="row-actions" aria-label={`Actions for ${app.name}`}>
      <button type="button" className="secondary small" aria-expanded={open} onClick={toggle}>
        Credentials
      </button>
      {app.service_principal.enabled ? (
        <ConfirmAction
          small
          danger
          label="Disable"
          title={`Disable ${app.name}?`}
          description={
            <p>
              The service principal gets no new token and APIs reject its tokens at once (RISC
              account-disabled).
            </p>
          }
          withReason
          onConfirm={run('disable', 'disabled')}
        />
      ) : (
        <ConfirmAction
          small
          label="Enable"
          title={`Enable ${app.name}?`}
          description={<p>The service principal may get tokens again (RISC account-enabled).</p>}
          withReason
          onConfirm={run('enable', 'enabled')}
        />
      )}
      {app.token_endpoint_auth_method.startsWith('client_secret') ? (
        <ConfirmAction
          small
          label="Reset secret"
          title={`Reset the client secret of ${app.name}?`}
          description={
            <p>
              Every secret is revoked and a new one is shown once; tokens from the old secret are rejected
              (CAEP credential-change).
            </p>
          }
          withReason
          onConfirm={async (values) => {
            const result = await api<{ client_secret: ClientSecret }>(
              'POST',
              `/applications/${app.id}/reset-secret`,
              reasonBody(values),
            );
            if (result.client_secret.value) onSecret(result.client_secret.value);
            reload();
            return `Secret of ${app.name} reset.`;
          }}
        />
      ) : null}
      <ConfirmAction
        small
        label="Set risk"
        title={`Set the risk level of ${app.name}`}
        description={
          <p>High risk refuses new tokens unless a policy allows them (CAEP risk-level-change).</p>
        }
        withReason
        fields={
          <Field label="Risk level">
            {(id) => (
              <select id={id} name="level" defaultValue="high">
                {(['none', 'low', 'medium', 'high'] as RiskLevel[]).map((level) => (
                  <option key={level}>{level}</option>
                ))}
              </select>
            )}
          </Field>
        }
        onConfirm={async (values) => {
          await api('PUT', `${sp}/risk`, { level: values.level, ...reasonBody(values) });
          reload();
          return `Risk of ${app.name} set to ${values.level}.`;
        }}
      />
      <ConfirmAction
        small
        danger
        label="Delete"
        title={`Delete ${app.name}?`}
        description={
          <p>The service principal is deleted; APIs drop its access at once (RISC account-purged).</p>
        }
        withReason
        onConfirm={async (values) => {
          await api('DELETE', `${sp}${query({ reason: values.reason })}`);
          reload();
          return `${app.name} deleted.`;
        }}
      />
    </fieldset>
  );
}

function Credentials({ id, onSecret }: { id: string; onSecret: (app: string, value: string) => void }) {
  const { data, error, reload } = useLoad(async () => {
    const [app, secrets, grants] = await Promise.all([
      api<Application>('GET', `/applications/${id}`),
      api<{ items: ClientSecret[] }>('GET', `/applications/${id}/secrets`),
      api<{ items: Grant[] }>('GET', `/applications/${id}/grants`),
    ]);
    return { app, secrets: secrets.items, grants: grants.items };
  }, [id]);
  return (
    <section className="card" aria-labelledby="credentials">
      <h2 id="credentials">Credentials and API access{data ? ` of ${data.app.name}` : ''}</h2>
      <ErrorMessage error={error} />
      {data ? (
        <>
          <h3>Client secrets</h3>
          <ul className="plain">
            {data.secrets.map((secret) => (
              <li key={secret.id}>
                …{secret.hint} · created {formatTime(secret.created_at)}
                {secret.expires_at ? ` · expires ${formatTime(secret.expires_at)}` : ''}{' '}
                {secret.revoked_at ? (
                  <Badge tone="bad">revoked</Badge>
                ) : (
                  <ConfirmAction
                    small
                    danger
                    label="Revoke"
                    title="Revoke this client secret?"
                    description={
                      <p>Tokens obtained with it are rejected at once (CAEP credential-change).</p>
                    }
                    withReason
                    onConfirm={async (values) => {
                      await api(
                        'DELETE',
                        `/applications/${id}/secrets/${secret.id}${query({ reason: values.reason })}`,
                      );
                      reload();
                      return 'Secret revoked.';
                    }}
                  />
                )}
              </li>
            ))}
            {data.secrets.length === 0 ? <li className="muted">No secret.</li> : null}
          </ul>
          {data.app.token_endpoint_auth_method.startsWith('client_secret') ? (
            <ConfirmAction
              small
              label="Add a secret"
              title="Add a client secret?"
              description={<p>A new secret is created beside the others and shown once.</p>}
              onConfirm={async () => {
                const result = await api<{ client_secret: ClientSecret }>(
                  'POST',
                  `/applications/${id}/secrets`,
                  {},
                );
                if (result.client_secret.value) onSecret(data.app.name, result.client_secret.value);
                reload();
                return 'Secret added.';
              }}
            />
          ) : null}
          <h3>API access</h3>
          <ul className="plain">
            {data.grants.map((grant) => (
              <li key={grant.audience}>
                <span className="mono">{grant.audience}</span> — roles: {grant.roles.join(', ') || '—'};
                scopes: {grant.scopes.join(', ') || '—'}
              </li>
            ))}
            {data.grants.length === 0 ? <li className="muted">No API granted.</li> : null}
          </ul>
        </>
      ) : null}
    </section>
  );
}
