/**
 * Loading a model from URLs or from bytes in memory: no file system, so it runs in browsers
 * and edge functions as well as in Deno.
 *
 * @example
 * ```ts
 * import { loadModelFromUrl } from "./load.ts";
 * const { graph, manifest } = await loadModelFromUrl("https://example.com/resnet18/manifest.json");
 * ```
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { decodeModel, type LoadedModel, weightsLengthError } from "./decode.ts";
import { FORMAT_LIMITS, ManifestError, parseManifestJson, validateManifest } from "./manifest.ts";

/** Options of `loadModelFromUrl`. */
export interface LoadFromUrlOptions {
  /** The fetch to use (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Refuse models whose weights are larger than this (default: the format's 4 GiB limit). */
  maxWeightBytes?: number;
}

/**
 * Fetches a manifest and its weights file (resolved relative to `manifestUrl`), and decodes
 * them. The weights' size is checked against the manifest and `maxWeightBytes` before any
 * weight byte is read: first the Content-Length header where it gives the decoded length,
 * then while streaming.
 */
export async function loadModelFromUrl(
  manifestUrl: string | URL,
  options: LoadFromUrlOptions = {},
): Promise<LoadedModel> {
  const fetchFn = options.fetch ?? fetch;
  const maxWeightBytes = options.maxWeightBytes ?? FORMAT_LIMITS.weightBytes;
  const url = absoluteUrl(manifestUrl);
  const manifestBytes = await readBody(
    await get(fetchFn, url),
    FORMAT_LIMITS.manifestBytes,
    0,
    (n) =>
      new ManifestError(`Manifest ${url} is over ${FORMAT_LIMITS.manifestBytes} bytes (${n} read)`),
  );
  const manifest = validateManifest(parseManifestJson(manifestBytes));
  const expected = manifest.weights.byteLength;
  if (expected > maxWeightBytes) {
    throw new ManifestError(
      `Manifest says ${manifest.weights.file} is ${expected} bytes, more than maxWeightBytes ` +
        `${maxWeightBytes}`,
    );
  }
  const weightsUrl = new URL(manifest.weights.file, url);
  const response = await get(fetchFn, weightsUrl);
  const declared = decodedContentLength(response);
  const declaredError = declared === undefined
    ? null
    : weightsLengthError(manifest.weights, declared, `Content-Length of ${weightsUrl}`);
  if (declaredError) {
    await response.body?.cancel();
    throw declaredError;
  }
  const weights = await readBody(
    response,
    expected,
    expected,
    (n) => weightsLengthError(manifest.weights, n, `or more, from ${weightsUrl}`)!,
  );
  return decodeModel(manifest, weights);
}

/** Decodes a model from manifest JSON (text or UTF-8 bytes) and the weights bytes. */
export async function loadModelFromBytes(
  manifestJson: string | Uint8Array,
  weights: Uint8Array,
): Promise<LoadedModel> {
  return await decodeModel(parseManifestJson(manifestJson), weights);
}

function absoluteUrl(url: string | URL): URL {
  try {
    return new URL(url);
  } catch {
    throw new TypeError(`Manifest URL "${url}" is not an absolute URL`);
  }
}

/** GETs `url`, failing on an HTTP error status. */
async function get(fetchFn: typeof fetch, url: URL): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch (err) {
    throw new Error(`GET ${url} failed: ${errorMessage(err)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`GET ${url} failed: HTTP ${response.status} ${response.statusText}`.trim());
  }
  return response;
}

/** Content-Length when it is the length of the body as read (no content encoding). */
function decodedContentLength(response: Response): number | undefined {
  const length = response.headers.get("content-length");
  const encoding = response.headers.get("content-encoding");
  if (length === null || !/^\d+$/.test(length)) return undefined;
  if (encoding !== null && encoding.toLowerCase() !== "identity") return undefined;
  return Number(length);
}

/**
 * Reads a response body of at most `limit` bytes into one array, starting with `capacity`
 * bytes (the expected size, when known). Cancels the stream and throws `tooLong(bytesSeen)`
 * as soon as the body exceeds `limit`.
 */
async function readBody(
  response: Response,
  limit: number,
  capacity: number,
  tooLong: (bytesSeen: number) => Error,
): Promise<Uint8Array> {
  let buffer = new Uint8Array(capacity);
  let length = 0;
  if (response.body === null) return buffer.subarray(0, 0);
  for await (const chunk of response.body) {
    const end = length + chunk.byteLength;
    if (end > limit) throw tooLong(end);
    if (end > buffer.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(end, 2 * buffer.length, 65536)));
      grown.set(buffer.subarray(0, length));
      buffer = grown;
    }
    buffer.set(chunk, length);
    length = end;
  }
  return buffer.subarray(0, length);
}
