import { useState } from 'react';
import { ApiError, api } from '../api.ts';
import type { Policy, RiskLevel } from '../types.ts';
import {
  Badge,
  ConfirmAction,
  ErrorMessage,
  Field,
  list,
  PageTitle,
  TableRegion,
  useLoad,
  useNotify,
} from '../ui.tsx';

type PolicyInput = Omit<Policy, 'id'>;
const RISK: RiskLevel[] = ['none', 'low', 'medium', 'high'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads the form into a policy document; the same rules as the issuer, so mistakes show before saving. */
export function readPolicy(form: HTMLFormElement): { policy: PolicyInput; problems: string[] } {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const risks = (name: string) => data.getAll(name).map(String) as RiskLevel[];
  const locationsInclude = list(text('locations_include'));
  const capability = text('client_capability');
  const policy: PolicyInput = {
    name: text('name'),
    description: text('description'),
    state: text('state') as Policy['state'],
    assignments: {
      users: { include: list(text('users_include')), exclude: list(text('users_exclude')) },
      groups: { include: list(text('groups_include')), exclude: list(text('groups_exclude')) },
      servicePrincipals: { include: list(text('sps_include')), exclude: list(text('sps_exclude')) },
    },
    targetApis: { include: list(text('apis_include')), exclude: list(text('apis_exclude')) },
    conditions: {
      ...(locationsInclude.length
        ? { locations: { include: locationsInclude, exclude: list(text('locations_exclude')) } }
        : {}),
      ...(risks('user_risk').length ? { userRiskLevels: risks('user_risk') } : {}),
      ...(risks('sp_risk').length ? { servicePrincipalRiskLevels: risks('sp_risk') } : {}),
      ...(capability ? { clientCapability: capability as 'cp1Declared' | 'cp1NotDeclared' } : {}),
    },
    grantControls: { block: text('grant') === 'block', requireMfa: text('grant') === 'requireMfa' },
    sessionControls: { caeMode: (text('cae_mode') || 'default') as Policy['sessionControls']['caeMode'] },
  };
  const problems: string[] = [];
  if (!policy.name) problems.push('Name: required.');
  const { users, groups, servicePrincipals } = policy.assignments;
  if (users.include.length + groups.include.length + servicePrincipals.include.length === 0)
    problems.push('Assignments: include at least one user, group, Guests, service principal or All.');
  const ids = (values: string[], words: string[], field: string) => {
    const bad = values.filter((value) => !words.includes(value) && !UUID.test(value));
    if (bad.length)
      problems.push(
        `${field}: ${bad.join(', ')} is not an object id${words.length ? ` or ${words.join('/')}` : ''}.`,
      );
  };
  ids(users.include, ['All', 'Guests'], 'Users to include');
  ids(users.exclude, ['Guests'], 'Users to exclude');
  ids(groups.include, [], 'Groups to include');
  ids(groups.exclude, [], 'Groups to exclude');
  ids(servicePrincipals.include, ['All'], 'Service principals to include');
  ids(servicePrincipals.exclude, [], 'Service principals to exclude');
  if (policy.targetApis.include.length === 0)
    problems.push('Target APIs: name at least one API audience, or All.');
  if (policy.conditions.locations) {
    ids(policy.conditions.locations.include, ['All', 'AllTrusted'], 'Locations to include');
    ids(policy.conditions.locations.exclude, ['AllTrusted'], 'Locations to exclude');
  }
  if (
    !policy.grantControls.block &&
    !policy.grantControls.requireMfa &&
    policy.sessionControls.caeMode === 'default'
  )
    problems.push('Controls: the policy has no effect; choose block, require MFA or a CAE mode.');
  if (policy.grantControls.requireMfa && servicePrincipals.include.length > 0)
    problems.push(
      'Controls: workload identities cannot perform MFA; assign MFA policies to users and groups only.',
    );
  return { policy, problems };
}

export function PoliciesPage() {
  const { data, error, reload } = useLoad(
    () => api<{ items: Policy[] }>('GET', '/conditional-access/policies'),
    [],
  );
  const [editing, setEditing] = useState<Policy | 'new'>();
  return (
    <>
      <PageTitle
        actions={
          <button type="button" className="primary" onClick={() => setEditing('new')}>
            New policy
          </button>
        }
      >
        Conditional Access policies
      </PageTitle>
      <ErrorMessage error={error} />
      {editing ? (
        <PolicyForm
          key={editing === 'new' ? 'new' : editing.id}
          policy={editing === 'new' ? undefined : editing}
          onDone={() => {
            setEditing(undefined);
            reload();
          }}
        />
      ) : null}
      {data ? (
        <TableRegion label="Policies">
          <thead>
            <tr>
              <th scope="col">Policy</th>
              <th scope="col">State</th>
              <th scope="col">Targets</th>
              <th scope="col">Controls</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((policy) => (
              <tr key={policy.id}>
                <td>
                  <strong>{policy.name}</strong>
                  <div className="muted">{policy.description}</div>
                </td>
                <td>
                  <Badge
                    tone={
                      policy.state === 'enabled' ? 'good' : policy.state === 'reportOnly' ? 'warn' : 'neutral'
                    }
                  >
                    {policy.state === 'reportOnly' ? 'report-only' : policy.state}
                  </Badge>
                </td>
                <td className="mono">{policy.targetApis.include.join(', ')}</td>
                <td>
                  {[
                    policy.grantControls.block ? 'block' : '',
                    policy.grantControls.requireMfa ? 'require MFA' : '',
                    policy.sessionControls.caeMode !== 'default'
                      ? `CAE ${policy.sessionControls.caeMode}`
                      : '',
                  ]
                    .filter(Boolean)
                    .join(', ')}
                </td>
                <td className="row-actions">
                  <button type="button" className="secondary small" onClick={() => setEditing(policy)}>
                    Edit
                  </button>
                  <ConfirmAction
                    small
                    danger
                    label="Delete"
                    title={`Delete the policy ${policy.name}?`}
                    description={
                      <p>Resources are told of the change and re-evaluate tokens issued under it.</p>
                    }
                    onConfirm={async () => {
                      await api('DELETE', `/conditional-access/policies/${policy.id}`);
                      reload();
                      return `Policy ${policy.name} deleted.`;
                    }}
                  />
                </td>
              </tr>
            ))}
            {data.items.length === 0 ? (
              <tr>
                <td colSpan={5} className="muted">
                  No policy yet.
                </td>
              </tr>
            ) : null}
          </tbody>
        </TableRegion>
      ) : null}
    </>
  );
}

