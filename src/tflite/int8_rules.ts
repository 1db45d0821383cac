/**
 * Import rules for int8 TFLite operators (int8 activations with per-tensor quantization, int8
 * weights with per-channel or per-tensor scales and zero point 0, int32 bias): each maps one
 * operator onto a TFLite integer op (src/ops/tfl_*.ts) with every constant precomputed here:
 * weights padded to whole words (int8_pack.ts), the input zero point folded into the bias, the
 * requantization tensor, the activation range (tfl_math.ts `activationRange`). 4-D activations
 * stay NHWC with channels padded to 4 (`nhwc4`) between operators.
 *
 * @module
 */

import type { Attributes, Tensor } from "../graph/types.ts";
import { padChannels } from "../ops/nhwc4.ts";
import {
  activationRange,
  convMultipliers,
  fullyConnectedMultiplier,
  type QuantizedMultiplier,
  softmaxTable,
} from "../ops/tfl_math.ts";
import type { RequantMode } from "../ops/tfl_requant.ts";
import { poolAttrs, windowAttrs } from "./geometry.ts";
import { foldBias, packConvWeights, packDepthwiseWeights, requantTensor } from "./int8_pack.ts";
import type { OpScope, RuleOptions, TfliteRule } from "./op_scope.ts";
import { dequantize, quantOf, reshape } from "./shared_rules.ts";
import {
  type Conv2DOptions,
  conv2DOptions,
  depthwiseConv2DOptions,
  fullyConnectedOptions,
  fusedActivation,
  OPTIONS_TYPE,
  softmaxBeta,
} from "./schema.ts";

/** Per-tensor scale and zero point of an activation. */
function activationQuant(s: OpScope, index: number, what: string): [number, number] {
  const q = quantOf(s, index, what);
  if (q.scale.length !== 1) s.fail(`${what} ${s.state.label(index)} must be quantized per tensor`);
  return [q.scale[0], q.zeroPoint[0] ?? 0];
}

/** Per-output-channel weight scales (expanded from per-tensor), zero points checked to be 0. */
function weightScales(s: OpScope, index: number, channels: number, axis: number): number[] {
  const q = quantOf(s, index, "weights");
  if (q.zeroPoint.some((z) => z !== 0)) {
    s.fail(`weights must have zero point 0, got ${q.zeroPoint}`);
  }
  if (q.scale.length === 1) return Array(channels).fill(q.scale[0]);
  if (q.scale.length !== channels || q.quantizedDimension !== axis) {
    s.fail(
      `weights have ${q.scale.length} scales on axis ${q.quantizedDimension}, expected 1 or ` +
        `${channels} on axis ${axis}`,
    );
  }
  return q.scale;
}

/** Constant int8 weights of rank `rank`. */
function weights(s: OpScope, i: number, rank: number): Tensor {
  const w = s.state.constant(s.input(i), s.label);
  if (w.dtype !== "i8" || w.shape.length !== rank) {
    s.fail(`weights must be a constant int8 tensor of rank ${rank}, got ${w.dtype} [${w.shape}]`);
  }
  return w;
}

/** The optional int32 bias input `i` of `channels` values. */
function bias(s: OpScope, i: number, channels: number): Tensor | undefined {
  const t = s.input(i);
  if (t < 0) return undefined;
  const b = s.state.constant(t, s.label);
  if (b.dtype !== "i32" || b.shape.length !== 1 || b.shape[0] !== channels) {
    s.fail(`bias must be int32 [${channels}], got ${b.dtype} [${b.shape}]`);
  }
  return b;
}

/** Checks input `i` is an int8 activation of rank `rank` (when given). */
function int8Input(s: OpScope, i: number, rank?: number): number[] {
  const shape = s.shape(i);
  if (s.dtype(i) !== "i8" || (rank !== undefined && shape.length !== rank)) {
    s.fail(
      `input ${i} must be an int8 tensor${rank ? ` of rank ${rank}` : ""}, got ${
        s.dtype(i)
      } [${shape}]`,
    );
  }
  if (s.state.isConstant(s.input(i))) s.fail(`input ${i} must not be a constant`);
  return shape;
}

/** The output's quantization and the fused activation's int8 range as node attributes. */
function epilogue(s: OpScope, activation: number): Attributes {
  const [scale, zero] = activationQuant(s, s.output(), "output");
  const [lo, hi] = activationRange(s.activation(activation), scale, zero);
  return { y_zero_point: zero, act_min: lo, act_max: hi };
}

