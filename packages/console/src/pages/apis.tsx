import { api, type Page } from '../api.ts';
import type { Api } from '../types.ts';
import {
  ActionForm,
  Badge,
  ConfirmAction,
  ErrorMessage,
  Field,
  formValue,
  list,
  PageTitle,
  TableRegion,
  useLoad,
  useNotify,
} from '../ui.tsx';

export function ApisPage() {
  const { data, error, reload } = useLoad(() => api<Page<Api>>('GET', '/apis?limit=200'), []);
  const notify = useNotify();

  async function toggleCae(item: Api) {
    try {
      const updated = await api<Api>('PATCH', `/apis/${item.id}`, { cae_enabled: !item.cae_enabled });
      notify(`CAE ${updated.cae_enabled ? 'enabled' : 'disabled'} for ${updated.audience}.`);
    } catch (caught) {
      notify(caught instanceof Error ? caught.message : String(caught));
    }
    reload();
  }

  return (
    <>
      <PageTitle>APIs</PageTitle>
      <ActionForm
        label="Register an API"
        submitLabel="Register API"
        onSubmit={async (form) => {
          const created = await api<Api>('POST', '/apis', {
            audience: formValue(form, 'audience'),
            name: formValue(form, 'name') || undefined,
            cae_enabled: new FormData(form).get('cae_enabled') === 'on',
            scopes: list(formValue(form, 'scopes')),
            app_roles: list(formValue(form, 'app_roles')),
          });
          form.reset();
          reload();
          return `API ${created.audience} registered.`;
        }}
      >
        <div className="grid">
          <Field label="Audience" hint="An absolute URI, e.g. api://orders">
            {(id, hint) => (
              <input
                id={id}
                name="audience"
                required
                maxLength={512}
                aria-describedby={hint}
                placeholder="api://orders"
              />
            )}
          </Field>
          <Field label="Name">{(id) => <input id={id} name="name" maxLength={256} />}</Field>
          <Field label="Delegated scopes" hint="Comma-separated, e.g. read, write">
            {(id, hint) => <input id={id} name="scopes" aria-describedby={hint} />}
          </Field>
          <Field label="App roles" hint="Comma-separated, for app-only tokens">
            {(id, hint) => <input id={id} name="app_roles" aria-describedby={hint} />}
          </Field>
        </div>
        <label className="inline">
          <input type="checkbox" name="cae_enabled" defaultChecked /> CAE-enabled (long-lived tokens with
          xms_cc for cp1 clients; the API enforces events)
        </label>
      </ActionForm>
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="APIs">
          <thead>
            <tr>
              <th scope="col">API</th>
              <th scope="col">Scopes / roles</th>
              <th scope="col">CAE</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((item) => (
              <tr key={item.id}>
                <td>
                  <strong>{item.name}</strong> {item.built_in ? <Badge tone="neutral">built-in</Badge> : null}
                  <div className="mono">{item.audience}</div>
                </td>
                <td>
                  <div>scopes: {item.scopes.join(', ') || '—'}</div>
                  <div>roles: {item.app_roles.join(', ') || '—'}</div>
                </td>
                <td>
                  <label className="switch">
                    <input
                      type="checkbox"
                      checked={item.cae_enabled}
                      onChange={() => void toggleCae(item)}
                      aria-label={`CAE for ${item.audience}`}
                    />
                    <span>{item.cae_enabled ? 'on' : 'off'}</span>
                  </label>
                </td>
                <td>
                  {item.built_in ? null : (
                    <ConfirmAction
                      small
                      danger
                      label="Delete"
                      title={`Delete the API ${item.audience}?`}
                      description={
                        <p>Its grants are removed; applications can no longer get tokens for it.</p>
                      }
                      onConfirm={async () => {
                        await api('DELETE', `/apis/${item.id}`);
                        reload();
                        return `API ${item.audience} deleted.`;
                      }}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
    </>
  );
}
