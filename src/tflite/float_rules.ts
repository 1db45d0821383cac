/**
 * Import rules for float TFLite operators: each maps one operator onto resin's fp32 ops,
 * which run NCHW. 4-D activations are read in the `nchw` layout (import_state.ts inserts one
 * Transpose per tensor where needed), weights are transposed at import (OHWI -> OIHW;
 * depthwise `[1, kh, kw, C*M]` -> `[C*M, 1, kh, kw]` with `group = C`), and a fused activation
 * becomes a Relu or Clip node after the op (the load-time fusion passes fold it back into a
 * Conv epilogue).
 *
 * @module
 */

import { type Attributes, sizeOf } from "../graph/types.ts";
import type { TflActivation } from "../ops/tfl_math.ts";
import {
  constantToNchw,
  depthwiseToOihw,
  NCHW_AXIS_OF_NHWC,
  ohwiToOihw,
  poolAttrs,
  windowAttrs,
} from "./geometry.ts";
import type { ValueLayout } from "./import_state.ts";
import type { OpScope, TfliteRule } from "./op_scope.ts";
import { dequantize, quantOf, reshape, reshapeTarget } from "./shared_rules.ts";
import {
  conv2DOptions,
  depthwiseConv2DOptions,
  fullyConnectedOptions,
  fusedActivation,
  OPTIONS_TYPE,
  reducerKeepDims,
  softmaxBeta,
} from "./schema.ts";

/**
 * Emits the main node of an operator writing `value`, then its fused activation into the
 * output tensor (in `layout`); with no activation the main node writes the output directly.
 */
function withActivation(
  s: OpScope,
  activation: TflActivation,
  layout: ValueLayout,
  main: (output: string) => void,
): void {
  if (activation === "NONE") return main(s.defineOutput(layout));
  const raw = s.temp("raw");
  main(raw);
  const out = s.defineOutput(layout);
  if (activation === "RELU") {
    s.emit("Relu", [raw], [out], {}, "relu");
  } else {
    const [min, max] = activation === "RELU6" ? [0, 6] : [-1, 1];
    s.emit("Clip", [raw], [out], { min, max }, "clip");
  }
}

/** The optional bias input `i` as an initializer name, or `""`. */
function bias(s: OpScope, i: number, channels: number): string {
  const t = s.input(i);
  if (t < 0) return "";
  const b = s.state.constant(t, s.label);
  if (b.dtype !== "f32" || b.shape.length !== 1 || b.shape[0] !== channels) {
    s.fail(`bias must be f32 [${channels}], got ${b.dtype} [${b.shape}]`);
  }
  return s.constant("bias", b);
}

/** A constant weight input `i` of rank `rank`, as f32. */
function weights(s: OpScope, i: number, rank: number) {
  const w = s.state.constant(s.input(i), s.label);
  if (w.dtype !== "f32" || w.shape.length !== rank) {
    s.fail(`weights must be a constant f32 tensor of rank ${rank}, got ${w.dtype} [${w.shape}]`);
  }
  return w;
}

/** Checks input 0 is a 4-D f32 tensor and returns its NHWC dims. */
function image(s: OpScope): number[] {
  const shape = s.shape(0);
  if (s.dtype(0) !== "f32" || shape.length !== 4) {
    s.fail(`input must be a 4-D f32 NHWC tensor, got ${s.dtype(0)} [${shape}]`);
  }
  return shape;
}

const conv2d: TfliteRule = (s) => {
  s.arity(2, 3);
  const o = conv2DOptions(s.options(OPTIONS_TYPE.Conv2DOptions, "Conv2DOptions"));
  const [, , , c] = image(s);
  const w = weights(s, 1, 4);
  const [m, kh, kw, i] = w.shape;
  if (c % i !== 0 || m % (c / i) !== 0) {
    s.fail(`weights [${w.shape}] do not fit ${c} input channels`);
  }
  const attrs: Attributes = {
    ...windowAttrs(s, o.padding, [kh, kw], [o.strideH, o.strideW], [o.dilationH, o.dilationW]),
    group: c / i,
  };
  const inputs = [s.value(0, "nchw"), s.constant("weights", ohwiToOihw(w)), bias(s, 2, m)];
  withActivation(s, s.activation(o.activation), "nchw", (out) => {
    s.emit("Conv", inputs, [out], attrs);
  });
};

