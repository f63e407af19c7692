import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Checks every response the e2e suite receives through `TestApp.request` against the app's own
 * OpenAPI document (/docs-json): the status must be documented for the operation, the body must
 * match the schema of its status and content type, and the documented headers must be present when
 * required and match their schema when sent. Requests to paths or methods the document does not
 * describe (/metrics, /admin/queues, unknown routes) are not checked. TestApp.request runs the
 * check beside the test and `close()` throws the mismatches, so the suite fails and names them.
 */

interface HeaderObject {
  $ref?: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface ResponseObject {
  headers?: Record<string, HeaderObject>;
  content?: Record<string, { schema?: Record<string, unknown> }>;
}
interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, ResponseObject> }>>;
  components: { headers?: Record<string, HeaderObject> } & Record<string, unknown>;
}

/** The document compiled once per distinct text (every app of a suite serves the same one). */
class ResponseValidator {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ pattern: RegExp; template: string }>;

  constructor(private readonly document: OpenApiDocument) {
    addFormats.default(this.ajv);
    this.ajv.addSchema({ $id: 'openapi', components: document.components });
    // Fewest parameters first, as the router matches: `/v1/products/popular` before `/v1/products/{id}`.
    const parameters = (template: string) => template.split('{').length;
    this.routes = Object.keys(document.paths)
      .sort((a, b) => parameters(a) - parameters(b))
      .map((template) => ({
        template,
        pattern: new RegExp(
          `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}|\{[^}]+\}/g, '[^/]+')}$`,
        ),
      }));
  }

  /** What is wrong with this response (empty when it matches the document, or is not described by it). */
  problems(method: string, path: string, status: number, headers: Headers, body: string): string[] {
    const route = this.routes.find(({ pattern }) => pattern.test(path));
    const operation = route ? this.document.paths[route.template]?.[method.toLowerCase()] : undefined;
    if (!operation) return [];
    const where = `${method} ${path} → ${status}`;
    const response =
      operation.responses[String(status)] ??
      operation.responses[`${String(status)[0]}XX`] ??
      operation.responses.default;
    if (!response)
      return [`${where}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    const problems: string[] = [];

    for (const [name, declared] of Object.entries(response.headers ?? {})) {
      const header = this.header(declared);
      const value = headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`${where}: required header ${name} missing`);
        continue;
      }
      if (header.schema) {
        const typed = header.schema.type === 'integer' || header.schema.type === 'number' ? Number(value) : value;
        const validate = this.validator(header.schema);
        if (!validate(typed))
          problems.push(`${where}: header ${name}: ${value} ${this.ajv.errorsText(validate.errors)}`);
      }
    }

    if (method === 'HEAD' || body.length === 0) return problems;
    const contentType = (headers.get('content-type') ?? '').split(';')[0]!.trim();
    const media = response.content?.[contentType];
    if (!media) {
      problems.push(
        `${where}: a ${contentType || 'untyped'} body is not documented (documented: ${Object.keys(response.content ?? {}).join(', ') || 'no body'})`,
      );
      return problems;
    }
    if (media.schema && contentType.endsWith('json')) {
      const validate = this.validator(media.schema);
      if (!validate(JSON.parse(body)))
        problems.push(`${where}: body ${this.ajv.errorsText(validate.errors)}: ${body.slice(0, 300)}`);
    }
    return problems;
  }

  private header(declared: HeaderObject): HeaderObject {
    const name = declared.$ref?.split('/').pop();
    return name ? (this.document.components.headers?.[name] ?? {}) : declared;
  }

  /** Compiles a schema of the document, its `#/components/...` references resolved against it. */
  private validator(schema: Record<string, unknown>): ValidateFunction {
    const text = JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/');
    let validate = this.compiled.get(text);
    if (!validate) {
      validate = this.ajv.compile(JSON.parse(text) as object);
      this.compiled.set(text, validate);
    }
    return validate;
  }
}

const validators = new Map<string, ResponseValidator>();
const documents = new Map<string, Promise<ResponseValidator>>();

/** Fetches and compiles the app's document (once per app; the first request would otherwise do it). */
export async function loadResponseValidator(baseUrl: string): Promise<void> {
  await validatorFor(baseUrl);
}

async function validatorFor(baseUrl: string): Promise<ResponseValidator> {
  let loading = documents.get(baseUrl);
  if (!loading) {
    loading = fetch(`${baseUrl}/docs-json`).then(async (response) => {
      if (response.status !== 200) throw new Error(`openapi-recorder: GET /docs-json answered ${response.status}`);
      const text = await response.text();
      let validator = validators.get(text);
      if (!validator) {
        validator = new ResponseValidator(JSON.parse(text) as OpenApiDocument);
        validators.set(text, validator);
      }
      return validator;
    });
    documents.set(baseUrl, loading);
  }
  return loading;
}

/**
 * Throws when `response` (to `method path` on the app at `baseUrl`) does not match the document.
 * It reads the body: pass a clone of a response the caller still needs.
 */
export async function checkResponseAgainstDocument(
  baseUrl: string,
  method: string,
  path: string,
  response: Response,
): Promise<void> {
  const pathname = new URL(path, baseUrl).pathname;
  if (pathname === '/docs-json') return;
  const validator = await validatorFor(baseUrl);
  const body = method === 'HEAD' ? '' : await response.text();
  const problems = validator.problems(method, pathname, response.status, response.headers, body);
  if (problems.length > 0) throw new Error(`response does not match the OpenAPI document:\n${problems.join('\n')}`);
}
