/**
 * What the TFLite importer knows while it walks subgraph 0: the resin nodes and initializers
 * emitted so far, the names in use, and for every TFLite tensor the resin values that hold it
 * in each memory layout:
 *
 * - `plain`: TFLite's own layout (NHWC for 4-D tensors, row-major otherwise);
 * - `nchw`: a 4-D float tensor transposed to NCHW, the layout of resin's fp32 ops;
 * - `nhwc4`: a 4-D int8 tensor with its channels padded to a multiple of 4 (src/ops/nhwc4.ts),
 *   the layout of the int8 ops.
 *
 * An op rule asks for the layout it needs (`value`) and the state inserts the conversion once
 * per tensor: a Transpose, a free Reshape where both layouts order memory alike (C = 1 or
 * H = W = 1), a PadChannels or an UnpadChannels. Graph outputs are read in the plain layout.
 *
 * @module
 */

import { type DType, DTYPE_BYTES, type Node, sizeOf, type Tensor } from "../graph/types.ts";
import { halfToNumber } from "../onnx/tensor.ts";
import { TfliteImportError } from "./errors.ts";
import { TENSOR_TYPE, tensorTypeName, type TfliteModel, type TfliteTensor } from "./schema.ts";

/** A memory layout of a tensor's resin value (see the module doc). */
export type ValueLayout = "plain" | "nchw" | "nhwc4";

/** Resin dtypes of the TFLite tensor types resin runs. */
const DTYPE_OF: Readonly<Record<number, DType>> = {
  [TENSOR_TYPE.FLOAT32]: "f32",
  [TENSOR_TYPE.INT32]: "i32",
  [TENSOR_TYPE.INT8]: "i8",
};

/** Import-time state of subgraph 0 of a TFLite model. */
export class ImportState {
  /** Resin nodes emitted so far, in order. */
  readonly nodes: Node[] = [];
  /** Constant tensors emitted so far, by value name. */
  readonly initializers = new Map<string, Tensor>();
  /** The decoded model. */
  readonly model: TfliteModel;
  readonly #tensors: TfliteTensor[];
  readonly #values = new Map<number, Partial<Record<ValueLayout, string>>>();
  readonly #folded = new Map<number, Tensor>();
  readonly #valueNames = new Set<string>();
  readonly #nodeNames = new Set<string>();
  readonly #baseNames: string[];