const depthwiseConv2d: TfliteRule = (s) => {
  s.arity(2, 3);
  const o = depthwiseConv2DOptions(
    s.options(OPTIONS_TYPE.DepthwiseConv2DOptions, "DepthwiseConv2DOptions"),
  );
  const [, , , c] = image(s);
  const w = weights(s, 1, 4);
  const [one, kh, kw, cm] = w.shape;
  if (one !== 1 || cm % c !== 0) s.fail(`weights [${w.shape}] do not fit ${c} input channels`);
  const attrs: Attributes = {
    ...windowAttrs(s, o.padding, [kh, kw], [o.strideH, o.strideW], [o.dilationH, o.dilationW]),
    group: c,
  };
  const inputs = [s.value(0, "nchw"), s.constant("weights", depthwiseToOihw(w)), bias(s, 2, cm)];
  withActivation(s, s.activation(o.activation), "nchw", (out) => {
    s.emit("Conv", inputs, [out], attrs);
  });
};

/** ADD and MUL: NCHW for a 4-D output (constants moved to NCHW), the plain layout otherwise. */
function binary(op: "Add" | "Mul", optionsType: number, optionsName: string): TfliteRule {
  return (s) => {
    s.arity(2);
    const activation = s.activation(fusedActivation(s.options(optionsType, optionsName)));
    const rank4 = s.outputShape().length === 4;
    const inputs = [0, 1].map((i) => {
      if (s.dtype(i) !== "f32") s.fail(`input ${i} must be f32, got ${s.dtype(i)}`);
      if (s.state.isConstant(s.input(i))) {
        const t = s.state.constant(s.input(i), s.label);
        return s.constant(`operand${i}`, rank4 ? constantToNchw(t) : t);
      }
      if (rank4 && s.shape(i).length !== 4) {
        s.fail(`broadcasting a ${s.shape(i).length}-D activation to 4-D is not supported`);
      }
      return s.value(i, rank4 ? "nchw" : "plain");
    });
    withActivation(s, activation, rank4 ? "nchw" : "plain", (out) => s.emit(op, inputs, [out], {}));
  };
}

const pad: TfliteRule = (s) => {
  s.arity(2);
  const shape = s.shape(0);
  const paddings = s.state.ints(s.input(1), s.label);
  if (paddings.length !== 2 * shape.length) {
    s.fail(`paddings hold ${paddings.length} values for a rank-${shape.length} input`);
  }
  const rank4 = shape.length === 4;
  // TFLite: [[before, after] per dim]; resin: all befores, then all afters (NCHW order).
  const order = rank4 ? [0, 3, 1, 2] : shape.map((_, i) => i);
  const pads = [...order.map((d) => paddings[2 * d]), ...order.map((d) => paddings[2 * d + 1])];
  const layout = rank4 ? "nchw" : "plain";
  s.emit("Pad", [s.value(0, layout)], [s.defineOutput(layout)], { pads, mode: "constant" });
};

function pool(op: "MaxPool" | "AveragePool"): TfliteRule {
  return (s) => {
    s.arity(1);
    image(s);
    // TFLite averages over the in-image elements only, ONNX's count_include_pad = 0.
    const { options, attrs } = poolAttrs(s);
    withActivation(s, s.activation(options.activation), "nchw", (out) => {
      s.emit(op, [s.value(0, "nchw")], [out], attrs);
    });
  };
}

const mean: TfliteRule = (s) => {
  s.arity(2);
  const shape = s.shape(0);
  const keep = reducerKeepDims(s.options(OPTIONS_TYPE.ReducerOptions, "ReducerOptions"));
  const axes = [
    ...new Set(s.state.ints(s.input(1), s.label).map((a) => (a < 0 ? a + shape.length : a))),
  ]
    .sort();
  const attrs = (a: number[]) => ({ axes: a, keepdims: keep ? 1 : 0 });
  if (shape.length === 4) {
    // Reducing NCHW gives the TFLite result when the kept dims stay in NHWC order.
    const nchwAxes = axes.map((a) => NCHW_AXIS_OF_NHWC[a]);
    const kept = [0, 1, 2, 3].filter((a) => !axes.includes(a));
    const sameOrder = kept.map((a) => NCHW_AXIS_OF_NHWC[a]).every((v, i, all) =>
      i === 0 || all[i - 1] < v
    );
    if (keep || sameOrder) {
      const out = s.defineOutput(keep ? "nchw" : "plain");
      s.emit("ReduceMean", [s.value(0, "nchw")], [out], attrs(nchwAxes));
      return;
    }
  }
  s.emit("ReduceMean", [s.value(0, "plain")], [s.defineOutput("plain")], attrs(axes));
};

