// The Teams settings: the app from the secrets, the seven endpoint settings all or none, never an empty app id.
import { describe, expect, it } from 'vitest';
import { botFrameworkSettings } from '../../src/adapters/teams/channel.js';
import { teamsSettings } from '../../src/compose.js';
import { loadConfig, TEAMS_ENDPOINT_SETTINGS } from '../../src/config.js';
import { staticSecrets } from '../support/harness.js';

const endpoints = Object.fromEntries(TEAMS_ENDPOINT_SETTINGS.map((k) => [k, `https://login.example/${k}`]));

describe('Teams settings', () => {
  it('takes the seven Bot Framework endpoint settings all together, or refuses to start', () => {
    expect(loadConfig(endpoints)).toMatchObject(endpoints);
    const { CallerId: _, ...six } = endpoints;
    expect(() => loadConfig(six)).toThrow(/^invalid configuration: CallerId: the Bot Framework endpoint settings go together/);
    expect(loadConfig({}).TEAMS_APP_TYPE).toBe('SingleTenant');
    expect(() => loadConfig({ TEAMS_APP_TYPE: 'Anything' })).toThrow(/TEAMS_APP_TYPE/);
  });

  it('has no Teams channel without an app id, and refuses half an app', async () => {
    const config = loadConfig(endpoints);
    expect(await teamsSettings(config, staticSecrets({}))).toBeUndefined();
    await expect(teamsSettings(config, staticSecrets({ teamsAppPassword: 'pw' }))).rejects.toThrow(/TEAMS_APP_ID: required/);
    await expect(teamsSettings(config, staticSecrets({ teamsAppId: 'app' }))).rejects.toThrow(/TEAMS_APP_PASSWORD: required/);
    await expect(teamsSettings(config, staticSecrets({ teamsAppId: 'app', teamsAppPassword: 'pw' }))).rejects.toThrow(/TEAMS_TENANT_ID: required/);
    const s = await teamsSettings(config, staticSecrets({ teamsAppId: 'app', teamsAppPassword: 'pw', teamsTenantId: 'tenant' }));
    expect(s).toMatchObject({ appId: 'app', password: 'pw', tenantId: 'tenant', appType: 'SingleTenant', intervalMs: 500, endpoints });
    expect(botFrameworkSettings(s!)).toMatchObject({ MicrosoftAppId: 'app', MicrosoftAppPassword: 'pw', MicrosoftAppTenantId: 'tenant', MicrosoftAppType: 'SingleTenant', ...endpoints });
    expect(() => botFrameworkSettings({ ...s!, appId: '' })).toThrow(/app id/);
  });

  it('reads nothing from the endpoint settings unless all seven are set', async () => {
    const s = await teamsSettings(loadConfig({}), staticSecrets({ teamsAppId: 'app', teamsAppPassword: 'pw', teamsTenantId: 'tenant' }));
    expect(s?.endpoints).toBeUndefined();
  });
});