function requantMode(options: RuleOptions): RequantMode {
  return options.requantization === "xnnpack" ? "float" : "fixed_point";
}

/** The filters of a conv: packed weights and each output channel's `taps` weights. */
interface Filters {
  packed: Tensor;
  outputs: number;
  taps: number;
  weightOf: (m: number, j: number) => number;
  scales: number[];
}

/** Emits the TflConv of CONV_2D / DEPTHWISE_CONV_2D with `o`'s window and activation. */
function emitConv(s: OpScope, options: RuleOptions, o: Conv2DOptions, f: Filters): void {
  const [sx, zx] = activationQuant(s, s.input(0), "input");
  const [sy] = activationQuant(s, s.output(), "output");
  const channels = padChannels(f.outputs);
  const mults = convMultipliers(sx, f.scales, sy);
  const requant = requantTensor(requantMode(options), sx, f.scales, sy, channels, (i) => mults[i]);
  const inputs = [
    s.value(0, "nhwc4"),
    s.constant("weights", f.packed),
    s.constant(
      "bias",
      foldBias(bias(s, 2, f.outputs), f.outputs, f.taps, f.weightOf, zx, channels),
    ),
    s.constant("requant", requant),
  ];
  const [kh, kw] = s.shape(1).slice(1, 3);
  const attrs: Attributes = {
    ...windowAttrs(s, o.padding, [kh, kw], [o.strideH, o.strideW], [o.dilationH, o.dilationW]),
    x_pad: zx,
    ...epilogue(s, o.activation),
  };
  s.emit("TflConv", inputs, [s.defineOutput("nhwc4")], attrs);
}

const conv2d: TfliteRule = (s, options) => {
  s.arity(2, 3);
  const o = conv2DOptions(s.options(OPTIONS_TYPE.Conv2DOptions, "Conv2DOptions"));
  const [, , , c] = int8Input(s, 0, 4);
  const w = weights(s, 1, 4);
  const [m, kh, kw, wc] = w.shape;
  if (wc !== c) {
    s.fail(
      `weights [${w.shape}] do not fit ${c} input channels (grouped int8 convs are not ` +
        `supported)`,
    );
  }
  const taps = kh * kw * c;
  emitConv(s, options, o, {
    packed: packConvWeights(w),
    outputs: m,
    taps,
    weightOf: (o, j) => w.data[o * taps + j],
    scales: weightScales(s, s.input(1), m, 0),
  });
};

const depthwiseConv2d: TfliteRule = (s, options) => {
  s.arity(2, 3);
  const o = depthwiseConv2DOptions(
    s.options(OPTIONS_TYPE.DepthwiseConv2DOptions, "DepthwiseConv2DOptions"),
  );
  const [, , , c] = int8Input(s, 0, 4);
  const w = weights(s, 1, 4);
  const [one, kh, kw, cm] = w.shape;
  if (one !== 1 || cm !== c) {
    s.fail(
      `weights [${w.shape}] must be [1, kh, kw, ${c}] (int8 depth multipliers other than 1 ` +
        `are not supported)`,
    );
  }
  emitConv(s, options, o, {
    packed: packDepthwiseWeights(w),
    outputs: c,
    taps: kh * kw,
    weightOf: (ch, j) => w.data[j * c + ch],
    scales: weightScales(s, s.input(1), c, 3),
  });
};

const add: TfliteRule = (s) => {
  s.arity(2);
  const activation = fusedActivation(s.options(OPTIONS_TYPE.AddOptions, "AddOptions"));
  const a = int8Input(s, 0), b = int8Input(s, 1);
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    s.fail(`operands [${a}] and [${b}] differ in shape (int8 broadcasting is not supported)`);
  }
  const [as, az] = activationQuant(s, s.input(0), "input 0");
  const [bs, bz] = activationQuant(s, s.input(1), "input 1");
  const [ys] = activationQuant(s, s.output(), "output");
  const layout = a.length === 4 ? "nhwc4" : "plain";
  const attrs: Attributes = {
    a_scale: as,
    a_zero_point: az,
    b_scale: bs,
    b_zero_point: bz,
    y_scale: ys,
    ...epilogue(s, activation),
  };
  s.emit("TflAdd", [s.value(0, layout), s.value(1, layout)], [s.defineOutput(layout)], attrs);
};

