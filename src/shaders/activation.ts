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

/** The [lo, hi] clamp equal to `act`: `min(max(v, lo), hi)` (none: the infinities). */
export function activationBounds(act: Activation): [number, number] {
  if (act.kind === "relu") return [0, Infinity];
  if (act.kind === "clip") return [act.min, act.max];
  return [-Infinity, Infinity];
}

/**
 * Uniform fields an activation travels in: every kernel compiles one form for all of them
 * (`activationWgsl`), so that the activation makes no pipeline variant (each costs 30-100 ms
 * of compilation on lavapipe). `act_clamp` is 0 for none, else the value is clamped to
 * [`clip_min`, `clip_max`]: [0, +inf] for relu, the node's bounds for clip.
 */
export const ACTIVATION_UNIFORMS = { act_clamp: "u32", clip_min: "f32", clip_max: "f32" } as const;

/** Values of `ACTIVATION_UNIFORMS` for `act`. */
export function activationUniforms(
  act: Activation,
): { act_clamp: number; clip_min: number; clip_max: number } {
  if (act.kind === "none") return { act_clamp: 0, clip_min: 0, clip_max: 0 };
  const [clipMin, clipMax] = activationBounds(act);
  return { act_clamp: 1, clip_min: clipMin, clip_max: clipMax };
}

/**
 * WGSL expression applying the activation in `params` (declare `ACTIVATION_UNIFORMS` in
 * `Params`) to the f32 expression `expr`, which it evaluates once. With `act_clamp` 0 the
 * value passes unchanged (NaN and infinities included); relu is max(v, 0) (min with +inf
 * changes nothing), clip min(max(v, clip_min), clip_max) as ONNX Clip.
 */
export function activationWgsl(expr: string): string {
  return `activate(${expr})`;
}

/** WGSL of the `activate` function `activationWgsl` calls; declare it once per shader. */
export const ACTIVATION_WGSL = /* wgsl */ `
fn activate(v: f32) -> f32 {
  return select(v, min(max(v, params.clip_min), params.clip_max), params.act_clamp != 0u);
}`;
