/**
 * The ONNX messages resin reads, decoded from and encoded to the protobuf wire format:
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto (tensor
 * types only), OperatorSetIdProto. Field numbers are those of onnx.proto (IR version 8).
 * Fields resin never uses (doc strings, metadata, functions, subgraphs) are skipped.
 *
 * @module
 */

import { fieldOf, ProtobufError, ProtoReader, ProtoWriter } from "./protobuf.ts";

/** `TensorProto.DataType` codes. */
export const DATA_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

/** The name of a `TensorProto.DataType` code, e.g. `"INT64"` (or `"code 42"`). */
export function dataTypeName(code: number): string {
  const entry = Object.entries(DATA_TYPE).find(([, value]) => value === code);
  return entry ? entry[0] : `code ${code}`;
}

/** `AttributeProto.AttributeType` codes. */
export const ATTR_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** `TensorProto.DataLocation.EXTERNAL`: the data lives in another file. */
export const DATA_LOCATION_EXTERNAL = 1;

/**
 * A TensorProto. Exactly one of the data fields normally holds the elements; the fields for
 * types resin never reads (`string_data`, `double_data`, `uint64_data`) are skipped.
 */
export interface OnnxTensor {
  /** Value name (empty for anonymous tensors such as attribute values). */
  name: string;
  /** Shape. */
  dims: number[];
  /** A `DATA_TYPE` code. */
  dataType: number;
  /** Little-endian packed elements. */
  rawData?: Uint8Array;
  /** FLOAT elements. */
  floatData?: Float32Array;
  /** INT32, and the 8/16-bit types and FLOAT16 bits widened to int32. */
  int32Data?: Int32Array;
  /** INT64 elements. */
  int64Data?: BigInt64Array;
  /** `DATA_LOCATION_EXTERNAL` when the data is in a separate file. */
  dataLocation?: number;
  /** External-data key/value pairs (location, offset, length, checksum). */
  externalData?: { key: string; value: string }[];
  /** True when the tensor is one segment of a larger one. */
  segmented?: boolean;
}

/** One dimension of a tensor shape: a number, a symbol, or neither (unknown). */
export interface OnnxDim {
  /** `dim_value`. */
  value?: number;
  /** `dim_param`. */
  param?: string;
}

/** A ValueInfoProto: a value's name and, for tensors, element type and shape. */
export interface OnnxValueInfo {
  /** Value name. */
  name: string;
  /** Tensor element type (a `DATA_TYPE` code); absent when not given. */
  elemType?: number;
  /** Tensor shape; absent when the rank is unknown. */
  shape?: OnnxDim[];
  /** Set for non-tensor types: "sequence", "map", "optional" or "sparse_tensor". */
  nonTensorKind?: string;
}

/** An AttributeProto (graph, sparse-tensor and type-proto values are not kept). */
export interface OnnxAttribute {
  /** Attribute name. */
  name: string;
  /** An `ATTR_TYPE` code (inferred from the value field for old files without one). */
  type: number;
  /** FLOAT value. */
  f?: number;
  /** INT value. */
  i?: bigint;
  /** STRING value (raw bytes). */
  s?: Uint8Array;
  /** TENSOR value. */
  t?: OnnxTensor;
  /** FLOATS value. */
  floats?: Float32Array;
  /** INTS value. */
  ints?: BigInt64Array;
  /** STRINGS value. */
  strings?: Uint8Array[];
  /** TENSORS value. */
  tensors?: OnnxTensor[];
}

/** A NodeProto. */
export interface OnnxNode {
  /** Node name; may be empty. */
  name: string;
  /** Operator type. */
  opType: string;
  /** Operator domain; `""` (or `"ai.onnx"`) is the default domain. */
  domain: string;
  /** Input value names; `""` for an absent optional input. */
  inputs: string[];
  /** Output value names; `""` for an unused optional output. */
  outputs: string[];
  /** Attributes. */
  attributes: OnnxAttribute[];
}

/** A GraphProto. */
export interface OnnxGraph {
  /** Graph name. */
  name: string;
  /** Nodes, in topological order. */
  nodes: OnnxNode[];
  /** Constant tensors. */
  initializers: OnnxTensor[];
  /** How many sparse initializers the graph has (resin supports none). */
  sparseInitializerCount: number;
  /** Graph inputs (IR < 4 files list initializers here too). */
  inputs: OnnxValueInfo[];
  /** Graph outputs. */
  outputs: OnnxValueInfo[];
  /** Types of intermediate values, where the producer recorded them. */
  valueInfo: OnnxValueInfo[];
}