function PolicyForm({ policy, onDone }: { policy: Policy | undefined; onDone: () => void }) {
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<unknown>();
  const notify = useNotify();
  const join = (values: string[] | undefined) => (values ?? []).join(', ');
  const grant = policy?.grantControls.block
    ? 'block'
    : policy?.grantControls.requireMfa
      ? 'requireMfa'
      : 'none';
  return (
    <form
      className="card form"
      aria-label={policy ? `Edit ${policy.name}` : 'New policy'}
      noValidate
      onSubmit={async (event) => {
        event.preventDefault();
        const read = readPolicy(event.currentTarget);
        setProblems(read.problems);
        setError(undefined);
        if (read.problems.length) return;
        try {
          if (policy) await api('PUT', `/conditional-access/policies/${policy.id}`, read.policy);
          else await api('POST', '/conditional-access/policies', read.policy);
          notify(`Policy ${read.policy.name} saved.`);
          onDone();
        } catch (caught) {
          if (caught instanceof ApiError && caught.issues.length)
            setProblems(caught.issues.map((issue) => `${issue.path}: ${issue.message}`));
          else setError(caught);
        }
      }}
    >
      <h2>{policy ? `Edit ${policy.name}` : 'New policy'}</h2>
      <div className="grid">
        <Field label="Name">
          {(id) => <input id={id} name="name" required maxLength={200} defaultValue={policy?.name} />}
        </Field>
        <Field label="Description">
          {(id) => <input id={id} name="description" maxLength={2000} defaultValue={policy?.description} />}
        </Field>
        <Field label="State" hint="Report-only evaluates and logs the result without enforcing it">
          {(id, hint) => (
            <select id={id} name="state" defaultValue={policy?.state ?? 'reportOnly'} aria-describedby={hint}>
              <option value="reportOnly">Report-only</option>
              <option value="enabled">On</option>
              <option value="disabled">Off</option>
            </select>
          )}
        </Field>
      </div>
      <fieldset>
        <legend>Assignments (object ids, comma-separated)</legend>
        <div className="grid">
          <Field label="Users to include" hint="Ids, All or Guests">
            {(id, hint) => (
              <input
                id={id}
                name="users_include"
                aria-describedby={hint}
                defaultValue={join(policy?.assignments.users.include)}
              />
            )}
          </Field>
          <Field label="Users to exclude">
            {(id) => (
              <input id={id} name="users_exclude" defaultValue={join(policy?.assignments.users.exclude)} />
            )}
          </Field>
          <Field label="Groups to include">
            {(id) => (
              <input id={id} name="groups_include" defaultValue={join(policy?.assignments.groups.include)} />
            )}
          </Field>
          <Field label="Groups to exclude">
            {(id) => (
              <input id={id} name="groups_exclude" defaultValue={join(policy?.assignments.groups.exclude)} />
            )}
          </Field>
          <Field label="Service principals to include" hint="Ids or All">
            {(id, hint) => (
              <input
                id={id}
                name="sps_include"
                aria-describedby={hint}
                defaultValue={join(policy?.assignments.servicePrincipals.include)}
              />
            )}
          </Field>
          <Field label="Service principals to exclude">
            {(id) => (
              <input
                id={id}
                name="sps_exclude"
                defaultValue={join(policy?.assignments.servicePrincipals.exclude)}
              />
            )}
          </Field>
        </div>
      </fieldset>
      <fieldset>
        <legend>Target APIs and conditions</legend>
        <div className="grid">
          <Field label="APIs to include" hint="Audiences or All">
            {(id, hint) => (
              <input
                id={id}
                name="apis_include"
                aria-describedby={hint}
                defaultValue={join(policy?.targetApis.include) || 'All'}
              />
            )}
          </Field>
          <Field label="APIs to exclude">
            {(id) => <input id={id} name="apis_exclude" defaultValue={join(policy?.targetApis.exclude)} />}
          </Field>
          <Field
            label="Locations to include"
            hint="Named location ids, AllTrusted or All; empty = any location"
          >
            {(id, hint) => (
              <input
                id={id}
                name="locations_include"
                aria-describedby={hint}
                defaultValue={join(policy?.conditions.locations?.include)}
              />
            )}
          </Field>
          <Field label="Locations to exclude" hint="Named location ids or AllTrusted">
            {(id, hint) => (
              <input
                id={id}
                name="locations_exclude"
                aria-describedby={hint}
                defaultValue={join(policy?.conditions.locations?.exclude)}
              />
            )}
          </Field>
          <Field label="Client capability">
            {(id) => (
              <select
                id={id}
                name="client_capability"
                defaultValue={policy?.conditions.clientCapability ?? ''}
              >
                <option value="">Any</option>
                <option value="cp1Declared">cp1 declared</option>
                <option value="cp1NotDeclared">cp1 not declared</option>
              </select>
            )}
          </Field>
        </div>
        <div className="checks">
          <span>User risk:</span>
          {RISK.map((level) => (
            <label key={level} className="inline">
              <input
                type="checkbox"
                name="user_risk"
                value={level}
                defaultChecked={policy?.conditions.userRiskLevels?.includes(level)}
              />{' '}
              {level}
            </label>
          ))}
        </div>
        <div className="checks">
          <span>Service principal risk:</span>
          {RISK.map((level) => (
            <label key={level} className="inline">
              <input
                type="checkbox"
                name="sp_risk"
                value={level}
                defaultChecked={policy?.conditions.servicePrincipalRiskLevels?.includes(level)}
              />{' '}
              {level}
            </label>
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Controls</legend>
        <div className="grid">
          <Field label="Grant">
            {(id) => (
              <select id={id} name="grant" defaultValue={grant}>
                <option value="none">No grant control</option>
                <option value="block">Block access</option>
                <option value="requireMfa">Require MFA</option>
              </select>
            )}
          </Field>
          <Field label="CAE mode (session)">
            {(id) => (
              <select id={id} name="cae_mode" defaultValue={policy?.sessionControls.caeMode ?? 'default'}>
                <option value="default">Default</option>
                <option value="strictLocation">Strict location enforcement</option>
                <option value="disabled">Disable CAE</option>
              </select>
            )}
          </Field>
        </div>
      </fieldset>
      {problems.length ? (
        <div className="error" role="alert">
          <p>The policy cannot be saved:</p>
          <ul>
            {problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      ) : null}
      <ErrorMessage error={error} />
      <div className="dialog-actions">
        <button type="button" className="secondary" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Save policy
        </button>
      </div>
    </form>
  );
}