  /** Checks every tensor of subgraph 0 (type, buffer index and size) and names them. */
  constructor(model: TfliteModel) {
    this.model = model;
    this.#tensors = model.subgraphs[0].tensors;
    const seen = new Set<string>();
    this.#baseNames = this.#tensors.map((t, i) => {
      checkTensor(model, t, i);
      const base = t.name !== "" && !seen.has(t.name) ? t.name : `tensor_${i}`;
      seen.add(base);
      return base;
    });
  }

  /** Tensor `index`, checked to exist; `reader` names who reads it in the error. */
  tensor(index: number, reader: string): TfliteTensor {
    const t = this.#tensors[index];
    if (!Number.isInteger(index) || !t) {
      throw new TfliteImportError(
        `${reader} reads tensor ${index}, but subgraph 0 has ${this.#tensors.length} tensors`,
      );
    }
    return t;
  }

  /** How errors name tensor `index`: `tensor #3 "conv/weights"`. */
  label(index: number): string {
    return `tensor #${index} "${this.#tensors[index].name}"`;
  }

  /** The resin dtype of tensor `index`, or an error naming `reader`. */
  dtype(index: number, reader: string): DType {
    const t = this.tensor(index, reader);
    const dtype = DTYPE_OF[t.type];
    if (!dtype) {
      throw new TfliteImportError(
        `${reader}: ${this.label(index)} has type ${tensorTypeName(t.type)}; resin runs ` +
          `FLOAT32, INT32 and INT8 tensors`,
      );
    }
    return dtype;
  }

  /** True when tensor `index` holds constant data (in its buffer, or folded at import). */
  isConstant(index: number): boolean {
    return this.#folded.has(index) || this.model.buffers[this.#tensors[index].buffer].length > 0;
  }

  /** Records `tensor` as the value of tensor `index`, computed at import time. */
  fold(index: number, tensor: Tensor): void {
    this.#folded.set(index, tensor);
  }

  /**
   * The data of constant tensor `index` as a resin tensor: FLOAT32 and FLOAT16 as f32, INT32
   * and INT64 as i32 (range-checked), INT8 as i8.
   */
  constant(index: number, reader: string): Tensor {
    const t = this.tensor(index, reader);
    const folded = this.#folded.get(index);
    if (folded) return folded;
    if (!this.isConstant(index)) {
      throw new TfliteImportError(`${reader}: ${this.label(index)} must be a constant`);
    }
    const bytes = this.model.buffers[t.buffer].slice();
    const shape = [...t.shape];
    switch (t.type) {
      case TENSOR_TYPE.FLOAT32:
        return { dtype: "f32", shape, data: new Float32Array(bytes.buffer) };
      case TENSOR_TYPE.FLOAT16:
        return {
          dtype: "f32",
          shape,
          data: Float32Array.from(new Uint16Array(bytes.buffer), halfToNumber),
        };
      case TENSOR_TYPE.INT32:
        return { dtype: "i32", shape, data: new Int32Array(bytes.buffer) };
      case TENSOR_TYPE.INT64: {
        const values = Array.from(new BigInt64Array(bytes.buffer), (v) => {
          if (v < -0x80000000n || v > 0x7fffffffn) {
            throw new TfliteImportError(
              `${reader}: ${this.label(index)} holds ${v}, which is not an int32`,
            );
          }
          return Number(v);
        });
        return { dtype: "i32", shape, data: Int32Array.from(values) };
      }
      case TENSOR_TYPE.INT8:
        return { dtype: "i8", shape, data: new Int8Array(bytes.buffer) };
      default:
        throw new TfliteImportError(
          `${reader}: constant ${this.label(index)} has type ${tensorTypeName(t.type)}, which ` +
            `resin does not read`,
        );
    }
  }

  /** The elements of constant integer tensor `index` as numbers. */
  ints(index: number, reader: string): number[] {
    const t = this.constant(index, reader);
    if (t.dtype !== "i32") {
      throw new TfliteImportError(`${reader}: ${this.label(index)} must hold integers`);
    }
    return Array.from(t.data);
  }

  /** A new value name: `base`, or `base_1`, `base_2`, ... when that is in use. */
  freshValue(base: string): string {
    return takeName(this.#valueNames, base);
  }

  /** A new node name: `base`, or `base_1`, `base_2`, ... when that is in use. */
  freshNode(base: string): string {
    return takeName(this.#nodeNames, base);
  }

  /** Adds constant `tensor` under a fresh name derived from `base`; returns the name. */
  addInitializer(base: string, tensor: Tensor): string {
    const name = this.freshValue(base);
    this.initializers.set(name, tensor);
    return name;
  }

  /** Appends `node` (its name must come from `freshNode`). */
  emit(node: Node): void {
    this.nodes.push(node);
  }

  /**
   * Declares the resin value that holds tensor `index` in `layout` and returns its name: the
   * tensor's own name for the plain layout, with a `_nchw` / `_nhwc4` suffix otherwise. A
   * 4-D int8 tensor whose channels are a multiple of 4 is plain and NHWC4 at once.
   */
  define(index: number, layout: ValueLayout): string {
    const variants = this.#values.get(index) ?? {};
    if (variants[layout]) {
      throw new TfliteImportError(`${this.label(index)} is written by more than one operator`);
    }
    const base = this.#baseNames[index];
    const shape = this.#tensors[index].shape;
    const both = layout !== "nchw" && shape.length === 4 && shape[3] % 4 === 0;
    const name = this.freshValue(layout === "plain" || both ? base : `${base}_${layout}`);
    variants[layout] = name;
    if (both) variants[layout === "plain" ? "nhwc4" : "plain"] = name;
    this.#values.set(index, variants);
    return name;
  }

  /** True when tensor `index` has a resin value (a graph input or an operator's output). */
  isDefined(index: number): boolean {
    return this.#values.has(index);
  }

  /**
   * The resin value holding tensor `index` in `layout`, converting once from a layout it
   * already has; `reader` names who reads it in errors.
   */
  value(index: number, layout: ValueLayout, reader: string): string {
    const variants = this.#values.get(index);
    if (!variants) {
      throw new TfliteImportError(
        `${reader} reads ${this.label(index)}, which no graph input or earlier operator writes`,
      );
    }
    const have = variants[layout];
    if (have) return have;
    const shape = this.#tensors[index].shape;
    if (shape.length !== 4) {
      throw new TfliteImportError(
        `${reader} needs ${this.label(index)} [${shape}] in layout ${layout}, which only 4-D ` +
          `tensors have`,
      );
    }
    const [, h, w, c] = shape;
    if (layout === "nhwc4") return this.#convert(index, variants.plain!, "nhwc4", "PadChannels");
    if (layout === "nchw") {
      return this.#convert(index, variants.plain!, "nchw", "Transpose", [0, c, h, w]);
    }
    if (variants.nchw) {
      return this.#convert(index, variants.nchw, "plain", "Transpose", [0, h, w, c]);
    }
    return this.#convert(index, variants.nhwc4!, "plain", "UnpadChannels");
  }

  /** Emits the conversion of `from` (tensor `index`) into `layout`. */
  #convert(
    index: number,
    from: string,
    layout: ValueLayout,
    op: "Transpose" | "PadChannels" | "UnpadChannels",
    viewShape?: number[],
  ): string {
    const to = this.define(index, layout);
    const name = this.freshNode(`${to}_layout`);
    const [, h, w, c] = this.#tensors[index].shape;
    if (op === "PadChannels") {
      const zero = this.#tensors[index].quantization?.zeroPoint[0] ?? 0;
      this.emit({ name, op, inputs: [from], outputs: [to], attrs: { pad_value: zero } });
    } else if (op === "UnpadChannels") {
      this.emit({ name, op, inputs: [from], outputs: [to], attrs: { channels: c } });
    } else if (c === 1 || h * w === 1) {
      // Both layouts order memory alike: a free view.
      this.emit({
        name,
        op: "Reshape",
        inputs: [from],
        outputs: [to],
        attrs: { shape: viewShape! },
      });
    } else {
      const perm = layout === "nchw" ? [0, 3, 1, 2] : [0, 2, 3, 1];
      this.emit({ name, op, inputs: [from], outputs: [to], attrs: { perm } });
    }
    return to;
  }
}

