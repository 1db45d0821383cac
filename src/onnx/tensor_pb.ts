/**
 * Single-tensor `.pb` files, as in ONNX `test_data_set_*` folders: one serialized
 * TensorProto each.
 *
 * @module
 */

import type { Tensor } from "../graph/types.ts";
import { OnnxImportError } from "./errors.ts";
import { decodeTensorProto, encodeTensorProto } from "./onnx_proto.ts";
import { ProtobufError } from "./protobuf.ts";
import { tensorFromProto, tensorToProto } from "./tensor.ts";

/**
 * Decodes a `.pb` TensorProto file into its name and a resin tensor (INT64 data becomes
 * i32, range-checked). Throws `OnnxImportError` on malformed bytes or unsupported types.
 *
 * @example
 * ```ts
 * const { name, tensor } = decodeTensorPb(Deno.readFileSync("test_data_set_0/input_0.pb"));
 * ```
 */
export function decodeTensorPb(bytes: Uint8Array): { name: string; tensor: Tensor } {
  let proto;
  try {
    proto = decodeTensorProto(bytes);
  } catch (err) {
    if (err instanceof ProtobufError) {
      throw new OnnxImportError(`Not a TensorProto file: ${err.message}`);
    }
    throw err;
  }
  return { name: proto.name, tensor: tensorFromProto(proto, `Tensor "${proto.name}"`) };
}

/**
 * Encodes a resin tensor as a `.pb` TensorProto file named `name` (data in `raw_data`).
 *
 * @example
 * ```ts
 * Deno.writeFileSync("input_0.pb", encodeTensorPb("data", tensor));
 * ```
 */
export function encodeTensorPb(name: string, tensor: Tensor): Uint8Array {
  return encodeTensorProto(tensorToProto(name, tensor));
}
