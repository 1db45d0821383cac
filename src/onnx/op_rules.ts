/**
 * One rule per ONNX op: how a node of that op becomes resin nodes with opset-13 semantics
 * and constant operands as attributes (docs/ARCHITECTURE.md, "The resin op vocabulary").
 * A rule emits nodes, folds the node into an import-time value, or bypasses it.
 *
 * @module
 */

import type { Attributes, Node } from "../graph/types.ts";
import { concatValue, gatherValue, type IntValue, shapeValue, sliceValue } from "./fold.ts";
import { clampInt32, int32 } from "./import_state.ts";
import type { NodeScope } from "./node_scope.ts";
import { DATA_TYPE, dataTypeName, type OnnxTensor } from "./onnx_proto.ts";
import { inferShapes, type SymDim } from "./shapes.ts";
import { resinDTypeOf } from "./tensor.ts";

/** Normalises one ONNX node. */
export type OpRule = (s: NodeScope) => void;

/** The largest finite float32: Clip-6's default bounds. */
const FLT_MAX = 3.4028234663852886e38;

const CONV_ATTRS = ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"];
const MAX_POOL_ATTRS = ["auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "strides"];
const AVERAGE_POOL_ATTRS = [
  "auto_pad",
  "ceil_mode",
  "count_include_pad",
  "kernel_shape",
  "pads",
  "strides",
];

/** Emits the node as it is (one output), keeping the listed attributes. */
function keep(attrs: readonly string[], minInputs: number, maxInputs = minInputs): OpRule {
  return (s) => {
    s.inputCount(minInputs, maxInputs);
    if (s.node.outputs.length !== 1) s.fail(`has ${s.node.outputs.length} outputs, expected 1`);
    s.emit(s.node.opType, s.node.inputs, [s.output(0)], s.copyAttrs(attrs));
  };
}

const maxPool: OpRule = (s) => {
  s.inputCount(1);
  s.dropOutput(1, "Indices");
  // storage_order only affects the Indices output.
  s.ignoreAttrs("storage_order");
  s.emit("MaxPool", [s.input(0)], [s.output(0)], s.copyAttrs(MAX_POOL_ATTRS));
};

const batchNormalization: OpRule = (s) => {
  s.inputCount(5);
  const spatial = s.opset < 9 ? s.attrInt("spatial") : undefined;
  if (spatial !== undefined && spatial !== 1) {
    s.fail(`spatial=${spatial} is not supported; resin normalises per channel (spatial=1)`);
  }
  if (s.opset >= 14 && s.attrInt("training_mode")) {
    s.fail("training_mode=1 is not supported; resin runs inference only");
  }
  if (s.opset < 7) s.ignoreAttrs("is_test");
  s.ignoreAttrs("momentum");
  for (let i = 1; i < s.node.outputs.length; i++) s.dropOutput(i, "training statistics");
  s.emit("BatchNormalization", s.node.inputs, [s.output(0)], s.copyAttrs(["epsilon"]));
};

const clip: OpRule = (s) => {
  const attrs: Attributes = {};
  if (s.opset < 11) {
    s.inputCount(1);
    attrs.min = s.attrFloat("min") ?? -FLT_MAX;
    attrs.max = s.attrFloat("max") ?? FLT_MAX;
  } else {
    s.inputCount(1, 3);
    if (s.input(1)) attrs.min = s.constScalar(1, "min");
    if (s.input(2)) attrs.max = s.constScalar(2, "max");
  }
  s.emit("Clip", [s.input(0)], [s.output(0)], attrs);
};

/** Add and Mul; before opset 7 `broadcast=1, axis=k` aligns B at axis k of A. */
function binary(op: string): OpRule {
  return (s) => {
    s.inputCount(2);
    let b = s.input(1);
    if (s.opset < 7) {
      const broadcast = s.attrInt("broadcast") ?? 0;
      const axis = s.attrInt("axis");
      if (broadcast === 1 && axis !== undefined) {
        const rankA = s.shape(0, "legacy broadcast aligns B at an axis of A").length;
        const rankB = s.shape(1, "legacy broadcast aligns B at an axis of A").length;
        const trailing = rankA - (axis < 0 ? axis + rankA : axis) - rankB;
        if (trailing > 0) {
          const unsqueezed = s.freshValue("b_aligned");
          const axes = Array.from({ length: trailing }, (_, i) => rankB + i);
          s.emit("Unsqueeze", [b], [unsqueezed], { axes }, "align");
          b = unsqueezed;
        }
      }
    }
    s.emit(op, [s.input(0), b], [s.output(0)]);
  };
}

const sum: OpRule = (s) => {
  s.inputCount(1, Infinity);
  const inputs = s.node.inputs;
  if (inputs.length === 1) return s.bypass(0, inputs[0]);
  let acc = inputs[0];
  for (let i = 1; i < inputs.length; i++) {
    const last = i === inputs.length - 1;
    const out = last ? s.output(0) : s.freshValue(`partial${i}`);
    s.emit("Add", [acc, inputs[i]], [out], {}, last ? "" : `add${i}`);
    acc = out;
  }
};

const gemm: OpRule = (s) => {
  if (s.opset < 7) s.ignoreAttrs("broadcast");
  keep(["alpha", "beta", "transA", "transB"], 2, 3)(s);
};

/**
 * A Reshape `shape` attribute from folded values: a symbol equal to the input's dim at
 * the same index becomes 0 (copy); one remaining symbol becomes -1 (infer).
 */
function reshapeTarget(s: NodeScope, values: readonly SymDim[], copyable: (i: number) => boolean) {
  const out = values.map((v, i) =>
    typeof v === "number" ? int32(v, `Shape element ${i}`) : copyable(i) ? 0 : undefined
  );
  const open = out.flatMap((v, i) => (v === undefined ? [i] : []));
  if (open.length === 1 && !out.includes(-1)) out[open[0]] = -1;
  else if (open.length > 0) {
    s.fail(
      `shape element ${open[0]} is the symbolic dim "${values[open[0]]}", which resin ` +
        `cannot express with 0 (copy) or -1 (infer)`,
    );
  }
  return out as number[];
}

const reshape: OpRule = (s) => {
  let shape: SymDim[];
  if (s.opset < 5) {
    s.inputCount(1);
    shape = s.attrInts("shape") ?? s.fail("has no shape attribute");
  } else {
    s.inputCount(2);
    shape = s.intValue(1)?.values ?? s.fail(`the shape input "${s.input(1)}" must be a constant`);
  }
  if (s.opset >= 14 && s.attrInt("allowzero") === 1 && shape.includes(0)) {
    s.fail("allowzero=1 with a 0 in the shape is not supported");
  }
  const input = s.knownShape(0);
  const target = reshapeTarget(s, shape, (i) => input?.[i] === shape[i]);
  s.emit("Reshape", [s.input(0)], [s.output(0)], { shape: target });
};

/** Softmax; before opset 13 it normalises over the input flattened to 2-D at `axis`. */
const softmax: OpRule = (s) => {
  s.inputCount(1);
  const given = s.attrInt("axis");
  if (s.opset >= 13) return s.emit("Softmax", [s.input(0)], [s.output(0)], { axis: given ?? -1 });
  const x = s.shape(0, "pre-13 Softmax flattens its input to 2-D");
  const axis = (given ?? 1) < 0 ? (given ?? 1) + x.length : (given ?? 1);
  if (axis === x.length - 1) return s.emit("Softmax", [s.input(0)], [s.output(0)], { axis });
  const flat = s.freshValue("flat");
  const normalised = s.freshValue("softmax2d");
  // Flatten makes [prod(x[:axis]), prod(x[axis:])]: its dim 0 is x[0] only when axis is 1.
  const shape = reshapeTarget(s, x, (i) => i === 0 && axis === 1);
  s.emit("Flatten", [s.input(0)], [flat], { axis }, "flatten");
  s.emit("Softmax", [flat], [normalised], { axis: 1 });
  s.emit("Reshape", [normalised], [s.output(0)], { shape }, "reshape");
};

const concat: OpRule = (s) => {
  s.inputCount(1, Infinity);
  const axis = s.attrInt("axis") ?? (s.opset < 4 ? 1 : s.fail("has no axis attribute"));
  const values = s.node.inputs.map((_, i) => s.intValue(i));
  if (values.every((v) => v !== undefined)) {
    const rank = values[0]!.dims.length;
    return foldWith(s, () => concatValue(values as IntValue[], axis < 0 ? axis + rank : axis));
  }
  s.emit("Concat", s.node.inputs, [s.output(0)], { axis });
};

const split: OpRule = (s) => {
  const attrs: Attributes = { axis: s.attrInt("axis") ?? 0 };
  let sizes: number[] | undefined;
  if (s.opset >= 13) {
    s.inputCount(1, 2);
    if (s.input(1)) sizes = s.constNumbers(1, "split");
  } else {
    s.inputCount(1);
    sizes = s.attrInts("split");
  }
  if (sizes) attrs.split = sizes.map((v, i) => int32(v, `Split size ${i}`));
  s.emit("Split", [s.input(0)], s.node.outputs, attrs);
};

/** Squeeze and Unsqueeze: `axes` from the input (opset 13) or the attribute. */
function squeeze(op: "Squeeze" | "Unsqueeze"): OpRule {
  return (s) => {
    let axes: number[] | undefined;
    if (s.opset >= 13) {
      s.inputCount(op === "Unsqueeze" ? 2 : 1, 2);
      if (s.input(1)) axes = s.constNumbers(1, "axes");
    } else {
      s.inputCount(1);
      axes = s.attrInts("axes");
    }
    if (op === "Unsqueeze" && !axes) s.fail("has no axes");
    const attrs: Attributes = axes ? { axes: axes.map((v, i) => int32(v, `Axis ${i}`)) } : {};
    const value = s.intValue(0);
    if (value) {
      const node: Node = { name: s.name, op, inputs: [s.input(0)], outputs: [s.output(0)], attrs };
      const [dims] = inferShapes(node, [value.dims], () => "?");
      return s.fold(0, { dims: dims as number[], values: value.values });
    }
    s.emit(op, [s.input(0)], [s.output(0)], attrs);
  };
}

const cast: OpRule = (s) => {
  s.inputCount(1);
  const to = s.opset < 6
    ? DATA_TYPE[s.attrString("to") as keyof typeof DATA_TYPE]
    : s.attrInt("to");
  if (to === undefined) return s.fail("has no valid 'to' attribute");
  const value = s.intValue(0);
  if (value && (to === DATA_TYPE.INT64 || to === DATA_TYPE.INT32)) return s.fold(0, value);
  const dtype = resinDTypeOf(to) ?? s.fail(`casting to ${dataTypeName(to)} is not supported`);
  s.emit("Cast", [s.input(0)], [s.output(0)], { to: dtype });
};

const identity: OpRule = (s) => {
  s.inputCount(1);
  s.bypass(0, s.input(0));
};

const dropout: OpRule = (s) => {
  s.inputCount(1, 3);
  s.ignoreAttrs("ratio", "is_test", "seed");
  if (s.input(2) && s.constScalar(2, "training_mode") !== 0) {
    s.fail("training_mode is true; resin runs inference only");
  }
  s.dropOutput(1, "mask");
  s.bypass(0, s.input(0));
};

const constant: OpRule = (s) => {
  s.inputCount(0);
  const tensor = s.attrTensor("value") ?? scalarConstant(s);
  s.constant(tensor);
};

function scalarConstant(s: NodeScope): OnnxTensor {
  const f = s.attrFloat("value_float");
  if (f !== undefined) {
    return { name: "", dims: [], dataType: DATA_TYPE.FLOAT, floatData: Float32Array.of(f) };
  }
  const fs = s.attrFloats("value_floats");
  if (fs) {
    return {
      name: "",
      dims: [fs.length],
      dataType: DATA_TYPE.FLOAT,
      floatData: Float32Array.from(fs),
    };
  }
  const i = s.attrInt("value_int");
  if (i !== undefined) {
    return {
      name: "",
      dims: [],
      dataType: DATA_TYPE.INT64,
      int64Data: BigInt64Array.of(BigInt(i)),
    };
  }
  const is = s.attrInts("value_ints");
  if (is) {
    return {
      name: "",
      dims: [is.length],
      dataType: DATA_TYPE.INT64,
      int64Data: BigInt64Array.from(is, (v) => BigInt(v)),
    };
  }
  return s.fail(
    "has no tensor, float or int value (sparse and string constants are not supported)",
  );
}

const shape: OpRule = (s) => {
  s.inputCount(1);
  const dims = s.shape(0, "resin evaluates Shape at import time");
  const start = s.opset >= 15 ? s.attrInt("start") : undefined;
  const end = s.opset >= 15 ? s.attrInt("end") : undefined;
  s.fold(0, shapeValue(dims, start, end));
};

const gather: OpRule = (s) => {
  s.inputCount(2);
  const axis = s.attrInt("axis") ?? 0;
  const data = s.intValue(0);
  const indices = s.intValue(1);
  if (!data || !indices) {
    return s.fail("resin supports Gather only on constant integer inputs (folded at import)");
  }
  const rank = data.dims.length;
  foldWith(s, () => gatherValue(data, indices, axis < 0 ? axis + rank : axis));
};

const slice: OpRule = (s) => {
  let starts: number[] | undefined;
  let ends: number[] | undefined;
  let axes: number[] | undefined;
  let steps: number[] | undefined;
  if (s.opset < 10) {
    s.inputCount(1);
    starts = s.attrInts("starts");
    ends = s.attrInts("ends");
    axes = s.attrInts("axes");
  } else {
    s.inputCount(3, 5);
    starts = s.constNumbers(1, "starts");
    ends = s.constNumbers(2, "ends");
    if (s.input(3)) axes = s.constNumbers(3, "axes");
    if (s.input(4)) steps = s.constNumbers(4, "steps");
  }
  if (!starts || !ends) return s.fail("has no starts or ends");
  const attrs: Attributes = { starts: starts.map(clampInt32), ends: ends.map(clampInt32) };
  if (axes) attrs.axes = axes.map((v, i) => int32(v, `Axis ${i}`));
  if (steps) attrs.steps = steps.map((v, i) => int32(v, `Step ${i}`));
  const value = s.intValue(0);
  if (value?.dims.length === 1 && starts.length === 1 && [0, -1].includes(axes?.[0] ?? 0)) {
    return s.fold(0, sliceValue(value, starts[0], ends[0], steps?.[0] ?? 1));
  }
  s.emit("Slice", [s.input(0)], [s.output(0)], attrs);
};

const pad: OpRule = (s) => {
  let pads: number[] | undefined;
  let value: number | undefined;
  if (s.opset < 11) {
    s.inputCount(1);
    pads = s.attrInts("pads");
    value = s.attrFloat("value");
  } else {
    s.inputCount(2, 3);
    pads = s.constNumbers(1, "pads");
    if (s.input(2)) value = s.constScalar(2, "constant_value");
  }
  if (!pads) return s.fail("has no pads");
  const attrs: Attributes = { pads: pads.map((v, i) => int32(v, `Pad ${i}`)) };
  const mode = s.attrString("mode");
  if (mode !== undefined) attrs.mode = mode;
  if (value !== undefined) attrs.value = value;
  s.emit("Pad", [s.input(0)], [s.output(0)], attrs);
};

/** Folds output 0 to `compute()`, turning its RangeError into an error naming the node. */
function foldWith(s: NodeScope, compute: () => IntValue): void {
  let value: IntValue;
  try {
    value = compute();
  } catch (err) {
    if (err instanceof RangeError) s.fail(err.message);
    throw err;
  }
  s.fold(0, value);
}

/** Rules for the default (`ai.onnx`) domain. */
export const DEFAULT_DOMAIN_RULES: Readonly<Record<string, OpRule>> = {
  Add: binary("Add"),
  AveragePool: keep(AVERAGE_POOL_ATTRS, 1),
  BatchNormalization: batchNormalization,
  Cast: cast,
  Clip: clip,
  Concat: concat,
  Constant: constant,
  Conv: keep(CONV_ATTRS, 2, 3),
  DequantizeLinear: keep(["axis"], 2, 3),
  Dropout: dropout,
  Flatten: keep(["axis"], 1),
  Gather: gather,
  Gemm: gemm,
  GlobalAveragePool: keep([], 1),
  Identity: identity,
  MatMul: keep([], 2),
  MaxPool: maxPool,
  Mul: binary("Mul"),
  Pad: pad,
  QLinearConv: keep(CONV_ATTRS, 8, 9),
  QLinearMatMul: keep([], 8),
  QuantizeLinear: keep(["axis"], 2, 3),
  ReduceMean: keep(["axes", "keepdims"], 1),
  Relu: keep([], 1),
  Reshape: reshape,
  Shape: shape,
  Slice: slice,
  Softmax: softmax,
  Split: split,
  Squeeze: squeeze("Squeeze"),
  Sum: sum,
  Transpose: keep(["perm"], 1),
  Unsqueeze: squeeze("Unsqueeze"),
};

/** Rules for the `com.microsoft` domain: its int8 ops, imported with their inputs as they are. */
export const MICROSOFT_DOMAIN_RULES: Readonly<Record<string, OpRule>> = {
  QGemm: keep(["alpha", "transA", "transB"], 6, 9),
  QLinearAdd: keep([], 7, 8),
  QLinearGlobalAveragePool: keep(["channels_last"], 5),
};
