import { describe, expect, it } from 'vitest';
import { webhooksEnvSchema } from '../../../config/webhooks.config.js';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it('hides userinfo and secret-looking query parameters, and keeps the rest', () => {
    expect(redactUrl('https://user:hunter2@hooks.example.com/in?token=abc&access_token=d&api_key=e&sig=f&page=2')).toBe(
      'https://REDACTED:REDACTED@hooks.example.com/in?token=REDACTED&access_token=REDACTED&api_key=REDACTED&sig=REDACTED&page=2',
    );
    expect(redactUrl('https://hooks.example.com/in?Secret=x&Password=y&auth=z')).not.toMatch(/=x|=y|=z/);
    expect(redactUrl('https://hooks.example.com/in')).toBe('https://hooks.example.com/in');
    expect(redactUrl('not a url hunter2')).toBe('[invalid URL]');
  });
});

describe('WEBHOOK_URLS', () => {
  const secret = `whsec_${Buffer.from('a-test-secret-of-some-length!!').toString('base64')}`;
  it('refuses a URL that carries credentials in its userinfo, without echoing them', () => {
    const result = webhooksEnvSchema.safeParse({
      WEBHOOK_URLS: 'https://ok.example.com/a,https://u:hunter2@hooks.example.com/b',
      WEBHOOK_SECRET: secret,
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).not.toContain('hunter2');
  });
  it('accepts URLs without userinfo', () => {
    expect(
      webhooksEnvSchema.safeParse({ WEBHOOK_URLS: 'https://ok.example.com/a?token=t', WEBHOOK_SECRET: secret }).success,
    ).toBe(true);
  });
});
