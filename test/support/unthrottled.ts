/**
 * Rate limits high enough that no functional suite meets them. `bootTestApp` and `spawnService`
 * apply them by default; a suite about limits (throttle*.e2e-spec.ts) sets its own.
 */
export const UNTHROTTLED = {
  THROTTLE_LIMIT: '1000000',
  THROTTLE_BURST_LIMIT: '0',
  THROTTLE_WRITE_LIMIT: '0',
  WELCOME_EMAIL_LIMIT: '1000000',
};
