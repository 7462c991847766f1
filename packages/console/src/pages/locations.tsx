import { useState } from 'react';
import { api } from '../api.ts';
import type { NamedLocation } from '../types.ts';
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
} from '../ui.tsx';

export function LocationsPage() {
  const { data, error, reload } = useLoad(
    () => api<{ items: NamedLocation[] }>('GET', '/named-locations'),
    [],
  );
  const [editing, setEditing] = useState<NamedLocation>();
  return (
    <>
      <PageTitle>Named locations</PageTitle>
      <ActionForm
        key={editing?.id ?? 'new'}
        label={editing ? `Edit ${editing.name}` : 'Create a named location'}
        submitLabel={editing ? 'Save location' : 'Create location'}
        onSubmit={async (form) => {
          const body = {
            name: formValue(form, 'name'),
            trusted: new FormData(form).get('trusted') === 'on',
            ranges: list(formValue(form, 'ranges')),
          };
          const saved = editing
            ? await api<NamedLocation>('PUT', `/named-locations/${editing.id}`, body)
            : await api<NamedLocation>('POST', '/named-locations', body);
          setEditing(undefined);
          form.reset();
          reload();
          return `Named location ${saved.name} saved; resources receive the policy change.`;
        }}
      >
        <div className="grid">
          <Field label="Name">
            {(id) => <input id={id} name="name" required maxLength={200} defaultValue={editing?.name} />}
          </Field>
          <Field
            label="IP ranges"
            hint="CIDR ranges or addresses, one per line or comma-separated (IPv4 and IPv6)"
          >
            {(id, hint) => (
              <textarea
                id={id}
                name="ranges"
                required
                rows={3}
                aria-describedby={hint}
                defaultValue={editing?.ranges.join('\n')}
              />
            )}
          </Field>
        </div>
        <label className="inline">
          <input type="checkbox" name="trusted" defaultChecked={editing?.trusted} /> Trusted location
        </label>
        {editing ? (
          <button type="button" className="secondary" onClick={() => setEditing(undefined)}>
            Cancel editing
          </button>
        ) : null}
      </ActionForm>
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="Named locations">
          <thead>
            <tr>
              <th scope="col">Location</th>
              <th scope="col">Ranges</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((location) => (
              <tr key={location.id}>
                <td>
                  <strong>{location.name}</strong>{' '}
                  {location.trusted ? <Badge tone="good">trusted</Badge> : null}
                  <div className="mono muted">{location.id}</div>
                </td>
                <td className="mono">
                  {location.ranges.slice(0, 5).join(', ')}
                  {location.ranges.length > 5 ? ` … (${location.ranges.length} ranges)` : ''}
                </td>
                <td className="row-actions">
                  <button type="button" className="secondary small" onClick={() => setEditing(location)}>
                    Edit
                  </button>
                  <ConfirmAction
                    small
                    danger
                    label="Delete"
                    title={`Delete ${location.name}?`}
                    description={
                      <p>
                        Policies that name it must not use it any more; the issuer refuses the deletion
                        otherwise.
                      </p>
                    }
                    onConfirm={async () => {
                      await api('DELETE', `/named-locations/${location.id}`);
                      reload();
                      return `${location.name} deleted.`;
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
    </>
  );
}