/** An OperatorSetIdProto. */
export interface OnnxOpsetId {
  /** Domain; `""` or `"ai.onnx"` is the default domain. */
  domain: string;
  /** Opset version. */
  version: number;
}

/** A ModelProto. */
export interface OnnxModel {
  /** IR version. */
  irVersion: number;
  /** Imported opsets. */
  opsetImport: OnnxOpsetId[];
  /** Producer name, e.g. `"pytorch"`. */
  producerName: string;
  /** Producer version. */
  producerVersion: string;
  /** The main graph; absent in a malformed file. */
  graph?: OnnxGraph;
}

/** Decodes a serialized ModelProto. Throws `ProtobufError` on malformed input. */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const r = new ProtoReader(bytes);
  const model: OnnxModel = { irVersion: 0, opsetImport: [], producerName: "", producerVersion: "" };
  while (!r.done) {
    const key = r.key();
    switch (fieldOf(key)) {
      case 1:
        model.irVersion = r.uintField(key);
        break;
      case 2:
        model.producerName = r.stringField(key);
        break;
      case 3:
        model.producerVersion = r.stringField(key);
        break;
      case 7:
        model.graph = decodeGraph(r.messageField(key));
        break;
      case 8:
        model.opsetImport.push(decodeOpsetId(r.messageField(key)));
        break;
      default:
        r.skip(key);
    }
  }
  return model;
}

/** Decodes a serialized TensorProto (such as a test_data_set `.pb` file). */
export function decodeTensorProto(bytes: Uint8Array): OnnxTensor {
  return decodeTensor(new ProtoReader(bytes));
}

function decodeOpsetId(r: ProtoReader): OnnxOpsetId {
  const opset: OnnxOpsetId = { domain: "", version: 0 };
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) opset.domain = r.stringField(key);
    else if (fieldOf(key) === 2) opset.version = r.uintField(key);
    else r.skip(key);
  }
  return opset;
}

function decodeGraph(r: ProtoReader): OnnxGraph {
  const graph: OnnxGraph = {
    name: "",
    nodes: [],
    initializers: [],
    sparseInitializerCount: 0,
    inputs: [],
    outputs: [],
    valueInfo: [],
  };
  while (!r.done) {
    const key = r.key();
    switch (fieldOf(key)) {
      case 1:
        graph.nodes.push(decodeNode(r.messageField(key)));
        break;
      case 2:
        graph.name = r.stringField(key);
        break;
      case 5:
        graph.initializers.push(decodeTensor(r.messageField(key)));
        break;
      case 11:
        graph.inputs.push(decodeValueInfo(r.messageField(key)));
        break;
      case 12:
        graph.outputs.push(decodeValueInfo(r.messageField(key)));
        break;
      case 13:
        graph.valueInfo.push(decodeValueInfo(r.messageField(key)));
        break;
      case 15:
        r.skip(key);
        graph.sparseInitializerCount++;
        break;
      default:
        r.skip(key);
    }
  }
  return graph;
}

function decodeNode(r: ProtoReader): OnnxNode {
  const node: OnnxNode = {
    name: "",
    opType: "",
    domain: "",
    inputs: [],
    outputs: [],
    attributes: [],
  };
  while (!r.done) {
    const key = r.key();
    switch (fieldOf(key)) {
      case 1:
        node.inputs.push(r.stringField(key));
        break;
      case 2:
        node.outputs.push(r.stringField(key));
        break;
      case 3:
        node.name = r.stringField(key);
        break;
      case 4:
        node.opType = r.stringField(key);
        break;
      case 5:
        node.attributes.push(decodeAttribute(r.messageField(key)));
        break;
      case 7:
        node.domain = r.stringField(key);
        break;
      default:
        r.skip(key);
    }
  }
  return node;
}

