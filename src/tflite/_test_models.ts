/**
 * Test helper: builds TFLite files in memory (flatbuffer_writer.ts) from a compact spec of
 * tensors and operators, with the builtin options tables of the ops resin imports. Used for the
 * reader and importer tests, for broken files, and for single-op models run through LiteRT.
 *
 * @module
 */

import {
  type FbField,
  fbScalar,
  fbString,
  fbSubtable,
  type FbTable,
  fbTable,
  fbTables,
  fbVector,
  writeFlatbuffer,
} from "./flatbuffer_writer.ts";
import { ACTIVATION, builtinCode, OPTIONS_TYPE, TENSOR_TYPE } from "./schema.ts";

/** A tensor: constant when it has `data` (stored little-endian as its type). */
export interface TensorSpec {
  name: string;
  shape: number[];
  type: keyof typeof TENSOR_TYPE;
  data?: ArrayLike<number>;
  /** Affine quantization; `dim` is the quantized dimension. */
  quant?: { scale: number[]; zeroPoint: number[]; dim?: number };
  /** `shape_signature` (-1 for a dynamic dim). */
  signature?: number[];
  /** Buffer index to write instead of the tensor's own (for broken files). */
  buffer?: number;
}

/** An operator: a builtin by name or a custom op, with its options table. */
export interface OpSpec {
  op: string | { custom: string };
  inputs: number[];
  outputs: number[];
  options?: { type: number; table: FbTable };
}

/** A whole single-subgraph model. */
export interface ModelSpec {
  tensors: TensorSpec[];
  ops: OpSpec[];
  inputs: number[];
  outputs: number[];
  version?: number;
  description?: string;
}

