/**
 * Test helper: builds small ONNX models in memory, attribute by attribute, and encodes them.
 *
 * @module
 */

import {
  ATTR_TYPE,
  DATA_TYPE,
  encodeModel,
  type OnnxAttribute,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from "./onnx_proto.ts";

/** Attribute constructors. */
export const attr = {
  /** An INT attribute. */
  int: (name: string, v: number | bigint): OnnxAttribute => ({
    name,
    type: ATTR_TYPE.INT,
    i: BigInt(v),
  }),
  /** An INTS attribute. */
  ints: (name: string, v: (number | bigint)[]): OnnxAttribute => ({
    name,
    type: ATTR_TYPE.INTS,
    ints: BigInt64Array.from(v, (x) => BigInt(x)),
  }),
  /** A FLOAT attribute. */
  float: (name: string, v: number): OnnxAttribute => ({ name, type: ATTR_TYPE.FLOAT, f: v }),
  /** A FLOATS attribute. */
  floats: (name: string, v: number[]): OnnxAttribute => ({
    name,
    type: ATTR_TYPE.FLOATS,
    floats: Float32Array.from(v),
  }),
  /** A STRING attribute. */
  string: (name: string, v: string): OnnxAttribute => ({
    name,
    type: ATTR_TYPE.STRING,
    s: new TextEncoder().encode(v),
  }),
  /** A TENSOR attribute. */
  tensor: (name: string, t: OnnxTensor): OnnxAttribute => ({ name, type: ATTR_TYPE.TENSOR, t }),
};

/** A node; `name` defaults to the first output, `domain` to ai.onnx. */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: OnnxAttribute[] = [],
  options: { name?: string; domain?: string } = {},
): OnnxNode {
  return {
    name: options.name ?? outputs[0],
    opType,
    domain: options.domain ?? "",
    inputs,
    outputs,
    attributes,
  };
}

/** A FLOAT tensor in `float_data`. */
export function floatTensor(name: string, dims: number[], values: number[]): OnnxTensor {
  return { name, dims, dataType: DATA_TYPE.FLOAT, floatData: Float32Array.from(values) };
}

/** An INT64 tensor in `int64_data`. */
export function int64Tensor(name: string, dims: number[], values: (number | bigint)[]): OnnxTensor {
  return {
    name,
    dims,
    dataType: DATA_TYPE.INT64,
    int64Data: BigInt64Array.from(values, (v) => BigInt(v)),
  };
}

/** A tensor value info; `undefined` dims are unknown, strings are `dim_param`s. */
export function tensorInfo(
  name: string,
  shape: (number | string | undefined)[],
  elemType: number = DATA_TYPE.FLOAT,
): OnnxValueInfo {
  return {
    name,
    elemType,
    shape: shape.map((d) =>
      typeof d === "number" ? { value: d } : typeof d === "string" ? { param: d } : {}
    ),
  };
}

/** What `modelBytes` builds. */
export interface ModelSpec {
  /** Nodes in order. */
  nodes: OnnxNode[];
  /** Graph inputs. */
  inputs: OnnxValueInfo[];
  /** Graph outputs. */
  outputs: OnnxValueInfo[];
  /** Initializers. */
  initializers?: OnnxTensor[];
  /** The ai.onnx opset (default 13). */
  opset?: number;
  /** Further opset imports, e.g. `{ "com.microsoft": 1 }`. */
  domains?: Record<string, number>;
  /** IR version (default 7). */
  irVersion?: number;
}

/** Encodes a model from `spec`. */
export function modelBytes(spec: ModelSpec): Uint8Array {
  return encodeModel({
    irVersion: spec.irVersion ?? 7,
    producerName: "resin-test",
    producerVersion: "1",
    opsetImport: [
      { domain: "", version: spec.opset ?? 13 },
      ...Object.entries(spec.domains ?? {}).map(([domain, version]) => ({ domain, version })),
    ],
    graph: {
      name: "test",
      nodes: spec.nodes,
      initializers: spec.initializers ?? [],
      sparseInitializerCount: 0,
      inputs: spec.inputs,
      outputs: spec.outputs,
      valueInfo: [],
    },
  });
}
