/**
 * Import-time evaluation of the small integer tensors that shape arithmetic builds
 * (`Shape -> Gather -> Unsqueeze -> Concat -> Reshape`). Elements may be symbolic dims, so
 * that a batch dim read by `Shape` can later become `0` ("copy") in a Reshape attribute.
 *
 * @module
 */

import { sizeOf } from "../graph/types.ts";
import { sliceBounds, type SymDim } from "./shapes.ts";

/** A small integer tensor known at import time; elements may be symbolic dims. */
export interface IntValue {
  /** Shape. */
  dims: number[];
  /** Elements, row-major. */
  values: SymDim[];
}

/** `Shape` of a tensor with shape `shape`, keeping dims `[start, end)` (opset-15 clamping). */
export function shapeValue(shape: readonly SymDim[], start = 0, end = shape.length): IntValue {
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + shape.length : v, 0), shape.length);
  const values = shape.slice(clamp(start), clamp(end));
  return { dims: [values.length], values };
}

/** `Gather` along `axis`; throws a RangeError on an index outside the axis. */
export function gatherValue(data: IntValue, indices: IntValue, axis: number): IntValue {
  const n = data.dims[axis];
  const outer = sizeOf(data.dims.slice(0, axis));
  const inner = sizeOf(data.dims.slice(axis + 1));
  const values: SymDim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const index of indices.values) {
      if (typeof index !== "number" || index < -n || index >= n) {
        throw new RangeError(`Gather index ${index} is outside [${-n}, ${n - 1}]`);
      }
      const start = (o * n + (index < 0 ? index + n : index)) * inner;
      values.push(...data.values.slice(start, start + inner));
    }
  }
  return {
    dims: [...data.dims.slice(0, axis), ...indices.dims, ...data.dims.slice(axis + 1)],
    values,
  };
}

/** `Concat` along `axis` of tensors of equal rank. */
export function concatValue(parts: readonly IntValue[], axis: number): IntValue {
  const dims = [...parts[0].dims];
  for (const p of parts) {
    if (p.dims.length !== dims.length || p.dims.some((d, i) => i !== axis && d !== dims[i])) {
      throw new RangeError(`Cannot concatenate shapes [${dims}] and [${p.dims}] on axis ${axis}`);
    }
  }
  dims[axis] = parts.reduce((sum, p) => sum + p.dims[axis], 0);
  const outer = sizeOf(dims.slice(0, axis));
  const values: SymDim[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const block = sizeOf(p.dims.slice(axis));
      values.push(...p.values.slice(o * block, (o + 1) * block));
    }
  }
  return { dims, values };
}

/** `Slice` of a 1-D value (`starts`, `ends`, `steps` one element each). */
export function sliceValue(data: IntValue, start: number, end: number, step: number): IntValue {
  const [from, to] = sliceBounds(data.values.length, start, end, step);
  const values: SymDim[] = [];
  for (let i = from; step > 0 ? i < to : i > to; i += step) values.push(data.values[i]);
  return { dims: [values.length], values };
}