function takeName(taken: Set<string>, base: string): string {
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  taken.add(name);
  return name;
}

/** Checks tensor `i`'s shape and buffer: index in range, data size matching the shape. */
function checkTensor(model: TfliteModel, t: TfliteTensor, i: number): void {
  const label = `Tensor #${i} "${t.name}"`;
  if (t.buffer >= model.buffers.length) {
    throw new TfliteImportError(
      `${label} refers to buffer ${t.buffer}, but the model has ${model.buffers.length} buffers`,
    );
  }
  if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new TfliteImportError(`${label} has an invalid shape [${t.shape}]`);
  }
  if (t.sparse) throw new TfliteImportError(`${label} is sparse, which resin does not support`);
  if (t.customQuantization) {
    throw new TfliteImportError(`${label} has custom quantization, which resin does not support`);
  }
  const data = model.buffers[t.buffer];
  if (data.length === 0) return;
  const bytes = ELEMENT_BYTES[t.type];
  if (bytes === undefined) return;
  const want = sizeOf(t.shape) * bytes;
  if (data.length !== want) {
    throw new TfliteImportError(
      `${label} [${t.shape}] of type ${tensorTypeName(t.type)} needs ${want} bytes, but buffer ` +
        `${t.buffer} holds ${data.length}`,
    );
  }
}

/** Bytes per element of the constant types resin reads. */
const ELEMENT_BYTES: Readonly<Record<number, number>> = {
  [TENSOR_TYPE.FLOAT32]: DTYPE_BYTES.f32,
  [TENSOR_TYPE.FLOAT16]: 2,
  [TENSOR_TYPE.INT32]: DTYPE_BYTES.i32,
  [TENSOR_TYPE.INT64]: 8,
  [TENSOR_TYPE.INT8]: DTYPE_BYTES.i8,
};
