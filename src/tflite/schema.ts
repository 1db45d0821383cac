/**
 * The subset of the TFLite schema (tensorflow/lite/schema/schema.fbs, version 3) that resin
 * reads, decoded from the FlatBuffer into plain objects: the model, its buffers, operator
 * codes, subgraphs, tensors with their quantization, operators, and the builtin options of
 * the operators resin imports. Field ids are the schema's declaration order; a union field
 * takes two ids (its type, then its value).
 *
 * @example
 * ```ts
 * const model = decodeTflite(Deno.readFileSync("model.tflite"));
 * const [main] = model.subgraphs;
 * ```
 *
 * @module
 */

import { FlatbufferError, rootTable, type Table } from "./flatbuffer.ts";

/** `TensorType` enum values resin knows by name. */
export const TENSOR_TYPE = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  STRING: 5,
  BOOL: 6,
  INT16: 7,
  COMPLEX64: 8,
  INT8: 9,
  FLOAT64: 10,
} as const;

/** The name of a `TensorType` value, e.g. `"INT8"`. */
export function tensorTypeName(type: number): string {
  const entry = Object.entries(TENSOR_TYPE).find(([, v]) => v === type);
  return entry ? entry[0] : `type ${type}`;
}

/** `BuiltinOperator` names by code, 0 to 209 (schema.fbs). */
const BUILTIN_NAMES = (
  "ADD AVERAGE_POOL_2D CONCATENATION CONV_2D DEPTHWISE_CONV_2D DEPTH_TO_SPACE DEQUANTIZE " +
  "EMBEDDING_LOOKUP FLOOR FULLY_CONNECTED HASHTABLE_LOOKUP L2_NORMALIZATION L2_POOL_2D " +
  "LOCAL_RESPONSE_NORMALIZATION LOGISTIC LSH_PROJECTION LSTM MAX_POOL_2D MUL RELU RELU_N1_TO_1 " +
  "RELU6 RESHAPE RESIZE_BILINEAR RNN SOFTMAX SPACE_TO_DEPTH SVDF TANH CONCAT_EMBEDDINGS " +
  "SKIP_GRAM CALL CUSTOM EMBEDDING_LOOKUP_SPARSE PAD UNIDIRECTIONAL_SEQUENCE_RNN GATHER " +
  "BATCH_TO_SPACE_ND SPACE_TO_BATCH_ND TRANSPOSE MEAN SUB DIV SQUEEZE " +
  "UNIDIRECTIONAL_SEQUENCE_LSTM STRIDED_SLICE BIDIRECTIONAL_SEQUENCE_RNN EXP TOPK_V2 SPLIT " +
  "LOG_SOFTMAX DELEGATE BIDIRECTIONAL_SEQUENCE_LSTM CAST PRELU MAXIMUM ARG_MAX MINIMUM LESS NEG " +
  "PADV2 GREATER GREATER_EQUAL LESS_EQUAL SELECT SLICE SIN TRANSPOSE_CONV SPARSE_TO_DENSE TILE " +
  "EXPAND_DIMS EQUAL NOT_EQUAL LOG SUM SQRT RSQRT SHAPE POW ARG_MIN FAKE_QUANT REDUCE_PROD " +
  "REDUCE_MAX PACK LOGICAL_OR ONE_HOT LOGICAL_AND LOGICAL_NOT UNPACK REDUCE_MIN FLOOR_DIV " +
  "REDUCE_ANY SQUARE ZEROS_LIKE FILL FLOOR_MOD RANGE RESIZE_NEAREST_NEIGHBOR LEAKY_RELU " +
  "SQUARED_DIFFERENCE MIRROR_PAD ABS SPLIT_V UNIQUE CEIL REVERSE_V2 ADD_N GATHER_ND COS WHERE " +
  "RANK ELU REVERSE_SEQUENCE MATRIX_DIAG QUANTIZE MATRIX_SET_DIAG ROUND HARD_SWISH IF WHILE " +
  "NON_MAX_SUPPRESSION_V4 NON_MAX_SUPPRESSION_V5 SCATTER_ND SELECT_V2 DENSIFY SEGMENT_SUM " +
  "BATCH_MATMUL PLACEHOLDER_FOR_GREATER_OP_CODES CUMSUM CALL_ONCE BROADCAST_TO RFFT2D CONV_3D " +
  "IMAG REAL COMPLEX_ABS HASHTABLE HASHTABLE_FIND HASHTABLE_IMPORT HASHTABLE_SIZE REDUCE_ALL " +
  "CONV_3D_TRANSPOSE VAR_HANDLE READ_VARIABLE ASSIGN_VARIABLE BROADCAST_ARGS " +
  "RANDOM_STANDARD_NORMAL BUCKETIZE RANDOM_UNIFORM MULTINOMIAL GELU DYNAMIC_UPDATE_SLICE " +
  "RELU_0_TO_1 UNSORTED_SEGMENT_PROD UNSORTED_SEGMENT_MAX UNSORTED_SEGMENT_SUM ATAN2 " +
  "UNSORTED_SEGMENT_MIN SIGN BITCAST BITWISE_XOR RIGHT_SHIFT STABLEHLO_LOGISTIC STABLEHLO_ADD " +
  "STABLEHLO_DIVIDE STABLEHLO_MULTIPLY STABLEHLO_MAXIMUM STABLEHLO_RESHAPE STABLEHLO_CLAMP " +
  "STABLEHLO_CONCATENATE STABLEHLO_BROADCAST_IN_DIM STABLEHLO_CONVOLUTION STABLEHLO_SLICE " +
  "STABLEHLO_CUSTOM_CALL STABLEHLO_REDUCE STABLEHLO_ABS STABLEHLO_AND STABLEHLO_COSINE " +
  "STABLEHLO_EXPONENTIAL STABLEHLO_FLOOR STABLEHLO_LOG STABLEHLO_MINIMUM STABLEHLO_NEGATE " +
  "STABLEHLO_OR STABLEHLO_POWER STABLEHLO_REMAINDER STABLEHLO_RSQRT STABLEHLO_SELECT " +
  "STABLEHLO_SUBTRACT STABLEHLO_TANH STABLEHLO_SCATTER STABLEHLO_COMPARE STABLEHLO_CONVERT " +
  "STABLEHLO_DYNAMIC_SLICE STABLEHLO_DYNAMIC_UPDATE_SLICE STABLEHLO_PAD STABLEHLO_IOTA " +
  "STABLEHLO_DOT_GENERAL STABLEHLO_REDUCE_WINDOW STABLEHLO_SORT STABLEHLO_WHILE STABLEHLO_GATHER " +
  "STABLEHLO_TRANSPOSE DILATE STABLEHLO_RNG_BIT_GENERATOR REDUCE_WINDOW STABLEHLO_COMPOSITE " +
  "STABLEHLO_SHIFT_LEFT STABLEHLO_CBRT STABLEHLO_CASE"
).split(" ");

