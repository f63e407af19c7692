import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { configNamespaces } from './namespaces.js';

/**
 * Loads every typed namespace globally. Inject one with
 * `@Inject(cacheConfig.KEY) config: ConfigType<typeof cacheConfig>`.
 */
@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: configNamespaces })],
})
export class AppConfigModule {}
