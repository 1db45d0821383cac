/**
 * Test helper for the int8 ops: builds a one-node ONNX model in memory and runs it through
 * onnxruntime-node (CPU execution provider), the oracle every int8 reference is compared
 * with bit for bit. Constant operands become initializers, so onnxruntime takes the same
 * kernel paths (weight prepacking) as it does for real models.
 *
 * @module
 */

import * as ort from "onnxruntime-node";
import { type DType, makeTensor, type Tensor } from "../graph/types.ts";
import { attr, modelBytes, node, tensorInfo } from "../onnx/_test_models.ts";
import type { OnnxAttribute, OnnxTensor } from "../onnx/onnx_proto.ts";
import { onnxDataTypeOf } from "../onnx/tensor.ts";

/** One operand of the single-node model. */
export interface OrtOperand {
  /** Value name. */
  name: string;
  /** The data; `undefined` for an absent optional input (written as `""`). */
  tensor?: Tensor;
  /** True for a graph input fed at run time; initializers otherwise. */
  runtime?: boolean;
}

/** A one-node model: op, domain, operands in order, attributes and output dtypes. */
export interface OrtNodeSpec {
  /** Op type, e.g. `"QLinearConv"`. */
  op: string;
  /** `"com.microsoft"` for contrib ops; ai.onnx otherwise. */
  domain?: string;
  /** Inputs in operator order. */
  inputs: OrtOperand[];
  /** Output dtypes, one per output (named `y0`, `y1`, ...). */
  outputs: DType[];
  /** Integer, float, int-list and float-list attributes. */
  attrs?: Record<string, number | number[] | { float: number }>;
  /** ai.onnx opset (default 13). */
  opset?: number;
}

const ORT_TYPES: Partial<Record<DType, ort.Tensor.Type>> = {
  f32: "float32",
  u8: "uint8",
  i8: "int8",
  i32: "int32",
};

/** A resin tensor as an ONNX initializer (raw little-endian data). */
export function onnxTensor(name: string, t: Tensor): OnnxTensor {
  return {
    name,
    dims: [...t.shape],
    dataType: onnxDataTypeOf(t.dtype),
    rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice(),
  };
}

function attribute(name: string, v: number | number[] | { float: number }): OnnxAttribute {
  if (Array.isArray(v)) return attr.ints(name, v);
  if (typeof v === "object") return attr.float(name, v.float);
  return attr.int(name, v);
}

/** Encodes the one-node model of `spec` (outputs `y0`, `y1`, ... of unknown shape). */
export function singleNodeModel(spec: OrtNodeSpec): Uint8Array {
  const present = spec.inputs.filter((o) => o.tensor);
  return modelBytes({
    nodes: [
      node(
        spec.op,
        spec.inputs.map((o) => (o.tensor ? o.name : "")),
        spec.outputs.map((_, i) => `y${i}`),
        Object.entries(spec.attrs ?? {}).map(([k, v]) => attribute(k, v)),
        { domain: spec.domain ?? "" },
      ),
    ],
    inputs: present.filter((o) => o.runtime).map((o) =>
      tensorInfo(o.name, o.tensor!.shape, onnxDataTypeOf(o.tensor!.dtype))
    ),
    outputs: spec.outputs.map((d, i) => ({ name: `y${i}`, elemType: onnxDataTypeOf(d) })),
    initializers: present.filter((o) => !o.runtime).map((o) => onnxTensor(o.name, o.tensor!)),
    opset: spec.opset ?? 13,
    domains: spec.domain === "com.microsoft" ? { "com.microsoft": 1 } : {},
  });
}

/** Runs an encoded model on onnxruntime's CPU provider with every graph optimisation on. */
export async function runOrtModel(
  bytes: Uint8Array,
  feeds: Record<string, Tensor>,
): Promise<Record<string, Tensor>> {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
  });
  try {
    const ortFeeds = Object.fromEntries(
      Object.entries(feeds).map(([name, t]) => {
        const type = ORT_TYPES[t.dtype];
        if (!type) throw new Error(`Feed "${name}" has dtype ${t.dtype}, which the helper lacks`);
        return [name, new ort.Tensor(type, t.data as Float32Array, t.shape)];
      }),
    );
    const results = await session.run(ortFeeds);
    return Object.fromEntries(
      Object.entries(results).map(([name, t]) => [name, fromOrt(name, t)]),
    );
  } finally {
    await session.release();
  }
}

/** Runs the one-node model of `spec` on onnxruntime and returns its outputs in order. */
export async function runOrtNode(spec: OrtNodeSpec): Promise<Tensor[]> {
  const feeds = Object.fromEntries(
    spec.inputs.filter((o) => o.runtime && o.tensor).map((o) => [o.name, o.tensor!]),
  );
  const results = await runOrtModel(singleNodeModel(spec), feeds);
  return spec.outputs.map((_, i) => results[`y${i}`]);
}

function fromOrt(name: string, t: ort.Tensor): Tensor {
  const dtype = (Object.entries(ORT_TYPES).find(([, v]) => v === t.type)?.[0]) as
    | DType
    | undefined;
  if (!dtype) throw new Error(`onnxruntime output "${name}" has type ${t.type}`);
  return makeTensor(dtype, t.dims.map(Number), t.data as ArrayLike<number>);
}

/** A scalar (rank-0) tensor. */
export function scalar(dtype: DType, value: number): Tensor {
  return makeTensor(dtype, [], [value]);
}

/** A rank-1 tensor of `values`. */
export function vector(dtype: DType, values: readonly number[]): Tensor {
  return makeTensor(dtype, [values.length], values);
}
