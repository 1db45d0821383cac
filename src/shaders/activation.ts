/**
 * Fused activation epilogues (the `activation`, `clip_min`, `clip_max` attributes of fused
 * ops, docs/ARCHITECTURE.md "Fused ops"): parsing, CPU semantics and the WGSL expression, in
 * one place so that every kernel and its reference agree.
 *
 * Clip is `min(max(v, clip_min), clip_max)` (ONNX Clip, also when min > max); absent bounds
 * are the f32 extremes, which equal ONNX's infinite defaults on every finite value.
 *
 * @module
 */

import type { Node } from "../graph/types.ts";

/** A fused activation applied last in an epilogue. */
export type Activation =
  | { readonly kind: "none" }
  | { readonly kind: "relu" }
  | { readonly kind: "clip"; readonly min: number; readonly max: number };

/** Largest finite f32, the default clip bound magnitude. */
const F32_MAX = 3.4028234663852886e38;

/**
 * Reads a node's fused activation; throws an error naming the node for an unknown kind or a
 * non-numeric bound.
 *
 * @example
 * ```ts
 * parseActivation({ ...node, attrs: { activation: "clip", clip_min: 0, clip_max: 6 } });
 * ```
 */
export function parseActivation(node: Node): Activation {
  const kind = node.attrs.activation;
  if (kind === undefined) return { kind: "none" };
  if (kind === "relu") return { kind: "relu" };
  if (kind === "clip") {
    const bound = (name: string, fallback: number) => {
      const v = node.attrs[name] ?? fallback;
      if (typeof v !== "number" || Number.isNaN(v)) {
        throw new Error(
          `${node.op} "${node.name}": ${name} must be a number, got ${JSON.stringify(v)}`,
        );
      }
      return v;
    };
    return { kind: "clip", min: bound("clip_min", -F32_MAX), max: bound("clip_max", F32_MAX) };
  }
  throw new Error(
    `${node.op} "${node.name}": activation ${
      JSON.stringify(kind)
    } is not supported; use "relu" or "clip"`,
  );
}

/** Applies `act` to `v` on the CPU. */
export function activate(act: Activation, v: number): number {
  switch (act.kind) {
    case "none":
      return v;
    case "relu":
      return Math.max(v, 0);
    case "clip":
      return Math.min(Math.max(v, act.min), act.max);
  }
}

/** Short name of an activation's compiled form, for pipeline keys. */
export function activationKey(act: Activation): string {
  return act.kind;
}

/** Uniform fields the clip bounds travel in (present in every variant; unused unless clip). */
export const ACTIVATION_UNIFORMS = { clip_min: "f32", clip_max: "f32" } as const;

/** Values of `ACTIVATION_UNIFORMS` for `act`. */
export function activationUniforms(act: Activation): { clip_min: number; clip_max: number } {
  return act.kind === "clip" ? { clip_min: act.min, clip_max: act.max } : {
    clip_min: 0,
    clip_max: 0,
  };
}

/**
 * WGSL expression applying `act` to the f32 expression `expr`; clip reads its bounds from
 * `params.clip_min` / `params.clip_max` (declare `ACTIVATION_UNIFORMS` in `Params`).
 */
export function activationWgsl(act: Activation, expr: string): string {
  switch (act.kind) {
    case "none":
      return expr;
    case "relu":
      return `max(${expr}, 0.0)`;
    case "clip":
      return `min(max(${expr}, params.clip_min), params.clip_max)`;
  }
}
