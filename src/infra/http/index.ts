// The public surface of infra/http: import from here, not from its files.
export { isApiPath, WRITE_METHODS } from './api-path.js';
export { installCompression } from './compression.js';
export { etagOf, ifNoneMatchHits, preconditionFailed, writePreconditions } from './etag.js';
export { closeGracefully } from './graceful-close.js';
export { installHttpCaching } from './http-caching.js';
export { HttpInfraModule } from './http-infra.module.js';
export { installJsonBodyParser } from './json-body.parser.js';
export { setupOpenApi } from './openapi.js';
export {
  ApiAdminProtected,
  ApiCachedRead,
  ApiIfMatch,
  ApiKeyProtected,
  ApiPatchBody,
  ApiProblemResponses,
  problemContent,
  ResponseHeaders,
} from './openapi.decorators.js';
export { DEFAULT_PAGE_SIZE, LimitQueryParameter, PageQueryDto } from './page-query.dto.js';
export { isUuid, ParseUuidPipe } from './parse-uuid.pipe.js';
export { type FieldError, PROBLEM_CONTENT_TYPE, type ProblemDetails, ProblemException, titleOf } from './problem.js';
export { installQueryParameterRule } from './query-parameters.js';
export { entityOrFail, notFound, rethrowWriteError, type WriteConstraints } from './resource-errors.js';
export { RouteMethods } from './route-methods.js';
export { answerClientError, answerFrameworkError } from './router-errors.js';
export { SECURITY_HEADERS } from './security-headers.js';
export { serverTimeoutOptions } from './server-timeouts.js';
export { ShutdownState } from './shutdown-state.js';
export { AppValidationPipe } from './validation.js';