/** Pools need the output quantized like the input (TFLite checks it too). */
function samePoolQuant(s: OpScope): void {
  const [xs, xz] = activationQuant(s, s.input(0), "input");
  const [ys, yz] = activationQuant(s, s.output(), "output");
  if (xs !== ys || xz !== yz) {
    s.fail(`input (scale ${xs}, zero point ${xz}) and output (${ys}, ${yz}) quantization differ`);
  }
}

const averagePool: TfliteRule = (s) => {
  s.arity(1);
  int8Input(s, 0, 4);
  samePoolQuant(s);
  const { options, attrs } = poolAttrs(s);
  const { act_min, act_max } = epilogue(s, options.activation);
  s.emit("TflAveragePool", [s.value(0, "nhwc4")], [s.defineOutput("nhwc4")], {
    ...attrs,
    act_min,
    act_max,
  });
};

const maxPool: TfliteRule = (s) => {
  s.arity(1);
  int8Input(s, 0, 4);
  samePoolQuant(s);
  const { options, attrs } = poolAttrs(s);
  const { act_min, act_max } = epilogue(s, options.activation);
  if (act_min !== -128 || act_max !== 127) {
    s.fail(`a fused activation that clamps ([${act_min}, ${act_max}]) is not supported on int8`);
  }
  s.emit("MaxPoolNhwc", [s.value(0, "nhwc4")], [s.defineOutput("nhwc4")], attrs);
};

const fullyConnected: TfliteRule = (s, options) => {
  s.arity(2, 3);
  const o = fullyConnectedOptions(
    s.options(OPTIONS_TYPE.FullyConnectedOptions, "FullyConnectedOptions"),
  );
  if (o.weightsFormat !== 0) s.fail(`weights format ${o.weightsFormat} is not supported`);
  if (o.keepNumDims && s.outputShape().length !== 2) {
    s.fail("keep_num_dims is not supported on int8");
  }
  const shape = int8Input(s, 0);
  const w = weights(s, 1, 2);
  const [n, k] = w.shape;
  if (shape[shape.length - 1] !== k) s.fail(`input [${shape}] does not fit weights [${w.shape}]`);
  const [sx, zx] = activationQuant(s, s.input(0), "input");
  const [sy] = activationQuant(s, s.output(), "output");
  const q = quantOf(s, s.input(1), "weights");
  const scales = weightScales(s, s.input(1), n, 0);
  // Per-tensor: GetQuantizedConvolutionMultipler (f32 product); per-channel: as CONV_2D.
  const fixed: QuantizedMultiplier[] = q.scale.length === 1
    ? Array(n).fill(fullyConnectedMultiplier(sx, scales[0], sy))
    : convMultipliers(sx, scales, sy);
  let x = s.value(0, "plain");
  if (shape.length !== 2) {
    const rows = s.temp("rows");
    s.emit("Reshape", [x], [rows], { shape: [-1, k] }, "rows");
    x = rows;
  }
  const inputs = [
    x,
    s.constant("weights", w),
    s.constant("bias", foldBias(bias(s, 2, n), n, k, (c, j) => w.data[c * k + j], zx, n)),
    s.constant("requant", requantTensor(requantMode(options), sx, scales, sy, n, (i) => fixed[i])),
  ];
  s.emit("TflFullyConnected", inputs, [s.defineOutput("plain")], epilogue(s, o.activation));
};

const softmax: TfliteRule = (s) => {
  s.arity(1);
  int8Input(s, 0);
  const beta = softmaxBeta(s.options(OPTIONS_TYPE.SoftmaxOptions, "SoftmaxOptions"));
  const [sx] = activationQuant(s, s.input(0), "input");
  const [sy, zy] = activationQuant(s, s.output(), "output");
  const table = s.constant("table", { dtype: "f32", shape: [256], data: softmaxTable(sx, beta) });
  s.emit("TflSoftmax", [s.value(0, "plain"), table], [s.defineOutput("plain")], {
    y_scale: sy,
    y_zero_point: zy,
  });
};

/** Int8 rules by builtin operator name. */
export const INT8_RULES: Readonly<Record<string, TfliteRule>> = {
  ADD: add,
  AVERAGE_POOL_2D: averagePool,
  CONV_2D: conv2d,
  DEPTHWISE_CONV_2D: depthwiseConv2d,
  DEQUANTIZE: dequantize,
  FULLY_CONNECTED: fullyConnected,
  MAX_POOL_2D: maxPool,
  RESHAPE: reshape,
  SOFTMAX: softmax,
};
