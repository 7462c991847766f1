/** What `opencae start` prints: where everything is, the demo tenant, and commands to try. */
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { RunningStack, StartConfig } from '../commands/start.js';
import { demoFilePath } from './demo-file.js';

/** A path as the user would type it from here. */
function shown(path: string): string {
  const near = relative(process.cwd(), path);
  return near && !near.startsWith('..') ? near : path;
}

export function startBanner(
  config: StartConfig,
  stack: Pick<RunningStack, 'tenant' | 'api' | 'newPasswords'>,
) {
  const base = config.issuerUrl;
  const data = shown(config.dataDir);
  const credentials = join(config.dataDir, 'admin.json');
  const lines = [
    `OpenCAE issuer listening on ${base}`,
    `  console:        ${base}/console/`,
    ...(stack.api
      ? [`  sample API:     ${stack.api.url}/me  (CAE-enabled, audience ${stack.tenant?.api.audience})`]
      : []),
    `  discovery:      ${base}/.well-known/openid-configuration`,
    `  admin API:     ${base}/admin/v1  (OpenAPI: ${base}/admin/v1/openapi.json)`,
    `  shared signals: ${base}/.well-known/ssf-configuration`,
    `  storage:        ${config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `${data}/pgdata`}${stack.api && config.redisUrl ? '; sample API revocation state in Redis (REDIS_URL)' : ''}`,
    ...(existsSync(credentials) ? [`  admin credentials: ${shown(credentials)}`] : []),
  ];
  const tenant = stack.tenant;
  if (tenant && stack.api) {
    const file = shown(demoFilePath(config.dataDir));
    const password = (username: string) => {
      const fresh = stack.newPasswords.find((user) => user.username === username);
      return fresh ? `password ${fresh.password}  (shown once; kept in ${file})` : `password in ${file}`;
    };
    const module = file.startsWith('/') ? file : `./${file}`;
    const json = (path: string) => `$(node -p "require('${module}').${path}")`;
    const me = `${stack.api.url}/me`;
    lines.push(
      '',
      `Demo tenant (credentials in ${file}, mode 0600):`,
      `  member  ${tenant.member.username}   ${password(tenant.member.username)}`,
      `  guest   ${tenant.guest.username}    ${password(tenant.guest.username)}`,
      `  admin   ${tenant.administrator.username}     ${password(tenant.administrator.username)}  (signs in to the console)`,
      `  daemon  ${tenant.daemon.client_id}  (app role ${tenant.api.role} on ${tenant.api.audience})`,
      `  policy  "${tenant.policy.name}" (enabled): trusted location "${tenant.named_location.name}" = 127.0.0.1, ::1`,
      '',
      'Try it from another terminal in this folder:',
      '  # a workload identity gets a long-lived CAE token (it declares the cp1 capability)',
      `  CID=${json('daemon.client_id')}; SECRET=${json('daemon.client_secret')}`,
      `  TOKEN=$(curl -s -u "$CID:$SECRET" ${base}/token -d grant_type=client_credentials \\`,
      `    -d scope=${tenant.api.audience}/.default --data-urlencode 'claims={"access_token":{"xms_cc":{"values":["cp1"]}}}' \\`,
      `    | node -p "JSON.parse(require('fs').readFileSync(0, 'utf8')).access_token")`,
      `  curl -s ${me} -H "Authorization: Bearer $TOKEN"     # 200: the claims; exp is about a day away`,
      '  # its secret leaks: reset it; the API refuses the token at the next request',
      `  npx opencae apps reset-secret "$CID" --data ${data}`,
      `  curl -si ${me} -H "Authorization: Bearer $TOKEN"    # 401 error="insufficient_claims"`,
      '',
      `  npx opencae users disable ${tenant.member.username} --data ${data}    # users, risk, sessions: npx opencae users --help`,
      '  npx opencae demo                                  # the whole scenario, narrated and timed',
      `  console: ${base}/console/ (sign in as ${tenant.administrator.username})`,
    );
  }
  lines.push('Press Ctrl-C to stop.', '');
  return lines.join('\n');
}