function bytesOf(t: TensorSpec): number[] {
  const n = t.data!.length;
  const typed = {
    FLOAT32: () => new Float32Array(Array.from(t.data!)),
    FLOAT16: () => Uint16Array.from(t.data!, toHalf),
    INT32: () => Int32Array.from(t.data!),
    INT64: () => BigInt64Array.from(Array.from(t.data!, (v) => BigInt(v))),
    INT8: () => Int8Array.from(t.data!),
  }[t.type as "FLOAT32"];
  if (!typed) throw new Error(`No test data writer for ${t.type} (${n} values)`);
  const array = typed();
  return Array.from(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
}

/** The nearest f16 bits of `v` (round half to even), for FLOAT16 constants. */
function toHalf(v: number): number {
  const f = new Float32Array([v]);
  const b = new Uint32Array(f.buffer)[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = ((b >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0 || exp >= 31) throw new Error(`toHalf handles normal halves only, got ${v}`);
  let bits = (exp << 10) | ((b >>> 13) & 0x3ff);
  const rest = b & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (bits & 1) === 1)) bits++;
  return sign | bits;
}

/** Serializes `spec` as a TFLite file (schema 3, identifier TFL3). */
export function tfliteModel(spec: ModelSpec): Uint8Array {
  const buffers: FbTable[] = [fbTable([])];
  const tensors = spec.tensors.map((t) => {
    let buffer = 0;
    if (t.data) {
      buffer = buffers.length;
      buffers.push(fbTable([fbVector("u8", bytesOf(t))]));
    }
    const q = t.quant && fbTable([
      undefined,
      undefined,
      fbVector("f32", t.quant.scale),
      fbVector("i64", t.quant.zeroPoint),
      undefined,
      undefined,
      fbScalar("i32", t.quant.dim ?? 0),
    ]);
    return fbTable([
      fbVector("i32", t.shape),
      fbScalar("i8", TENSOR_TYPE[t.type]),
      fbScalar("u32", t.buffer ?? buffer),
      fbString(t.name),
      q && fbSubtable(q),
      undefined,
      undefined,
      t.signature && fbVector("i32", t.signature),
    ]);
  });
  const codes: string[] = [];
  const operators = spec.ops.map((op) => {
    const key = typeof op.op === "string" ? op.op : `custom:${op.op.custom}`;
    if (!codes.includes(key)) codes.push(key);
    return fbTable([
      fbScalar("u32", codes.indexOf(key)),
      fbVector("i32", op.inputs),
      fbVector("i32", op.outputs),
      op.options && fbScalar("u8", op.options.type),
      op.options && fbSubtable(op.options.table),
    ]);
  });
  const operatorCodes = codes.map((key) => {
    const custom = key.startsWith("custom:");
    const code = builtinCode(custom ? "CUSTOM" : key);
    return fbTable([
      fbScalar("i8", Math.min(code, 127)),
      custom ? fbString(key.slice(7)) : undefined,
      fbScalar("i32", 1),
      fbScalar("i32", code),
    ]);
  });
  const subgraph = fbTable([
    fbTables(tensors),
    fbVector("i32", spec.inputs),
    fbVector("i32", spec.outputs),
    fbTables(operators),
    fbString("main"),
  ]);
  return writeFlatbuffer(
    fbTable([
      fbScalar("u32", spec.version ?? 3),
      fbTables(operatorCodes),
      fbTables([subgraph]),
      fbString(spec.description ?? "resin test model"),
      fbTables(buffers),
    ]),
    "TFL3",
  );
}

type Padding = "SAME" | "VALID";
type Act = keyof typeof ACTIVATION;

const pad = (p: Padding): FbField => fbScalar("i8", p === "SAME" ? 0 : 1);
const act = (a: Act = "NONE"): FbField => fbScalar("i8", ACTIVATION[a]);

/** Builtin options tables of the ops resin imports. */
export const OPTIONS = {
  conv2d(padding: Padding, stride: [number, number], a?: Act, dilation: [number, number] = [1, 1]) {
    return {
      type: OPTIONS_TYPE.Conv2DOptions,
      table: fbTable([
        pad(padding),
        fbScalar("i32", stride[1]),
        fbScalar("i32", stride[0]),
        act(a),
        fbScalar("i32", dilation[1]),
        fbScalar("i32", dilation[0]),
      ]),
    };
  },
  depthwise(padding: Padding, stride: [number, number], multiplier: number, a?: Act) {
    return {
      type: OPTIONS_TYPE.DepthwiseConv2DOptions,
      table: fbTable([
        pad(padding),
        fbScalar("i32", stride[1]),
        fbScalar("i32", stride[0]),
        fbScalar("i32", multiplier),
        act(a),
      ]),
    };
  },
  pool(padding: Padding, stride: [number, number], filter: [number, number], a?: Act) {
    return {
      type: OPTIONS_TYPE.Pool2DOptions,
      table: fbTable([
        pad(padding),
        fbScalar("i32", stride[1]),
        fbScalar("i32", stride[0]),
        fbScalar("i32", filter[1]),
        fbScalar("i32", filter[0]),
        act(a),
      ]),
    };
  },
  fullyConnected(a?: Act, keepNumDims = false) {
    return {
      type: OPTIONS_TYPE.FullyConnectedOptions,
      table: fbTable([act(a), undefined, fbScalar("bool", keepNumDims ? 1 : 0)]),
    };
  },
  add(a?: Act) {
    return { type: OPTIONS_TYPE.AddOptions, table: fbTable([act(a)]) };
  },
  mul(a?: Act) {
    return { type: OPTIONS_TYPE.MulOptions, table: fbTable([act(a)]) };
  },
  softmax(beta: number) {
    return { type: OPTIONS_TYPE.SoftmaxOptions, table: fbTable([fbScalar("f32", beta)]) };
  },
  reducer(keepDims: boolean) {
    return {
      type: OPTIONS_TYPE.ReducerOptions,
      table: fbTable([fbScalar("bool", keepDims ? 1 : 0)]),
    };
  },
  reshape(shape: number[]) {
    return { type: OPTIONS_TYPE.ReshapeOptions, table: fbTable([fbVector("i32", shape)]) };
  },
};
