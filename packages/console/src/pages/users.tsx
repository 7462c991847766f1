import { useState } from 'react';
import { api, type Page, query } from '../api.ts';
import type { RiskLevel, User } from '../types.ts';
import {
  ActionForm,
  Badge,
  ConfirmAction,
  ErrorMessage,
  Field,
  formValue,
  LoadMore,
  PageTitle,
  TableRegion,
  useLoad,
} from '../ui.tsx';

type ActionResult = { user: User; changed: boolean; events: number; temporary_password?: string };

const reasonBody = (values: Record<string, string>) => (values.reason ? { reason: values.reason } : {});

export function UsersPage() {
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const { data, error, reload, setData } = useLoad(
    () => api<Page<User>>('GET', `/users${query({ include_deleted: includeDeleted, limit: 50 })}`),
    [includeDeleted],
  );
  const [created, setCreated] = useState<string>();

  async function more(next: string) {
    const page = await api<Page<User>>(
      'GET',
      `/users${query({ include_deleted: includeDeleted, cursor: next })}`,
    );
    setData((previous) => ({
      items: [...(previous?.items ?? []), ...page.items],
      next_cursor: page.next_cursor,
    }));
  }

  const act = (user: User, path: string, verb: string) => async (values: Record<string, string>) => {
    const result = await api<ActionResult>('POST', `/users/${user.id}/${path}`, reasonBody(values));
    reload();
    return `${user.username}: ${verb}${result.changed ? '' : ' (no change)'}; ${result.events} security event(s).`;
  };

  return (
    <>
      <PageTitle>Users</PageTitle>
      <ActionForm
        label="Create a user"
        submitLabel="Create user"
        onSubmit={async (form) => {
          const user = await api<User>('POST', '/users', {
            username: formValue(form, 'username'),
            display_name: formValue(form, 'display_name') || undefined,
            email: formValue(form, 'email') || undefined,
            password: formValue(form, 'password') || undefined,
            kind: formValue(form, 'kind'),
          });
          form.reset();
          setCreated(user.username);
          reload();
          return `User ${user.username} created.`;
        }}
      >
        <div className="grid">
          <Field label="Username">
            {(id) => <input id={id} name="username" required maxLength={256} autoComplete="off" />}
          </Field>
          <Field label="Display name">{(id) => <input id={id} name="display_name" maxLength={256} />}</Field>
          <Field label="Email">{(id) => <input id={id} name="email" type="email" maxLength={254} />}</Field>
          <Field label="Password" hint="At least 8 characters">
            {(id, hint) => (
              <input
                id={id}
                name="password"
                type="password"
                minLength={8}
                maxLength={256}
                autoComplete="new-password"
                aria-describedby={hint}
              />
            )}
          </Field>
          <Field label="Kind">
            {(id) => (
              <select id={id} name="kind" defaultValue="member">
                <option value="member">Member</option>
                <option value="guest">Guest</option>
              </select>
            )}
          </Field>
        </div>
      </ActionForm>
      {created ? <p className="muted">Last created: {created}</p> : null}
      <label className="inline">
        <input
          type="checkbox"
          checked={includeDeleted}
          onChange={(event) => setIncludeDeleted(event.target.checked)}
        />{' '}
        Show deleted users
      </label>
      <ErrorMessage error={error} />
      {data ? (
        <TableRegion label="Users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Status</th>
              <th scope="col">MFA</th>
              <th scope="col">Risk</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((user) => (
              <tr key={user.id}>
                <td>
                  <strong>{user.username}</strong>
                  <div className="muted">
                    {user.display_name}
                    {user.kind === 'guest' ? ' · guest' : ''}
                    {user.email ? ` · ${user.email}` : ''}
                  </div>
                  <div className="muted mono">{user.id}</div>
                </td>
                <td>
                  {user.deleted_at ? (
                    <Badge tone="bad">deleted</Badge>
                  ) : user.enabled ? (
                    <Badge tone="good">enabled</Badge>
                  ) : (
                    <Badge tone="bad">disabled</Badge>
                  )}
                </td>
                <td>
                  {user.mfa_required
                    ? user.mfa_enrolled
                      ? 'required, enrolled'
                      : 'required'
                    : 'not required'}
                </td>
                <td>
                  <Badge
                    tone={
                      user.risk_level === 'high' ? 'bad' : user.risk_level === 'none' ? 'neutral' : 'warn'
                    }
                  >
                    {user.risk_level}
                  </Badge>
                </td>
                <td>{user.deleted_at ? null : <UserActions user={user} act={act} reload={reload} />}</td>
              </tr>
            ))}
          </tbody>
        </TableRegion>
      ) : null}
      <LoadMore cursor={data?.next_cursor} onMore={(next) => void more(next)} />
    </>
  );
}

