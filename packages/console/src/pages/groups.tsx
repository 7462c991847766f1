import { useState } from 'react';
import { api, type Page } from '../api.ts';
import type { Group, User } from '../types.ts';
import {
  ActionForm,
  ConfirmAction,
  ErrorMessage,
  Field,
  formValue,
  PageTitle,
  TableRegion,
  useLoad,
} from '../ui.tsx';

export function GroupsPage() {
  const { data, error, reload } = useLoad(() => api<Page<Group>>('GET', '/groups?limit=200'), []);
  const [open, setOpen] = useState<Group>();
  return (
    <>
      <PageTitle>Groups</PageTitle>
      <ActionForm
        label="Create a group"
        submitLabel="Create group"
        onSubmit={async (form) => {
          const group = await api<Group>('POST', '/groups', {
            name: formValue(form, 'name'),
            description: formValue(form, 'description') || undefined,
          });
          form.reset();
          reload();
          return `Group ${group.name} created.`;
        }}
      >
        <div className="grid">
          <Field label="Name">{(id) => <input id={id} name="name" required maxLength={256} />}</Field>
          <Field label="Description">{(id) => <input id={id} name="description" maxLength={2000} />}</Field>
        </div>
      </ActionForm>
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="Groups">
          <thead>
            <tr>
              <th scope="col">Group</th>
              <th scope="col">Description</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((group) => (
              <tr key={group.id}>
                <td>
                  <strong>{group.name}</strong>
                  <div className="muted mono">{group.id}</div>
                </td>
                <td>{group.description}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="secondary small"
                    aria-expanded={open?.id === group.id}
                    onClick={() => setOpen(open?.id === group.id ? undefined : group)}
                  >
                    Members
                  </button>
                  <ConfirmAction
                    small
                    danger
                    label="Delete"
                    title={`Delete the group ${group.name}?`}
                    description={<p>Policies assigned through this group stop applying to its members.</p>}
                    onConfirm={async () => {
                      await api('DELETE', `/groups/${group.id}`);
                      reload();
                      return `Group ${group.name} deleted.`;
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
      {open ? <Members key={open.id} group={open} /> : null}
    </>
  );
}

function Members({ group }: { group: Group }) {
  const { data, error, reload } = useLoad(
    () => api<Page<User>>('GET', `/groups/${group.id}/members?limit=200`),
    [group.id],
  );
  return (
    <section className="card" aria-labelledby="members">
      <h2 id="members">Members of {group.name}</h2>
      <ErrorMessage error={error} />
      <ul className="plain">
        {data?.items.map((user) => (
          <li key={user.id}>
            {user.username}{' '}
            <ConfirmAction
              small
              label="Remove"
              title={`Remove ${user.username} from ${group.name}?`}
              description={<p>Policies assigned to the group no longer apply to this user.</p>}
              onConfirm={async () => {
                await api('DELETE', `/groups/${group.id}/members/${user.id}`);
                reload();
                return `${user.username} removed from ${group.name}.`;
              }}
            />
          </li>
        ))}
        {data && data.items.length === 0 ? <li className="muted">No members.</li> : null}
      </ul>
      <ActionForm
        label="Add a member"
        submitLabel="Add"
        onSubmit={async (form) => {
          const username = formValue(form, 'member');
          await api('PUT', `/groups/${group.id}/members/${encodeURIComponent(username)}`);
          form.reset();
          reload();
          return `${username} added to ${group.name}.`;
        }}
      >
        <Field label="Username or user id">{(id) => <input id={id} name="member" required />}</Field>
      </ActionForm>
    </section>
  );
}