function decodeAttribute(r: ProtoReader): OnnxAttribute {
  const attr: OnnxAttribute = { name: "", type: ATTR_TYPE.UNDEFINED };
  // Old files leave `type` unset; the field that holds the value tells it.
  let inferred: number = ATTR_TYPE.UNDEFINED;
  const floats: Float32Array[] = [];
  const ints: BigInt64Array[] = [];
  while (!r.done) {
    const key = r.key();
    switch (fieldOf(key)) {
      case 1:
        attr.name = r.stringField(key);
        break;
      case 2:
        attr.f = r.floatField(key);
        inferred = ATTR_TYPE.FLOAT;
        break;
      case 3:
        attr.i = r.int64Field(key);
        inferred = ATTR_TYPE.INT;
        break;
      case 4:
        attr.s = r.bytesField(key);
        inferred = ATTR_TYPE.STRING;
        break;
      case 5:
        attr.t = decodeTensor(r.messageField(key));
        inferred = ATTR_TYPE.TENSOR;
        break;
      case 6:
        r.skip(key);
        inferred = ATTR_TYPE.GRAPH;
        break;
      case 7:
        floats.push(r.packedFloats(key));
        inferred = ATTR_TYPE.FLOATS;
        break;
      case 8:
        ints.push(r.packedInt64s(key));
        inferred = ATTR_TYPE.INTS;
        break;
      case 9:
        (attr.strings ??= []).push(r.bytesField(key));
        inferred = ATTR_TYPE.STRINGS;
        break;
      case 10:
        (attr.tensors ??= []).push(decodeTensor(r.messageField(key)));
        inferred = ATTR_TYPE.TENSORS;
        break;
      case 11:
        r.skip(key);
        inferred = ATTR_TYPE.GRAPHS;
        break;
      case 20:
        attr.type = r.uintField(key);
        break;
      default:
        r.skip(key);
    }
  }
  if (floats.length > 0) attr.floats = concat(floats, Float32Array);
  if (ints.length > 0) attr.ints = concat(ints, BigInt64Array);
  if (attr.type === ATTR_TYPE.UNDEFINED) attr.type = inferred;
  return attr;
}

function decodeTensor(r: ProtoReader): OnnxTensor {
  const tensor: OnnxTensor = { name: "", dims: [], dataType: DATA_TYPE.UNDEFINED };
  const dims: BigInt64Array[] = [];
  const floats: Float32Array[] = [];
  const int32s: Int32Array[] = [];
  const int64s: BigInt64Array[] = [];
  while (!r.done) {
    const key = r.key();
    switch (fieldOf(key)) {
      case 1:
        dims.push(r.packedInt64s(key));
        break;
      case 2:
        tensor.dataType = r.int32Field(key);
        break;
      case 3:
        r.skip(key);
        tensor.segmented = true;
        break;
      case 4:
        floats.push(r.packedFloats(key));
        break;
      case 5:
        int32s.push(r.packedInt32s(key));
        break;
      case 7:
        int64s.push(r.packedInt64s(key));
        break;
      case 8:
        tensor.name = r.stringField(key);
        break;
      case 9:
        tensor.rawData = r.bytesField(key);
        break;
      case 13:
        (tensor.externalData ??= []).push(decodeStringEntry(r.messageField(key)));
        break;
      case 14:
        tensor.dataLocation = r.uintField(key);
        break;
      default:
        r.skip(key);
    }
  }
  tensor.dims = Array.from(concat(dims, BigInt64Array), (d) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new ProtobufError(`Tensor "${tensor.name}" has invalid dim ${d}`);
    }
    return n;
  });
  if (floats.length > 0) tensor.floatData = concat(floats, Float32Array);
  if (int32s.length > 0) tensor.int32Data = concat(int32s, Int32Array);
  if (int64s.length > 0) tensor.int64Data = concat(int64s, BigInt64Array);
  return tensor;
}

function decodeStringEntry(r: ProtoReader): { key: string; value: string } {
  const entry = { key: "", value: "" };
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) entry.key = r.stringField(key);
    else if (fieldOf(key) === 2) entry.value = r.stringField(key);
    else r.skip(key);
  }
  return entry;
}

function decodeValueInfo(r: ProtoReader): OnnxValueInfo {
  const info: OnnxValueInfo = { name: "" };
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) info.name = r.stringField(key);
    else if (fieldOf(key) === 2) decodeType(r.messageField(key), info);
    else r.skip(key);
  }
  return info;
}

const NON_TENSOR_KINDS: Record<number, string> = {
  4: "sequence",
  5: "map",
  8: "sparse_tensor",
  9: "optional",
};

function decodeType(r: ProtoReader, info: OnnxValueInfo): void {
  while (!r.done) {
    const key = r.key();
    const field = fieldOf(key);
    if (field === 1) {
      decodeTensorType(r.messageField(key), info);
    } else {
      if (field in NON_TENSOR_KINDS) info.nonTensorKind = NON_TENSOR_KINDS[field];
      r.skip(key);
    }
  }
}

function decodeTensorType(r: ProtoReader, info: OnnxValueInfo): void {
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) info.elemType = r.int32Field(key);
    else if (fieldOf(key) === 2) info.shape = decodeShape(r.messageField(key));
    else r.skip(key);
  }
}

function decodeShape(r: ProtoReader): OnnxDim[] {
  const dims: OnnxDim[] = [];
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) dims.push(decodeDim(r.messageField(key)));
    else r.skip(key);
  }
  return dims;
}

