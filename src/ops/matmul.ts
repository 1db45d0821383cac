/**
 * MatMul (ONNX, numpy semantics): A [..., M, K] x B [..., K, N] -> [..., M, N] with the batch
 * dims broadcast; a 1-D A is promoted to [1, K] and a 1-D B to [K, 1], and the promoted dim
 * is removed from the output.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { gemmF32, rowMajor } from "./cpu_gemm.ts";
import { denseMatmulProgram } from "./gemm.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** One broadcast batch dimension: its size and the element strides of A and B along it. */
export interface BatchDim {
  size: number;
  strideA: number;
  strideB: number;
}

/** A MatMul node's validated dimensions. */
export interface MatMulGeometry {
  m: number;
  n: number;
  k: number;
  /** Broadcast batch dims, outermost first, with adjacent dims of one pattern merged. */
  batch: BatchDim[];
  /** Number of [M, N] output matrices. */
  batches: number;
  /** Output shape. */
  shape: number[];
}

/** Validates a MatMul node against its input types; every error names the node. */
export function matMulGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): MatMulGeometry {
  const fail = (msg: string): never => {
    throw new Error(`MatMul "${node.name}": ${msg}`);
  };
  if (inputs.length !== 2) fail(`takes 2 inputs, got ${inputs.length}`);
  const a = inputs[0] ?? fail("input A is missing");
  const b = inputs[1] ?? fail("input B is missing");
  for (const t of [a, b]) if (t.dtype !== "f32") fail(`inputs must be f32, got ${t.dtype}`);
  if (a.shape.length === 0 || b.shape.length === 0) {
    fail(`inputs must be at least 1-D, got A [${a.shape}] and B [${b.shape}]`);
  }
  const aShape = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bShape = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const [m, k] = aShape.slice(-2);
  const [kb, n] = bShape.slice(-2);
  if (k !== kb) fail(`inner dimensions differ: A [${a.shape}] and B [${b.shape}]`);
  const aBatch = aShape.slice(0, -2), bBatch = bShape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batchShape: number[] = [];
  const dims: BatchDim[] = [];
  let strideA = m * k, strideB = k * n;
  for (let i = 1; i <= rank; i++) {
    const da = aBatch[aBatch.length - i] ?? 1, db = bBatch[bBatch.length - i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      fail(`batch dims of A [${a.shape}] and B [${b.shape}] do not broadcast`);
    }
    const size = Math.max(da, db);
    batchShape.unshift(size);
    dims.unshift({ size, strideA: da === 1 ? 0 : strideA, strideB: db === 1 ? 0 : strideB });
    strideA *= da;
    strideB *= db;
  }
  const shape = [...batchShape];
  if (a.shape.length > 1) shape.push(m);
  if (b.shape.length > 1) shape.push(n);
  let batches = 1;
  for (const d of batchShape) batches *= d;
  return { m, n, k, batch: mergeBatchDims(dims), batches, shape };
}

/** Drops size-1 dims and merges adjacent dims whose strides continue each other. */
function mergeBatchDims(dims: BatchDim[]): BatchDim[] {
  const merged: BatchDim[] = [];
  for (const d of dims) {
    if (d.size === 1) continue;
    const last = merged[merged.length - 1];
    if (
      last && last.strideA === d.strideA * d.size && last.strideB === d.strideB * d.size
    ) {
      merged[merged.length - 1] = {
        size: last.size * d.size,
        strideA: d.strideA,
        strideB: d.strideB,
      };
    } else {
      merged.push({ ...d });
    }
  }
  return merged;
}

/** Element offsets of batch `index`'s A and B matrices. */
export function batchOffsets(batch: readonly BatchDim[], index: number): [number, number] {
  let a = 0, b = 0, rest = index;
  for (let i = batch.length - 1; i >= 0; i--) {
    const d = batch[i];
    const j = rest % d.size;
    rest = Math.floor(rest / d.size);
    a += j * d.strideA;
    b += j * d.strideB;
  }
  return [a, b];
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  return [{ dtype: "f32", shape: matMulGeometry(node, inputs).shape }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = matMulGeometry(node, inputs);
  const a = inputs[0]!.data, b = inputs[1]!.data;
  const y = makeTensor("f32", g.shape);
  for (let t = 0; t < g.batches; t++) {
    const [aOff, bOff] = batchOffsets(g.batch, t);
    for (let i = 0; i < g.m; i++) {
      for (let j = 0; j < g.n; j++) {
        let sum = 0;
        for (let p = 0; p < g.k; p++) sum += a[aOff + i * g.k + p] * b[bOff + p * g.n + j];
        y.data[(t * g.m + i) * g.n + j] = sum;
      }
    }
  }
  return [y];
}

/** Fast CPU MatMul: one blocked product of cpu_gemm.ts per batch index. */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = matMulGeometry(node, inputs);
  const a = inputs[0]!.data as Float32Array, b = inputs[1]!.data as Float32Array;
  const y = makeTensor("f32", g.shape);
  for (let t = 0; t < g.batches; t++) {
    const [aOff, bOff] = batchOffsets(g.batch, t);
    gemmF32(
      g.m,
      g.n,
      g.k,
      rowMajor(a, g.k, aOff),
      rowMajor(b, g.n, bOff),
      rowMajor(y.data as Float32Array, g.n, t * g.m * g.n),
    );
  }
  return [y];
}

/** GPU MatMul: the dense tiled product of gemm.ts, one batch index per workgroup row. */
function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = matMulGeometry(ctx.node, ctx.inputs);
  const program = denseMatmulProgram(
    { ...g, transA: false, transB: false, alpha: 1, beta: 0 },
    ctx.limits,
    ctx.isFallbackAdapter,
  );
  return { programs: [program] };
}

/** MatMul on f32 tensors of rank >= 1. */
export const matmul: OpDef = { op: "MatMul", inferTypes, reference, cpu, gpu };