/** The name of builtin operator `code`, e.g. `"CONV_2D"`; `BUILTIN_<code>` when unknown. */
export function builtinName(code: number): string {
  return BUILTIN_NAMES[code] ?? `BUILTIN_${code}`;
}

/** The code of builtin operator `name` (throws on an unknown name). */
export function builtinCode(name: string): number {
  const code = BUILTIN_NAMES.indexOf(name);
  if (code < 0) throw new Error(`Unknown TFLite builtin operator "${name}"`);
  return code;
}

/** `BuiltinOptions` union type ids of the options tables resin reads. */
export const OPTIONS_TYPE = {
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  ReducerOptions: 27,
  DequantizeOptions: 38,
  QuantizeOptions: 89,
} as const;

/** Affine quantization of a tensor: real = scale * (q - zeroPoint). */
export interface TfliteQuantization {
  scale: number[];
  zeroPoint: number[];
  /** The per-channel axis (meaningful when there are several scales). */
  quantizedDimension: number;
}

/** One tensor of a subgraph. */
export interface TfliteTensor {
  name: string;
  shape: number[];
  /** `TensorType` value. */
  type: number;
  /** Index into the model's buffers; 0 is the empty sentinel. */
  buffer: number;
  /** Present when the tensor has scales (not for min/max-only parameters). */
  quantization?: TfliteQuantization;
  /** True when the tensor has custom (non-affine) quantization details. */
  customQuantization: boolean;
  /** True when the tensor is sparse. */
  sparse: boolean;
  /** `shape_signature`: -1 marks a dynamic dim; empty when absent. */
  shapeSignature: number[];
  isVariable: boolean;
}