function decodeDim(r: ProtoReader): OnnxDim {
  const dim: OnnxDim = {};
  while (!r.done) {
    const key = r.key();
    if (fieldOf(key) === 1) dim.value = r.uintField(key);
    else if (fieldOf(key) === 2) dim.param = r.stringField(key);
    else r.skip(key);
  }
  return dim;
}

/** A typed array as `concat` needs it. */
interface Chunk<T> {
  readonly length: number;
  set(array: T, offset?: number): void;
}

function concat<T extends Chunk<T>>(chunks: T[], Type: { new (length: number): T }): T {
  if (chunks.length === 1) return chunks[0];
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Type(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** Encodes a ModelProto. */
export function encodeModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  if (model.irVersion) w.uintField(1, model.irVersion);
  if (model.producerName) w.stringField(2, model.producerName);
  if (model.producerVersion) w.stringField(3, model.producerVersion);
  const graph = model.graph;
  if (graph) w.message(7, (g) => writeGraph(g, graph));
  for (const opset of model.opsetImport) {
    w.message(8, (o) => {
      if (opset.domain) o.stringField(1, opset.domain);
      o.uintField(2, opset.version);
    });
  }
  return w.finish();
}

/** Encodes a TensorProto. */
export function encodeTensorProto(tensor: OnnxTensor): Uint8Array {
  const w = new ProtoWriter();
  writeTensor(w, tensor);
  return w.finish();
}

function writeGraph(w: ProtoWriter, graph: OnnxGraph): void {
  for (const node of graph.nodes) w.message(1, (n) => writeNode(n, node));
  if (graph.name) w.stringField(2, graph.name);
  for (const t of graph.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const info of graph.inputs) w.message(11, (m) => writeValueInfo(m, info));
  for (const info of graph.outputs) w.message(12, (m) => writeValueInfo(m, info));
  for (const info of graph.valueInfo) w.message(13, (m) => writeValueInfo(m, info));
}

function writeNode(w: ProtoWriter, node: OnnxNode): void {
  for (const input of node.inputs) w.stringField(1, input);
  for (const output of node.outputs) w.stringField(2, output);
  if (node.name) w.stringField(3, node.name);
  w.stringField(4, node.opType);
  for (const attr of node.attributes) w.message(5, (a) => writeAttribute(a, attr));
  if (node.domain) w.stringField(7, node.domain);
}

function writeAttribute(w: ProtoWriter, attr: OnnxAttribute): void {
  w.stringField(1, attr.name);
  if (attr.f !== undefined) w.floatField(2, attr.f);
  if (attr.i !== undefined) w.int64Field(3, attr.i);
  if (attr.s !== undefined) w.bytesField(4, attr.s);
  const t = attr.t;
  if (t !== undefined) w.message(5, (m) => writeTensor(m, t));
  if (attr.floats !== undefined) w.packedFloats(7, attr.floats);
  if (attr.ints !== undefined) w.packedVarints(8, attr.ints);
  for (const s of attr.strings ?? []) w.bytesField(9, s);
  for (const tensor of attr.tensors ?? []) w.message(10, (m) => writeTensor(m, tensor));
  if (attr.type !== ATTR_TYPE.UNDEFINED) w.uintField(20, attr.type);
}

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  w.packedVarints(1, t.dims);
  w.int64Field(2, t.dataType);
  if (t.floatData) w.packedFloats(4, t.floatData);
  if (t.int32Data) w.packedVarints(5, t.int32Data);
  if (t.int64Data) w.packedVarints(7, t.int64Data);
  if (t.name) w.stringField(8, t.name);
  if (t.rawData) w.bytesField(9, t.rawData);
  for (const entry of t.externalData ?? []) {
    w.message(13, (m) => {
      m.stringField(1, entry.key);
      m.stringField(2, entry.value);
    });
  }
  if (t.dataLocation !== undefined) w.uintField(14, t.dataLocation);
}

function writeValueInfo(w: ProtoWriter, info: OnnxValueInfo): void {
  w.stringField(1, info.name);
  if (info.nonTensorKind !== undefined) {
    throw new RangeError(`Cannot encode the ${info.nonTensorKind} type of "${info.name}"`);
  }
  if (info.elemType === undefined && info.shape === undefined) return;
  w.message(2, (type) =>
    type.message(1, (tt) => {
      if (info.elemType !== undefined) tt.int64Field(1, info.elemType);
      const shape = info.shape;
      if (shape) {
        tt.message(2, (s) => {
          for (const dim of shape) {
            s.message(1, (d) => {
              if (dim.value !== undefined) d.uintField(1, dim.value);
              if (dim.param !== undefined) d.stringField(2, dim.param);
            });
          }
        });
      }
    }));
}
