// Builds Slack requests signed the way Slack signs them (v0 HMAC-SHA256 over "v0:timestamp:body").
import { createHmac } from 'node:crypto';

export function sign(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature, 'content-type': 'application/x-www-form-urlencoded' };
}

export function slashCommandBody(o: { userId: string; text: string; responseUrl: string; triggerId?: string; channelId?: string; teamId?: string; appId?: string }): string {
  // Field set of a real slash-command POST (api.slack.com/interactivity/slash-commands, "Preparing your app").
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: o.teamId ?? 'T0001',
    team_domain: 'sagebio',
    channel_id: o.channelId ?? 'C2147483705',
    channel_name: 'test',
    user_id: o.userId,
    user_name: o.userId.toLowerCase(),
    command: '/scicomp',
    text: o.text,
    api_app_id: o.appId ?? 'A123456',
    is_enterprise_install: 'false',
    response_url: o.responseUrl,
    trigger_id: o.triggerId ?? `${Date.now()}.${Math.floor(Math.random() * 1e9)}.${Math.random().toString(16).slice(2)}`,
  }).toString();
}

export function interactionBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function buttonClick(o: { userId: string; actionId: string; value: string; responseUrl: string; actionTs?: string; teamId?: string; appId?: string }): unknown {
  // Shape of a real block_actions payload (api.slack.com/reference/interaction-payloads/block-actions).
  return {
    type: 'block_actions',
    team: { id: o.teamId ?? 'T0001', domain: 'sagebio' },
    user: { id: o.userId, username: o.userId.toLowerCase(), team_id: o.teamId ?? 'T0001' },
    api_app_id: o.appId ?? 'A123456',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: '1700000001.000100', channel_id: 'D0001', is_ephemeral: true },
    trigger_id: `${Date.now()}.1.${Math.random().toString(16).slice(2)}`,
    channel: { id: 'D0001', name: 'directmessage' },
    response_url: o.responseUrl,
    actions: [
      {
        action_id: o.actionId,
        block_id: 'b1',
        text: { type: 'plain_text', text: 'Confirm', emoji: true },
        value: o.value,
        type: 'button',
        action_ts: o.actionTs ?? `${Date.now() / 1000}`,
      },
    ],
  };
}
