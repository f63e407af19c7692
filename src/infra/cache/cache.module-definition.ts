import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { CacheModuleOptions } from './cache.options.js';

/** `CacheModule.forRoot(options)` / `forRootAsync({ inject, useFactory })`, global by default. */
export const { ConfigurableModuleClass: ConfigurableCacheModule, MODULE_OPTIONS_TOKEN: CACHE_MODULE_OPTIONS } =
  new ConfigurableModuleBuilder<CacheModuleOptions>({ moduleName: 'Cache' })
    .setClassMethodName('forRoot')
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