const fullyConnected: TfliteRule = (s) => {
  s.arity(2, 3);
  const o = fullyConnectedOptions(
    s.options(OPTIONS_TYPE.FullyConnectedOptions, "FullyConnectedOptions"),
  );
  if (o.weightsFormat !== 0) s.fail(`weights format ${o.weightsFormat} is not supported`);
  const w = weights(s, 1, 2);
  const [n, k] = w.shape;
  const shape = s.shape(0);
  if (sizeOf(shape) % k !== 0) s.fail(`input [${shape}] does not fit weights [${w.shape}]`);
  let x = s.value(0, "plain");
  if (shape.length !== 2) {
    const flat = s.temp("rows");
    s.emit("Reshape", [x], [flat], { shape: [-1, k] }, "rows");
    x = flat;
  }
  const keepDims = o.keepNumDims && s.outputShape().length !== 2;
  const inputs = [x, s.constant("weights", w), bias(s, 2, n)];
  withActivation(s, s.activation(o.activation), "plain", (out) => {
    const rows = keepDims ? s.temp("gemm") : out;
    s.emit("Gemm", inputs, [rows], { transB: 1 });
    if (keepDims) s.emit("Reshape", [rows], [out], { shape: reshapeTarget(s) }, "shape");
  });
};

const softmax: TfliteRule = (s) => {
  s.arity(1);
  const beta = softmaxBeta(s.options(OPTIONS_TYPE.SoftmaxOptions, "SoftmaxOptions"));
  let x = s.value(0, "plain");
  if (beta !== 1) {
    const scaled = s.temp("scaled");
    const b = s.constant("beta", { dtype: "f32", shape: [], data: Float32Array.of(beta) });
    s.emit("Mul", [x, b], [scaled], {}, "beta");
    x = scaled;
  }
  s.emit("Softmax", [x], [s.defineOutput("plain")], { axis: -1 });
};

/** QUANTIZE of an f32 activation to int8 (TflQuantize, rounding as `options` says). */
const quantize: TfliteRule = (s, options) => {
  s.arity(1);
  s.options(OPTIONS_TYPE.QuantizeOptions, "QuantizeOptions");
  if (s.dtype(0) !== "f32") s.fail(`input must be f32, got ${s.dtype(0)}`);
  const out = s.output();
  const q = quantOf(s, out, "output");
  if (s.state.dtype(out, s.label) !== "i8" || q.scale.length !== 1) {
    s.fail(`output must be int8 quantized per tensor, got ${s.state.dtype(out, s.label)}`);
  }
  s.emit("TflQuantize", [s.value(0, "plain")], [s.defineOutput("plain")], {
    scale: q.scale[0],
    zero_point: q.zeroPoint[0] ?? 0,
    rounding: options.requantization,
  });
};

/** Float rules by builtin operator name. */
export const FLOAT_RULES: Readonly<Record<string, TfliteRule>> = {
  ADD: binary("Add", OPTIONS_TYPE.AddOptions, "AddOptions"),
  AVERAGE_POOL_2D: pool("AveragePool"),
  CONV_2D: conv2d,
  DEPTHWISE_CONV_2D: depthwiseConv2d,
  DEQUANTIZE: dequantize,
  FULLY_CONNECTED: fullyConnected,
  MAX_POOL_2D: pool("MaxPool"),
  MEAN: mean,
  MUL: binary("Mul", OPTIONS_TYPE.MulOptions, "MulOptions"),
  PAD: pad,
  QUANTIZE: quantize,
  RESHAPE: reshape,
  SOFTMAX: softmax,
};
