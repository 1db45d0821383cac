/**
 * The one error type of the TFLite importer.
 *
 * @module
 */

/**
 * A TFLite file resin cannot import: malformed or truncated bytes, a wrong file identifier, an
 * unsupported op, tensor type or feature. The message is one line and names the operator (by
 * its index in the subgraph) or the tensor.
 */
export class TfliteImportError extends Error {
  override name = "TfliteImportError";
}
