import { registerAs } from '@nestjs/config';
import { z } from 'zod';
import { int, list, parseEnv } from './env.js';

const httpUrls = z
  .string()
  .optional()
  .refine(
    (value) =>
      list(value).every((entry) => {
        try {
          return ['http:', 'https:'].includes(new URL(entry).protocol);
        } catch {
          return false;
        }
      }),
    { error: 'expected comma-separated http:// or https:// URLs' },
  )
  // Userinfo is never sent by fetch and would be logged: refuse it rather than drop it silently.
  // A receiver authenticates us by the signature; a token it insists on goes in the query.
  .refine(
    (value) =>
      list(value).every(
        (entry) => !URL.canParse(entry) || (new URL(entry).username === '' && new URL(entry).password === ''),
      ),
    {
      error:
        'a URL carries user:password@ credentials: they would not be sent; remove them (receivers verify the webhook-signature header)',
    },
  );

export const webhooksEnvSchema = z
  .object({
    WEBHOOK_URLS: httpUrls,
    WEBHOOK_SECRET: z
      .string()
      .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, { error: 'expected whsec_ followed by a base64 key' })
      .optional(),
    WEBHOOK_MAX_ATTEMPTS: int(1, 50, 8),
    WEBHOOK_BACKOFF_BASE_MS: int(1, 3_600_000, 1000),
    WEBHOOK_BACKOFF_MAX_MS: int(1, 86_400_000, 3_600_000),
    WEBHOOK_TIMEOUT_MS: int(100, 60_000, 5000),
  })
  .refine((env) => list(env.WEBHOOK_URLS).length === 0 || env.WEBHOOK_SECRET !== undefined, {
    path: ['WEBHOOK_SECRET'],
    error: 'required when WEBHOOK_URLS is set (whsec_ followed by a base64 key)',
  });

export const webhooksConfig = registerAs('webhooks', () => {
  const env = parseEnv(webhooksEnvSchema);
  return {
    urls: list(env.WEBHOOK_URLS),
    secret: env.WEBHOOK_SECRET,
    maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
    backoffBaseMs: env.WEBHOOK_BACKOFF_BASE_MS,
    backoffMaxMs: env.WEBHOOK_BACKOFF_MAX_MS,
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
  };
});