/** One operator of a subgraph; tensor index -1 marks an absent optional input. */
export interface TfliteOperator {
  opcodeIndex: number;
  inputs: number[];
  outputs: number[];
  /** `BuiltinOptions` union type (0: none). */
  optionsType: number;
  /** The builtin options table, read by the `*Options` decoders below. */
  options?: Table;
}

/** One subgraph. */
export interface TfliteSubGraph {
  name: string;
  tensors: TfliteTensor[];
  inputs: number[];
  outputs: number[];
  operators: TfliteOperator[];
}

/** An operator code: a builtin (by number) or a custom op (by name). */
export interface TfliteOperatorCode {
  /** `max(builtin_code, deprecated_builtin_code)`, as TFLite's `GetBuiltinCode` reads it. */
  builtinCode: number;
  customCode: string;
  version: number;
}

/** A decoded TFLite model. */
export interface TfliteModel {
  version: number;
  description: string;
  operatorCodes: TfliteOperatorCode[];
  subgraphs: TfliteSubGraph[];
  /** Buffer contents (views into the file); empty for buffer 0 and activations. */
  buffers: Uint8Array[];
}

/** The file identifier of TFLite schema 3 files, at bytes 4 to 7. */
export const TFLITE_IDENTIFIER = "TFL3";

/**
 * Decodes a TFLite file. Throws `FlatbufferError` for bytes that are not a well-formed TFLite
 * FlatBuffer (wrong identifier, offsets outside the file).
 */
export function decodeTflite(bytes: Uint8Array): TfliteModel {
  const model = rootTable(bytes, "Model", TFLITE_IDENTIFIER);
  return {
    version: model.scalar(0, "u32", 0),
    operatorCodes: model.tables(1, "operator_codes").map(operatorCode),
    subgraphs: model.tables(2, "subgraphs").map(subgraph),
    description: model.string(3, "description"),
    buffers: model.tables(4, "buffers").map((b) => buffer(b, bytes)),
  };
}

function operatorCode(t: Table): TfliteOperatorCode {
  return {
    builtinCode: Math.max(t.scalar(0, "i8", 0), t.scalar(3, "i32", 0)),
    customCode: t.string(1, "custom_code"),
    version: t.scalar(2, "i32", 1),
  };
}

function buffer(t: Table, file: Uint8Array): Uint8Array {
  const offset = t.scalar(1, "u64", 0);
  // Models over 2 GB keep data after the FlatBuffer: offset (> 1) and size into the file.
  if (offset <= 1) return t.bytes(0, "data");
  const size = t.scalar(2, "u64", 0);
  if (offset + size > file.length) {
    throw new FlatbufferError(
      `${t.path} points at bytes ${offset} to ${offset + size}, beyond the ` +
        `${file.length}-byte file`,
    );
  }
  return file.subarray(offset, offset + size);
}

function subgraph(t: Table): TfliteSubGraph {
  return {
    tensors: t.tables(0, "tensors").map(tensor),
    inputs: t.scalars(1, "i32", "inputs"),
    outputs: t.scalars(2, "i32", "outputs"),
    operators: t.tables(3, "operators").map(operator),
    name: t.string(4, "name"),
  };
}

function tensor(t: Table): TfliteTensor {
  const q = t.table(4, "quantization");
  const scale = q ? q.scalars(2, "f32", "scale") : [];
  return {
    shape: t.scalars(0, "i32", "shape"),
    type: t.scalar(1, "i8", 0),
    buffer: t.scalar(2, "u32", 0),
    name: t.string(3, "name"),
    ...(q && scale.length > 0 && {
      quantization: {
        scale,
        zeroPoint: q.scalars(3, "i64", "zero_point"),
        quantizedDimension: q.scalar(6, "i32", 0),
      },
    }),
    customQuantization: q !== undefined && q.scalar(4, "u8", 0) !== 0,
    isVariable: t.scalar(5, "bool", 0) !== 0,
    sparse: t.has(6),
    shapeSignature: t.scalars(7, "i32", "shape_signature"),
  };
}

