/**
 * The contract every op file implements: type inference, a plain CPU reference, and
 * optionally a WGSL kernel and a faster CPU kernel. The registry (registry.ts) maps op type
 * to its definition.
 *
 * @module
 */

import type { Node, Tensor, TensorType } from "../graph/types.ts";
import type { TexelFormat } from "../shaders/texel_rows.ts";

/**
 * Where a storage binding of a GPU program takes its buffer from: a node input or output, a
 * scratch buffer (`GpuPlan.scratchBytes`), or a derived buffer (`GpuPlan.derived`).
 */
export type GpuBindingSource =
  | { kind: "input"; index: number }
  | { kind: "output"; index: number }
  | { kind: "scratch"; index: number }
  | { kind: "derived"; index: number };

/**
 * One compute dispatch of a GPU kernel.
 *
 * Binding convention: `@group(0) @binding(i)` is `bindings[i]` (storage buffers; inputs
 * read-only, outputs and scratch read_write) and `@binding(bindings.length)` is the uniform
 * buffer holding `uniforms`. Every tensor is a flat row-major storage array of its dtype;
 * i8/u8 tensors are packed four per u32 (little-endian, element 0 in the low byte).
 */
export interface GpuProgram {
  /**
   * Pipeline cache key: names the compiled variant and must change whenever `wgsl()`'s
   * text would. Only dtype, vector width, fused epilogue and workgroup size belong here;
   * shapes go in `uniforms`.
   */
  key: string;
  /** Returns the WGSL source of this variant (called once per distinct key). */
  wgsl: () => string;
  /** Storage bindings in binding order. */
  bindings: GpuBindingSource[];
  /** Uniform words (shapes, strides, f32 constants bit-cast); padded to 16 bytes by the runner. */
  uniforms: Uint32Array;
  /** Workgroup counts; each at most the device's maxComputeWorkgroupsPerDimension. */
  workgroups: [number, number, number];
}

/**
 * A buffer computed from a node's inputs alone (a repacked copy of its weights, say), which
 * the node's programs read through `{kind: "derived", index}` bindings.
 */
export interface GpuDerivedBuffer {
  /**
   * The program writing the buffer: it binds only node inputs (read) and, last, this derived
   * buffer (written).
   */
  program: GpuProgram;
  /** Byte size of the buffer. */
  bytes: number;
  /**
   * Where set, the derived value is a 2D texture of this format in rows of texels
   * (src/shaders/texel_rows.ts) instead of a buffer: its program binds it as a write-only
   * storage texture, the node's programs as a sampled texture (`textureLoad`).
   */
  texture?: TexelFormat;
}

/** A node's GPU work: its dispatches in order, and the buffers they share. */
export interface GpuPlan {
  /** Dispatches, recorded in order into one compute pass. */
  programs: GpuProgram[];
  /** Byte sizes of scratch buffers referenced by `{kind: "scratch"}` bindings. */
  scratchBytes?: number[];
  /**
   * Where entry i is set, scratch i is no arena buffer but a 2D texture of that format in rows
   * of texels (src/shaders/texel_rows.ts) holding `scratchBytes[i]` bytes: the program writing
   * it binds it as a write-only storage texture, later ones as a sampled texture. A session
   * shares one such texture per format and index among its nodes.
   */
  scratchTextures?: (TexelFormat | undefined)[];
  /**
   * Buffers derived from the node's inputs. Where every input a derived buffer's program binds
   * is constant (an initializer), the executor runs the program once, at load; otherwise it
   * runs it before the node's programs on every run.
   */
  derived?: GpuDerivedBuffer[];
}

/**
 * Element type of the operand copies a kernel makes for itself (derived and scratch buffers,
 * e.g. a conv's transposed weights): `"f32"`, or `"f16"` (opt-in; halves their bytes and
 * loads, arithmetic stays f32; see src/shaders/conv_repack.ts).
 */
export type StoragePrecision = "f32" | "f16";

/** What a GPU kernel planner is given. */
export interface GpuPlanContext {
  /** The node being planned. */
  node: Node;
  /** Types of the node's inputs (`undefined` where an optional input is absent). */
  inputs: (TensorType | undefined)[];
  /** Types of the node's outputs, from `inferTypes`. */
  outputs: TensorType[];
  /** The device's limits (dispatch size, workgroup storage, binding sizes). */
  limits: GPUSupportedLimits;
  /** Device features, e.g. `shader-f16`. */
  features: ReadonlySet<string>;
  /**
   * True for software adapters (llvmpipe, lavapipe, WARP): CPU-like, where kernels pick
   * variants without workgroup memory and barriers (see src/shaders/tiled_matmul.ts).
   */
  isFallbackAdapter: boolean;
  /** Element type of the kernel's own operand copies; `"f32"` unless the session opts in. */
  storage: StoragePrecision;
}

/** Everything resin knows about one op type. */
export interface OpDef {
  /** The op type this definition handles, e.g. `"Conv"`. */
  readonly op: string;
  /**
   * Validates attributes and input types and returns the output types. Throws an Error
   * naming the node when the node is malformed.
   */
  inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[];
  /** Plain, obviously correct CPU implementation (float64 accumulation where it matters). */
  reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[];
  /** Faster CPU implementation, tested against `reference`; `reference` is used if absent. */
  cpu?(node: Node, inputs: (Tensor | undefined)[]): Tensor[];
  /** True when output 0 is input 0's data under a new shape (Reshape, Flatten): no work. */
  readonly view?: boolean;
  /** Plans the WGSL dispatches for this node; absent when the op has no GPU kernel. */
  gpu?(ctx: GpuPlanContext): GpuPlan;
}