function UserActions({
  user,
  act,
  reload,
}: {
  user: User;
  act: (user: User, path: string, verb: string) => (values: Record<string, string>) => Promise<string>;
  reload: () => void;
}) {
  const who = <strong>{user.username}</strong>;
  return (
    <fieldset className="row-actions" aria-label={`Actions for ${user.username}`}>
      {user.enabled ? (
        <ConfirmAction
          small
          danger
          label="Disable"
          title={`Disable ${user.username}?`}
          description={
            <p>
              {who} can no longer sign in; every API receiving events revokes their tokens at once (RISC
              account-disabled).
            </p>
          }
          withReason
          onConfirm={act(user, 'disable', 'disabled')}
        />
      ) : (
        <ConfirmAction
          small
          label="Enable"
          title={`Enable ${user.username}?`}
          description={<p>{who} can sign in again (RISC account-enabled).</p>}
          withReason
          onConfirm={act(user, 'enable', 'enabled')}
        />
      )}
      <ConfirmAction
        small
        label="Revoke sessions"
        title={`Revoke all sessions of ${user.username}?`}
        description={
          <p>
            Refresh tokens and sessions of {who} stop working; APIs reject their tokens (CAEP
            session-revoked).
          </p>
        }
        withReason
        onConfirm={act(user, 'revoke-sessions', 'sessions revoked')}
      />
      <ConfirmAction
        small
        label="Reset password"
        title={`Reset the password of ${user.username}?`}
        description={
          <p>A new password is generated and shown once; existing sessions end (CAEP credential-change).</p>
        }
        withReason
        onConfirm={async (values) => {
          const result = await api<ActionResult>(
            'POST',
            `/users/${user.id}/reset-password`,
            reasonBody(values),
          );
          reload();
          return `Password of ${user.username} reset. Temporary password: ${result.temporary_password ?? '(as set)'}`;
        }}
      />
      {user.mfa_required ? null : (
        <ConfirmAction
          small
          label="Require MFA"
          title={`Require MFA for ${user.username}?`}
          description={
            <p>{who} must set up and use a second factor at the next sign-in (CAEP credential-change).</p>
          }
          withReason
          onConfirm={act(user, 'require-mfa', 'MFA required')}
        />
      )}
      <ConfirmAction
        small
        label="Set risk"
        title={`Set the risk level of ${user.username}`}
        description={
          <p>High risk refuses new tokens unless a policy allows them (CAEP risk-level-change).</p>
        }
        withReason
        fields={
          <Field label="Risk level">
            {(id) => (
              <select id={id} name="level" defaultValue={user.risk_level === 'high' ? 'none' : 'high'}>
                {(['none', 'low', 'medium', 'high'] as RiskLevel[]).map((level) => (
                  <option key={level} value={level}>
                    {level}
                  </option>
                ))}
              </select>
            )}
          </Field>
        }
        onConfirm={async (values) => {
          await api('PUT', `/users/${user.id}/risk`, { level: values.level, ...reasonBody(values) });
          reload();
          return `Risk of ${user.username} set to ${values.level}.`;
        }}
      />
      <ConfirmAction
        small
        danger
        label="Delete"
        title={`Delete ${user.username}?`}
        description={
          <p>
            {who} is deleted; APIs drop their access at once (RISC account-purged). This cannot be undone.
          </p>
        }
        withReason
        onConfirm={async (values) => {
          await api('DELETE', `/users/${user.id}${query({ reason: values.reason })}`);
          reload();
          return `${user.username} deleted.`;
        }}
      />
    </fieldset>
  );
}
