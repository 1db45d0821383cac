/**
 * The one error type of the ONNX importer.
 *
 * @module
 */

/**
 * A model (or `.pb` tensor file) resin cannot import: malformed bytes, an unsupported op,
 * opset, data type or feature. The message is one line and names the node or value.
 */
export class OnnxImportError extends Error {
  override name = "OnnxImportError";
}