function operator(t: Table): TfliteOperator {
  const options = t.table(4, "builtin_options");
  return {
    opcodeIndex: t.scalar(0, "u32", 0),
    inputs: t.scalars(1, "i32", "inputs"),
    outputs: t.scalars(2, "i32", "outputs"),
    optionsType: t.scalar(3, "u8", 0),
    ...(options && { options }),
  };
}

/** `Padding` enum: SAME = 0, VALID = 1. */
export type TflitePadding = "SAME" | "VALID";

/** `ActivationFunctionType` values by name. */
export const ACTIVATION = {
  NONE: 0,
  RELU: 1,
  RELU_N1_TO_1: 2,
  RELU6: 3,
  TANH: 4,
  SIGN_BIT: 5,
} as const;

function padding(t: Table | undefined, id: number): TflitePadding {
  return t?.scalar(id, "i8", 0) === 1 ? "VALID" : "SAME";
}

/** Conv2DOptions. */
export interface Conv2DOptions {
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  activation: number;
  dilationW: number;
  dilationH: number;
}

/** Reads Conv2DOptions (defaults where absent). */
export function conv2DOptions(t: Table | undefined): Conv2DOptions {
  return {
    padding: padding(t, 0),
    strideW: t?.scalar(1, "i32", 0) ?? 0,
    strideH: t?.scalar(2, "i32", 0) ?? 0,
    activation: t?.scalar(3, "i8", 0) ?? 0,
    dilationW: t?.scalar(4, "i32", 1) ?? 1,
    dilationH: t?.scalar(5, "i32", 1) ?? 1,
  };
}

/** DepthwiseConv2DOptions. */
export interface DepthwiseConv2DOptions extends Conv2DOptions {
  depthMultiplier: number;
}

/** Reads DepthwiseConv2DOptions (defaults where absent). */
export function depthwiseConv2DOptions(t: Table | undefined): DepthwiseConv2DOptions {
  return {
    padding: padding(t, 0),
    strideW: t?.scalar(1, "i32", 0) ?? 0,
    strideH: t?.scalar(2, "i32", 0) ?? 0,
    depthMultiplier: t?.scalar(3, "i32", 0) ?? 0,
    activation: t?.scalar(4, "i8", 0) ?? 0,
    dilationW: t?.scalar(5, "i32", 1) ?? 1,
    dilationH: t?.scalar(6, "i32", 1) ?? 1,
  };
}

/** Pool2DOptions. */
export interface Pool2DOptions {
  padding: TflitePadding;
  strideW: number;
  strideH: number;
  filterW: number;
  filterH: number;
  activation: number;
}

/** Reads Pool2DOptions (defaults where absent). */
export function pool2DOptions(t: Table | undefined): Pool2DOptions {
  return {
    padding: padding(t, 0),
    strideW: t?.scalar(1, "i32", 0) ?? 0,
    strideH: t?.scalar(2, "i32", 0) ?? 0,
    filterW: t?.scalar(3, "i32", 0) ?? 0,
    filterH: t?.scalar(4, "i32", 0) ?? 0,
    activation: t?.scalar(5, "i8", 0) ?? 0,
  };
}

/** FullyConnectedOptions. */
export interface FullyConnectedOptions {
  activation: number;
  /** 0: DEFAULT; 1: SHUFFLED4x16INT8. */
  weightsFormat: number;
  keepNumDims: boolean;
}

/** Reads FullyConnectedOptions (defaults where absent). */
export function fullyConnectedOptions(t: Table | undefined): FullyConnectedOptions {
  return {
    activation: t?.scalar(0, "i8", 0) ?? 0,
    weightsFormat: t?.scalar(1, "i8", 0) ?? 0,
    keepNumDims: (t?.scalar(2, "bool", 0) ?? 0) !== 0,
  };
}

/** The fused activation of AddOptions and MulOptions (field 0). */
export function fusedActivation(t: Table | undefined): number {
  return t?.scalar(0, "i8", 0) ?? 0;
}

/** SoftmaxOptions.beta (0 where absent, as the schema default says). */
export function softmaxBeta(t: Table | undefined): number {
  return t?.scalar(0, "f32", 0) ?? 0;
}

/** ReducerOptions.keep_dims. */
export function reducerKeepDims(t: Table | undefined): boolean {
  return (t?.scalar(0, "bool", 0) ?? 0) !== 0;
}
