/**
 * The model graph as resin holds it in memory: the importers produce it, the graph passes
 * rewrite it, the weight format stores it and the executors run it.
 *
 * Op vocabulary: ONNX operator names with ONNX opset-13 semantics, normalised by the
 * importers so that every constant operand is an attribute (see docs/FORMAT.md, "Ops").
 *
 * @module
 */

/** Element types a stored or runtime tensor may have. */
export type DType = "f32" | "f16" | "i8" | "u8" | "i32";

/** Every dtype, in a stable order. */
export const DTYPES: readonly DType[] = ["f32", "f16", "i8", "u8", "i32"];

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  f32: 4,
  f16: 2,
  i8: 1,
  u8: 1,
  i32: 4,
};

/** A dimension: a number, or a symbol (such as `"N"` for the batch) bound at load time. */
export type Dim = number | string;

/** Affine quantization: real = scale * (q - zeroPoint), per tensor or per `axis`. */
export interface QuantParams {
  /** One scale per tensor, or one per index along `axis`. */
  scale: number[];
  /** Zero points, same length as `scale`. */
  zeroPoint: number[];
  /** The per-channel axis; absent for per-tensor parameters. */
  axis?: number;
}

/** Attribute values a node may carry; all JSON-representable. */
export type AttrValue = number | string | number[] | string[];

/** A node's attributes by name. */
export type Attributes = Record<string, AttrValue>;

/** One operation of the graph. Absent optional inputs are written as `""`. */
export interface Node {
  /** Unique, human-readable name (used in errors and GPU labels). */
  name: string;
  /** Operator type, e.g. `"Conv"`. */
  op: string;
  /** Names of input values, in operator order; `""` for an absent optional input. */
  inputs: string[];
  /** Names of output values. */
  outputs: string[];
  /** Attributes; constant operands are attributes here, never inputs. */
  attrs: Attributes;
}

/** Memory layout of an image-like model input or output. */
export type Layout = "NCHW" | "NHWC" | "NC" | "other";

/** Type and shape of a graph input or output, possibly symbolic. */
export interface ValueInfo {
  /** Value name. */
  name: string;
  /** Element type. */
  dtype: DType;
  /** Shape; strings are symbols bound at load time. */
  shape: Dim[];
  /** Layout, when the value is image-like or a batch of vectors. */
  layout?: Layout;
  /** Quantization of an integer input or output. */
  quant?: QuantParams;
}

/** Concrete type of a runtime value: dtype and fully known shape. */
export interface TensorType {
  /** Element type. */
  dtype: DType;
  /** Concrete shape. */
  shape: number[];
  /** Quantization parameters, where the value is quantized. */
  quant?: QuantParams;
}

/** Typed array backing a tensor: f16 is carried as raw bits in a Uint16Array. */
export type TensorData = Float32Array | Uint16Array | Int8Array | Uint8Array | Int32Array;

/** A tensor with data, row-major (C order). */
export interface Tensor extends TensorType {
  /** Elements in row-major order. */
  data: TensorData;
}

/** A whole model graph. */
export interface Graph {
  /** Model name. */
  name: string;
  /** Nodes in a valid topological order. */
  nodes: Node[];
  /** Runtime inputs (weights are never inputs). */
  inputs: ValueInfo[];
  /** Graph outputs. */
  outputs: ValueInfo[];
  /** Constant tensors (weights) by name. */
  initializers: Map<string, Tensor>;
}

/** Number of elements of a concrete shape (1 for a scalar). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Allocates a zero-filled typed array of `length` elements of `dtype`. */
export function allocData(dtype: DType, length: number): TensorData {
  switch (dtype) {
    case "f32":
      return new Float32Array(length);
    case "f16":
      return new Uint16Array(length);
    case "i8":
      return new Int8Array(length);
    case "u8":
      return new Uint8Array(length);
    case "i32":
      return new Int32Array(length);
  }
}

/** Creates a tensor of `dtype` and `shape`, taking `data` or allocating zeros. */
export function makeTensor(
  dtype: DType,
  shape: number[],
  data?: TensorData | ArrayLike<number>,
): Tensor {
  const length = sizeOf(shape);
  const out = allocData(dtype, length);
  if (data !== undefined) {
    if (data.length !== length) {
      throw new Error(
        `Tensor data has ${data.length} elements but shape [${shape}] needs ${length}`,
      );
    }
    out.set(data);
  }
  return { dtype, shape: [...shape], data: out };
}
