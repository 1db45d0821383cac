/**
 * Conversions between ONNX TensorProtos and resin tensors: element decoding from `raw_data`
 * or the typed fields, data-type mapping, and the int64 to i32 range check.
 *
 * Multi-byte `raw_data` is little-endian; it is read in host byte order, so resin (like
 * WebGPU buffers) assumes a little-endian host.
 *
 * @module
 */

import { type DType, sizeOf, type Tensor } from "../graph/types.ts";
import { OnnxImportError } from "./errors.ts";
import { DATA_LOCATION_EXTERNAL, DATA_TYPE, dataTypeName, type OnnxTensor } from "./onnx_proto.ts";

const TO_RESIN: Readonly<Record<number, DType>> = {
  [DATA_TYPE.FLOAT]: "f32",
  [DATA_TYPE.FLOAT16]: "f16",
  [DATA_TYPE.INT8]: "i8",
  [DATA_TYPE.UINT8]: "u8",
  [DATA_TYPE.INT32]: "i32",
};

const FROM_RESIN: Readonly<Record<DType, number>> = {
  f32: DATA_TYPE.FLOAT,
  f16: DATA_TYPE.FLOAT16,
  i8: DATA_TYPE.INT8,
  u8: DATA_TYPE.UINT8,
  i32: DATA_TYPE.INT32,
};

/** The resin dtype of an ONNX data type code, or `undefined` when resin has none. */
export function resinDTypeOf(code: number): DType | undefined {
  return TO_RESIN[code];
}

/** The ONNX data type code of a resin dtype. */
export function onnxDataTypeOf(dtype: DType): number {
  return FROM_RESIN[dtype];
}

/** Elements of a TensorProto in the typed array of its ONNX type (FLOAT16 as raw bits). */
type Elements = Float32Array | Int8Array | Uint8Array | Uint16Array | Int32Array | BigInt64Array;

interface ElementType {
  /** Typed array constructor. */
  Type: { new (buffer: ArrayBuffer): Elements; new (length: number): Elements };
  /** Typed field holding the elements when there is no `raw_data`. */
  field: "floatData" | "int32Data" | "int64Data";
  /** Value range of an element kept widened in `int32Data`. */
  range?: [number, number];
}

const ELEMENT_TYPES: Readonly<Record<number, ElementType>> = {
  [DATA_TYPE.FLOAT]: { Type: Float32Array, field: "floatData" },
  [DATA_TYPE.FLOAT16]: { Type: Uint16Array, field: "int32Data", range: [0, 0xffff] },
  [DATA_TYPE.INT8]: { Type: Int8Array, field: "int32Data", range: [-128, 127] },
  [DATA_TYPE.UINT8]: { Type: Uint8Array, field: "int32Data", range: [0, 255] },
  [DATA_TYPE.INT32]: { Type: Int32Array, field: "int32Data" },
  [DATA_TYPE.INT64]: { Type: BigInt64Array, field: "int64Data" },
};

/** Decodes a TensorProto's elements; `what` names the tensor in errors. */
function elements(t: OnnxTensor, what: string): Elements {
  if (t.dataLocation === DATA_LOCATION_EXTERNAL || t.externalData?.length) {
    throw new OnnxImportError(
      `${what} keeps its data in an external file; external-data tensors are not supported ` +
        `(re-save the model with its data embedded)`,
    );
  }
  if (t.segmented) {
    throw new OnnxImportError(`${what} is segmented; segmented tensors are not supported`);
  }
  const kind = ELEMENT_TYPES[t.dataType];
  if (!kind) {
    throw new OnnxImportError(
      `${what} has data type ${dataTypeName(t.dataType)}; resin reads FLOAT, FLOAT16, INT8, ` +
        `UINT8, INT32 and INT64 tensors`,
    );
  }
  const count = sizeOf(t.dims);
  if (t.rawData !== undefined) {
    const bytes = new kind.Type(0).BYTES_PER_ELEMENT;
    if (t.rawData.length !== count * bytes) {
      throw new OnnxImportError(
        `${what} has ${t.rawData.length} bytes of raw data; shape [${t.dims}] of ` +
          `${dataTypeName(t.dataType)} needs ${count * bytes}`,
      );
    }
    // slice() copies into a fresh, aligned buffer.
    return new kind.Type(t.rawData.slice().buffer);
  }
  const typed = t[kind.field];
  const length = typed?.length ?? 0;
  if (length !== count) {
    throw new OnnxImportError(
      `${what} has ${length} elements in ${kind.field}; shape [${t.dims}] needs ${count}`,
    );
  }
  if (typed === undefined) return new kind.Type(0);
  if (!kind.range) return typed;
  const [min, max] = kind.range;
  const wide = typed as Int32Array;
  const out = new kind.Type(wide.length);
  for (let i = 0; i < wide.length; i++) {
    if (wide[i] < min || wide[i] > max) {
      throw new OnnxImportError(
        `${what} holds ${wide[i]} in int32_data, out of range for ${dataTypeName(t.dataType)}`,
      );
    }
    out[i] = wide[i];
  }
  return out;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * Converts a TensorProto to a resin tensor. FLOAT, FLOAT16, INT8, UINT8 and INT32 map to
 * f32, f16, i8, u8 and i32; INT64 becomes i32 when every value fits (else an error).
 * `what` names the tensor in errors, e.g. `Initializer "conv1.weight"`.
 */
export function tensorFromProto(t: OnnxTensor, what: string): Tensor {
  const data = elements(t, what);
  const shape = [...t.dims];
  if (data instanceof BigInt64Array) {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) {
      if (data[i] < INT32_MIN || data[i] > INT32_MAX) {
        throw new OnnxImportError(
          `${what} holds the int64 value ${data[i]}, outside the int32 range resin stores`,
        );
      }
      out[i] = Number(data[i]);
    }
    return { dtype: "i32", shape, data: out };
  }
  return { dtype: resinDTypeOf(t.dataType)!, shape, data };
}

/**
 * The elements of a numeric TensorProto as plain numbers, for small constants (shapes,
 * axes, clip bounds). FLOAT16 is decoded; int64 magnitudes beyond 2^53 round to the
 * nearest double, which callers clamp or range-check.
 */
export function numbersFromProto(t: OnnxTensor, what: string): number[] {
  const data = elements(t, what);
  if (t.dataType === DATA_TYPE.FLOAT16) return Array.from(data as Uint16Array, halfToNumber);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/** Builds a TensorProto holding `tensor` as `raw_data`. */
export function tensorToProto(name: string, tensor: Tensor): OnnxTensor {
  const { data } = tensor;
  return {
    name,
    dims: [...tensor.shape],
    dataType: onnxDataTypeOf(tensor.dtype),
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
  };
}

/** Decodes IEEE 754 half-precision bits to a number. */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
