import { describe, expect, it } from 'vitest';
import { PushUrlGuard } from './push-url-guard.js';

const refused = { code: 'push_url_refused' };

describe('PushUrlGuard', () => {
  const production = new PushUrlGuard({ devMode: false, allowList: [] });
  const development = new PushUrlGuard({ devMode: true, allowList: [] });

  it('accepts https to public addresses', async () => {
    await expect(production.check('https://93.184.215.14/events')).resolves.toBeInstanceOf(URL);
    await expect(production.check('https://[2606:4700::1111]/events')).resolves.toBeInstanceOf(URL);
  });

  it('refuses http, other schemes, credentials and fragments', async () => {
    for (const url of [
      'http://93.184.215.14/x',
      'ftp://93.184.215.14/x',
      'https://u:p@93.184.215.14/x',
      'https://93.184.215.14/x#f',
      'nonsense',
    ])
      await expect(production.check(url), url).rejects.toMatchObject(refused);
  });

  it('refuses private, loopback, link-local (metadata), CGNAT, reserved and mapped private addresses', async () => {
    for (const url of [
      'https://10.0.0.1/',
      'https://172.16.5.4/',
      'https://192.168.1.1/',
      'https://127.0.0.1/',
      'https://169.254.169.254/latest/meta-data',
      'https://[fe80::1]/',
      'https://[fd00:ec2::254]/',
      'https://[::ffff:10.0.0.1]/',
      'https://100.64.0.1/',
      'https://0.0.0.0/',
      'https://[::1]/',
    ])
      await expect(production.check(url), url).rejects.toMatchObject(refused);
  });

  it('resolves host names and refuses one that points at loopback', async () => {
    await expect(production.check('https://localhost/events')).rejects.toMatchObject(refused);
  });

  it('allows http to loopback only in development mode', async () => {
    await expect(development.check('http://127.0.0.1:8080/events')).resolves.toBeInstanceOf(URL);
    await expect(development.check('http://localhost:8080/events')).resolves.toBeInstanceOf(URL);
    await expect(development.check('http://10.0.0.1/events')).rejects.toMatchObject(refused);
    await expect(development.check('https://169.254.169.254/')).rejects.toMatchObject(refused);
  });

  it('restricts to allow-listed hosts, which may be private, and opens CIDR ranges', async () => {
    const guard = new PushUrlGuard({
      devMode: false,
      allowList: ['localhost', '*.internal.test', '169.254.10.0/24'],
    });
    await expect(guard.check('https://localhost/events')).resolves.toBeInstanceOf(URL);
    await expect(guard.check('https://93.184.215.14/events')).rejects.toMatchObject(refused);
    const url = new URL('https://hooks.internal.test/x');
    expect(() => guard.checkAddress(url, '10.1.2.3')).not.toThrow();
    expect(() => guard.checkAddress(url, '169.254.169.254')).toThrow();
    expect(() => guard.checkAddress(url, '169.254.10.7')).not.toThrow();
    expect(() => guard.checkSyntax('https://evil.test.internal.test.evil/x')).toThrow();
    expect(() => new PushUrlGuard({ devMode: false, allowList: ['10.0.0.0/99'] })).toThrow(TypeError);
  });

  it('applies the address check inside the socket lookup (DNS rebinding)', async () => {
    const url = new URL('https://localhost/x');
    const result = await new Promise<Error | null>((resolve) =>
      production.lookupFor(url)('localhost', {}, (error) => resolve(error)),
    );
    expect(result).toMatchObject(refused);
  });
});
