/** The console's settings, served by the issuer next to it (/console/config.json). */
export interface ConsoleConfig {
  issuer: string;
  client_id: string;
  redirect_uri: string;
  scope: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(new URL('config.json', document.baseURI), { cache: 'no-store' });
  const body = (await response.json().catch(() => ({}))) as Partial<ConsoleConfig> & {
    error_description?: string;
  };
  if (!response.ok || !body.issuer || !body.client_id || !body.redirect_uri || !body.scope)
    throw new Error(
      body.error_description ?? `the console settings could not be loaded (HTTP ${response.status})`,
    );
  return body as ConsoleConfig;
}
