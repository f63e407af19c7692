// The public surface of infra/admin for the composition root: import from here, not from its files.
export { corsExceptAdmin, installAdminGuard } from './admin-auth.hook.js';
export { AdminModule } from './admin.module.js';
