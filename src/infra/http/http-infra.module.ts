import { Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { ProblemDetailsFilter } from './problem-details.filter.js';
import { RouteMethods } from './route-methods.js';
import { ShutdownState } from './shutdown-state.js';
import { AppValidationPipe } from './validation.js';

/** The HTTP edge every module shares: problem+json errors, validation, shutdown state. */
@Global()
@Module({
  providers: [
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    { provide: APP_PIPE, useClass: AppValidationPipe },
    ShutdownState,
    RouteMethods,
  ],
  exports: [ShutdownState, RouteMethods],
})
export class HttpInfraModule {}
