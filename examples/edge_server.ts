/**
 * An image classifier as an HTTP endpoint, written as an edge function would be: POST the image
 * bytes (JPEG or PNG), get the top classes as JSON. The model is loaded once at startup and
 * shared by every request; where there is no GPU (edge functions) it runs on the CPU path.
 *
 * ```sh
 * RESIN_MODEL_URL=https://example.com/models/resnet50-v1-12/ \
 *   deno run --allow-net --allow-env --allow-read examples/edge_server.ts
 * curl --data-binary @dog.jpg 'http://localhost:8000/?top=3'
 * # {"model":"resnet50-v1-12","backend":"cpu","top":[{"index":258,"label":"Samoyed",...}]}
 * ```
 *
 * `RESIN_MODEL_URL` is the URL of a converted model folder (ending in `/`) or of its
 * `manifest.json` (`file:` URLs work); `PORT` defaults to 8000.
 *
 * Responses: 200 with `{ model, backend, top }`; 400 for an empty body, a bad `top` or an
 * image that cannot be decoded (with the decoder's message); 405 for any method but POST; 413
 * for a body over the size limit; 500 for anything else. Every error body is `{ error }`.
 *
 * @module
 */

import { errorMessage } from "../src/errors.ts";
import { type Classifier, ImageError, loadModel } from "../mod.ts";

/** Default request size limit: 10 MiB. */
export const DEFAULT_MAX_BYTES = 10 * 2 ** 20;

/** Options of {@link createHandler}. */
export interface HandlerOptions {
  /** The shared model (or its loading promise): loaded once, used by every request. */
  model: Classifier | Promise<Classifier>;
  /** Largest request body in bytes; default {@link DEFAULT_MAX_BYTES}. */
  maxBytes?: number;
  /** Classes returned when the request gives no `?top=`; default 5. */
  top?: number;
}

/** A request that gets a 4xx answer. */
class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The request handler for `Deno.serve`: POST image bytes, optional `?top=K`.
 *
 * @example
 * ```ts
 * const model = await loadModel(new URL("./model/", import.meta.url), { backend: "cpu" });
 * Deno.serve(createHandler({ model }));
 * ```
 */
export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  return async (request) => {
    try {
      if (request.method !== "POST") {
        throw new HttpError(405, `Method ${request.method} is not allowed; POST the image bytes`);
      }
      const top = topParameter(new URL(request.url), options.top ?? 5);
      const bytes = await readBody(request, maxBytes);
      const model = await options.model;
      const { top: classes } = await model.classify(bytes, { top });
      return Response.json({ model: model.name, backend: model.backend, top: classes });
    } catch (err) {
      if (err instanceof HttpError) {
        const headers = err.status === 405 ? { allow: "POST" } : undefined;
        return Response.json({ error: err.message }, { status: err.status, headers });
      }
      if (err instanceof ImageError) return Response.json({ error: err.message }, { status: 400 });
      const message = errorMessage(err);
      return Response.json({ error: message }, { status: 500 });
    }
  };
}

/** The `top` query parameter, or `fallback` when absent. */
function topParameter(url: URL, fallback: number): number {
  const value = url.searchParams.get("top");
  if (value === null) return fallback;
  if (!/^[1-9][0-9]{0,3}$/.test(value)) {
    throw new HttpError(400, `top must be an integer from 1 to 9999, got "${value}"`);
  }
  return Number(value);
}

/** The request body, refused (413) as soon as it is known to exceed `maxBytes`. */
async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = (size: string) =>
    new HttpError(413, `Request body is ${size} bytes, over the limit of ${maxBytes}`);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLarge(String(declared));
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of request.body ?? []) {
    length += chunk.byteLength;
    if (length > maxBytes) throw tooLarge(`more than ${maxBytes}`);
    chunks.push(chunk);
  }
  if (length === 0) throw new HttpError(400, "Request body is empty; POST the image bytes");
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

if (import.meta.main) {
  const url = Deno.env.get("RESIN_MODEL_URL");
  if (!url) {
    console.error("edge_server: set RESIN_MODEL_URL to the URL of a converted model folder");
    Deno.exit(2);
  }
  const model = await loadModel(url);
  console.error(`edge_server: ${model.name} loaded, running on ${model.backend}`);
  Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, createHandler({ model }));
}
