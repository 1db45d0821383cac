/**
 * Import rules that do not depend on the data type: RESHAPE (a view of the plain layout) and
 * DEQUANTIZE (of a constant: folded at import; of an int8 activation: DequantizeLinear with
 * constant parameters, whose arithmetic `f32(scale * (q - z))` is TFLite's).
 *
 * @module
 */

import { dequantizeValue } from "../ops/tfl_math.ts";
import type { OpScope, TfliteRule } from "./op_scope.ts";
import { OPTIONS_TYPE, type TfliteQuantization } from "./schema.ts";

/** The target shape of a RESHAPE: the output's shape signature (-1 for the batch) or shape. */
export function reshapeTarget(s: OpScope): number[] {
  const out = s.state.tensor(s.output(), s.label);
  const target = out.shapeSignature.length > 0 ? out.shapeSignature : out.shape;
  if (target.filter((d) => d === -1).length > 1 || target.some((d) => d === 0 || d < -1)) {
    s.fail(`output shape [${target}] is not supported (one -1 at most, no zero dims)`);
  }
  return [...target];
}

/** RESHAPE: the new shape is read from the output tensor, which TFLite files always give. */
export const reshape: TfliteRule = (s) => {
  s.arity(1, 2);
  s.options(OPTIONS_TYPE.ReshapeOptions, "ReshapeOptions");
  s.emit("Reshape", [s.value(0, "plain")], [s.defineOutput("plain")], { shape: reshapeTarget(s) });
};

/** The quantization of tensor `index`, checked to exist with int8 zero points. */
export function quantOf(s: OpScope, index: number, what: string): TfliteQuantization {
  const q = s.state.tensor(index, s.label).quantization;
  if (!q || q.scale.length === 0) s.fail(`${what} ${s.state.label(index)} has no quantization`);
  if (q.zeroPoint.some((z) => z < -128 || z > 127) || q.scale.some((v) => !(v > 0))) {
    s.fail(`${what} ${s.state.label(index)} has invalid quantization (scale ${q.scale})`);
  }
  return q;
}

/** DEQUANTIZE of a constant (FLOAT16 or int8, folded) or of an int8 activation. */
export const dequantize: TfliteRule = (s) => {
  s.arity(1);
  s.options(OPTIONS_TYPE.DequantizeOptions, "DequantizeOptions");
  const input = s.input(0);
  if (s.state.isConstant(input)) {
    const t = s.state.constant(input, s.label);
    if (t.dtype === "f32") return s.state.fold(s.output(), t);
    if (t.dtype !== "i8") s.fail(`constant input must be FLOAT16 or INT8, got ${t.dtype}`);
    const q = quantOf(s, input, "input");
    const axis = q.scale.length === 1 ? -1 : q.quantizedDimension;
    const inner = axis < 0 ? 1 : t.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const data = Float32Array.from(t.data, (v, i) => {
      const c = axis < 0 ? 0 : Math.floor(i / inner) % t.shape[axis];
      return dequantizeValue(v, q.scale[c], q.zeroPoint[c] ?? 0);
    });
    return s.state.fold(s.output(), { dtype: "f32", shape: [...t.shape], data });
  }
  const q = quantOf(s, input, "input");
  if (s.dtype(0) !== "i8" || q.scale.length !== 1) {
    s.fail(`input must be an int8 activation quantized per tensor, got ${s.dtype(0)}`);
  }
  s.emit("DequantizeLinear", [s.value(0, "plain")], [s.defineOutput("plain")], {
    scale: q.scale[0],
    zero_point: q.zeroPoint[0] ?? 0,
  });
};
